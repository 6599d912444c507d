"""Where the orders live: `ORDERS_DB` parsed into a target, and the async database interface.

`ORDERS_DB` is either a SQLite file path (the embedded default, `.data/orders.sqlite`;
`sqlite:///path` and `:memory:` work too) or a PostgreSQL URL (`postgresql://user:pass@host:5432/db`,
`postgres://` accepted). `parse_orders_db` turns the value into a `DbTarget` or raises
`DbConfigError` with one line that never repeats a password.

Every query of the domain runs inside `async with db.transaction(write=...) as tx:` and talks to
the `Tx` interface: `fetchone`, `fetchall`, `execute` (returns the row count), SQL written once
with `?` placeholders (the PostgreSQL back end rewrites them) and `tx.for_update` appended to a
SELECT that must lock its row on PostgreSQL (SQLite serialises writers on the whole file).
A write transaction commits when the block ends and rolls back if it raises.

Owns: `DbTarget`, `parse_orders_db`, `DbConfigError`, `Tx`, `Database`, `connect(target)`.
May import: the standard library and the back ends beside it (`db_sqlite`, `db_postgres`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

Dialect = Literal["sqlite", "postgresql"]
Row = Mapping[str, Any]


class DbConfigError(ValueError):
    """ORDERS_DB is unusable (bad value, unreachable server, failed migration): one line."""


@dataclass(frozen=True)
class DbTarget:
    dialect: Dialect
    location: str
    """A file path (or `:memory:`) for SQLite, a libpq URL for PostgreSQL."""

    @property
    def display(self) -> str:
        """The location with any password replaced by `***`: safe for logs and errors."""
        return redact_url(self.location) if self.dialect == "postgresql" else self.location

    @property
    def sqlalchemy_url(self) -> str:
        """The URL Alembic migrates through (psycopg 3's sync driver; pysqlite)."""
        if self.dialect == "postgresql":
            return "postgresql+psycopg://" + self.location.split("://", 1)[1]
        if self.location == ":memory:":
            return "sqlite://"
        return "sqlite:///" + str(Path(self.location).resolve())


_QUERY_PASSWORD = re.compile(r"([?&;](?:password|sslpassword)=)[^&;#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """`url` with the user's password and any `?password=` parameter replaced by `***`."""
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^@/]*@", "//***@", url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def parse_orders_db(value: str | Path) -> DbTarget:
    """`ORDERS_DB` -> `DbTarget`; `DbConfigError` (one line) when the value cannot work."""
    raw = str(value).strip()
    if not raw:
        raise DbConfigError("ORDERS_DB is empty: give a SQLite file path or a postgresql:// URL")
    lowered = raw.lower()
    if lowered.startswith(_PG_SCHEMES):
        url = "postgresql://" + raw.split("://", 1)[1]
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
        except ValueError as e:
            raise DbConfigError(f"ORDERS_DB={redact_url(raw)!r} is not a valid URL: {e}") from None
        if not parts.hostname and "host=" not in (parts.query or ""):
            raise DbConfigError(
                f"ORDERS_DB={redact_url(raw)!r} names no host: use "
                "postgresql://USER:PASSWORD@HOST:5432/DATABASE"
            )
        if not parts.path.strip("/"):
            raise DbConfigError(
                f"ORDERS_DB={redact_url(raw)!r} names no database: add /DATABASE after the host"
            )
        return DbTarget("postgresql", url)
    if lowered.startswith("sqlite:///"):
        return DbTarget("sqlite", raw[len("sqlite:///") :] or ":memory:")
    if lowered == "sqlite://":
        return DbTarget("sqlite", ":memory:")
    if re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        scheme = lowered.split("://", 1)[0]
        raise DbConfigError(
            f"ORDERS_DB uses {scheme}://, which is not supported: give a SQLite file path "
            "or a postgresql:// URL"
        )
    return DbTarget("sqlite", raw)


class Tx(Protocol):
    """One transaction's statements (see the module docstring)."""

    dialect: Dialect
    for_update: str
    """`" FOR UPDATE"` on PostgreSQL, `""` on SQLite: append to a SELECT that locks its row."""

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...


class Database(Protocol):
    target: DbTarget

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self, *, write: bool = False) -> AbstractAsyncContextManager[Tx]: ...


def connect(target: DbTarget, *, pool_size: int = 10) -> Database:
    """A `Database` for `target`, not yet opened (`await db.open()`)."""
    if target.dialect == "postgresql":
        from .db_postgres import PostgresDatabase

        return PostgresDatabase(target, max_size=pool_size)
    from .db_sqlite import SqliteDatabase

    return SqliteDatabase(target)
