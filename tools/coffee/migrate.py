"""Schema migrations (Alembic, `tools/coffee/migrations/`) and the menu seed, run once per database.

`upgrade(target)` brings a database to `SCHEMA_VERSION` and fills an empty menu from
`data/menu.json` (prunes idempotency keys older than a day and, at worker start, orders
older than `ORDERS_DAYS`: `prune_orders`), holding a lock so that workers starting together
migrate it once: on PostgreSQL a transaction-scoped advisory lock (the migration and the seed
commit together), on SQLite an exclusive `flock` on `<file>.migrate.lock` beside the file. The worker calls it at
start (`check_orders_db`, through `agents.worker.check_startup`), so a bad URL, an unreachable
server or a failed migration is one line before any call; each process's first `OrderStore`
then only reads the version (`alembic_version`), which is cheap.

    python -m tools.coffee.migrate [ORDERS_DB]     # migrate, prune (ORDERS_DAYS), print the version

Owns: `SCHEMA_VERSION` (kept equal to Alembic's head by tests), `upgrade`, `check_orders_db`,
`seed_menu`, `prune_idempotency`, `prune_orders`. May import: alembic, sqlalchemy, the
standard library and `tools.coffee.{db,menu}`.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .db import DbConfigError, DbTarget, parse_orders_db
from .menu import MENU_JSON

SCHEMA_VERSION = "0003"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
IDEMPOTENCY_TTL_S = 86400.0
"""Idempotency keys are kept a day, then pruned when a worker starts."""
DEFAULT_ORDERS_DAYS = 30.0
"""Orders (and their lines) older than this are deleted when a worker starts (`ORDERS_DAYS`)."""
_ADVISORY_LOCK_ID = 0x0C0FFEE
"""pg_advisory_xact_lock key that serialises migrations of one PostgreSQL database."""


_ALEMBIC_LOCK = threading.Lock()


@contextmanager
def _sqlite_file_lock(target: DbTarget) -> Iterator[None]:
    if target.location == ":memory:":
        yield
        return
    path = Path(target.location)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrate.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def seed_menu(conn: Any, menu_path: Path) -> int:
    """Insert the menu from `menu_path` when `menu_items` is empty; returns the rows added.
    `conn` is a SQLAlchemy connection inside the migration's transaction."""
    from sqlalchemy import text

    if conn.execute(text("SELECT COUNT(*) FROM menu_items")).scalar_one() > 0:
        return 0
    menu = json.loads(menu_path.read_text())
    items = [
        {
            "id": it["menu_item_id"], "name": it["name"], "category": it["category"],
            "size": it.get("size"), "description": it.get("description"),
            "price": it.get("price"), "attributes": json.dumps(it.get("attributes", [])),
            "addons": json.dumps(it.get("addons", [])),
        }
        for it in menu["menu_items"]
    ]  # fmt: skip
    conn.execute(
        text(
            "INSERT INTO menu_items (menu_item_id, name, category, size, description, price, "
            "attributes, addons) VALUES (:id, :name, :category, :size, :description, :price, "
            ":attributes, :addons) ON CONFLICT (menu_item_id) DO NOTHING"
        ),
        items,
    )
    conn.execute(
        text(
            "INSERT INTO attributes (attribute_id, attribute_name, options) "
            "VALUES (:id, :name, :options) ON CONFLICT (attribute_id) DO NOTHING"
        ),
        [
            {
                "id": a["attribute_id"],
                "name": a["attribute_name"],
                "options": json.dumps(a["options"]),
            }
            for a in menu["attributes"]
        ],
    )
    conn.execute(
        text(
            "INSERT INTO addons (addon_id, name, options) VALUES (:id, :name, :options) "
            "ON CONFLICT (addon_id) DO NOTHING"
        ),
        [
            {"id": a["addon_id"], "name": a["name"],
             "options": json.dumps(a.get("options", ["NO", "ADD"]))}
            for a in menu["addons"]
        ],
    )  # fmt: skip
    return len(items)


def prune_idempotency(conn: Any, *, now: float | None = None) -> int:
    """Delete idempotency keys older than `IDEMPOTENCY_TTL_S` (a retry comes within seconds;
    the table would otherwise grow by one row per write forever). Returns the rows deleted."""
    from sqlalchemy import text

    cutoff = (time.time() if now is None else now) - IDEMPOTENCY_TTL_S
    result = conn.execute(text("DELETE FROM idempotency WHERE created_at < :c"), {"c": cutoff})
    return int(result.rowcount or 0)


def prune_orders(conn: Any, days: float, *, now: float | None = None) -> int:
    """Delete orders whose last change (finishing, else opening) is more than `days` days
    old, with their lines; 0 keeps all. An order still open after that long is one whose
    call ended without finishing it. Returns the orders deleted."""
    from sqlalchemy import text

    if days <= 0:
        return 0
    cutoff = (time.time() if now is None else now) - days * 86400.0
    old = "created_at < :c AND COALESCE(finished_at, 0) < :c"
    conn.execute(
        text(
            f"DELETE FROM order_items WHERE order_id IN (SELECT order_id FROM orders WHERE {old})"
        ),
        {"c": cutoff},
    )
    result = conn.execute(text(f"DELETE FROM orders WHERE {old}"), {"c": cutoff})
    return int(result.rowcount or 0)


def _engine(target: DbTarget, sqlite_conn: sqlite3.Connection | None) -> Any:
    from sqlalchemy import create_engine, pool

    if target.dialect == "sqlite" and sqlite_conn is not None:
        # an in-memory database exists only on its own connection: migrate that one
        return create_engine("sqlite://", creator=lambda: sqlite_conn, poolclass=pool.StaticPool)
    connect_args = {"connect_timeout": 5} if target.dialect == "postgresql" else {}
    return create_engine(target.sqlalchemy_url, poolclass=pool.NullPool, connect_args=connect_args)


def upgrade(
    target: DbTarget,
    *,
    menu_path: Path = MENU_JSON,
    sqlite_conn: sqlite3.Connection | None = None,
    orders_days: float | None = None,
) -> str:
    """Migrate `target` to `SCHEMA_VERSION` and seed an empty menu; returns the version.
    `orders_days`: also delete orders older than that (`prune_orders`; None: keep them).
    Raises `DbConfigError` (one line) when the database cannot be reached or migrated."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError
    from sqlalchemy import exc, text

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = _engine(target, sqlite_conn)
    try:
        # Alembic's `context` is a module-global proxy: two migrations in one process (calls
        # opening different databases at once, each in a thread) must not interleave
        with _ALEMBIC_LOCK, _sqlite_file_lock(target) if target.dialect == "sqlite" else _nothing():
            try:
                conn = engine.connect()
            except exc.SQLAlchemyError as e:
                raise DbConfigError(
                    f"cannot reach ORDERS_DB={target.display}: {_first(e)}"
                ) from None
            try:
                with conn.begin():
                    if target.dialect == "postgresql":
                        conn.execute(text(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_ID})"))
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    seed_menu(conn, menu_path)
                    prune_idempotency(conn)
                    if orders_days is not None:
                        prune_orders(conn, orders_days)
                    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except (exc.SQLAlchemyError, CommandError) as e:
                raise DbConfigError(
                    f"migrating ORDERS_DB={target.display} failed: {_first(e)}"
                ) from None
            finally:
                conn.close()
    finally:
        if sqlite_conn is None:
            engine.dispose()
    return str(version)


def _first(e: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy appends SQL and a help link)."""
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip()
    return text.splitlines()[0] if text else type(e).__name__


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def check_orders_db(value: str, *, orders_days: float = DEFAULT_ORDERS_DAYS) -> str:
    """The worker's start-up check: parse, reach, migrate, seed, delete orders older than
    `orders_days` (`ORDERS_DAYS`; 0 keeps all). Returns a one-line summary; raises
    `DbConfigError` (one line) when a call would fail on the order store."""
    target = parse_orders_db(value)
    version = upgrade(target, orders_days=orders_days)
    return f"orders: {target.dialect} {target.display}, schema {version}"


def main(argv: list[str] | None = None) -> int:
    import os

    args = sys.argv[1:] if argv is None else argv
    value = args[0] if args else os.environ.get("ORDERS_DB", ".data/orders.sqlite")
    raw_days = os.environ.get("ORDERS_DAYS", "").strip()
    try:
        days = float(raw_days) if raw_days else DEFAULT_ORDERS_DAYS
    except ValueError:
        print(f"error: ORDERS_DAYS={raw_days!r} is not a number of days", file=sys.stderr)
        return 2
    try:
        print(check_orders_db(value, orders_days=days))
    except DbConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
