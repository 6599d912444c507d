"""The shared back end: PostgreSQL through psycopg 3's async driver and `psycopg_pool`.

One `AsyncConnectionPool` per process (the `OrderStore`s of all calls in a worker process share
it). A write transaction borrows a connection for its whole block; psycopg commits when the
block ends and rolls back if it raises. A read runs in autocommit (no BEGIN / COMMIT round
trips): each statement sees the latest committed rows, and no read of the domain needs one
snapshot across its statements. Isolation is PostgreSQL's default READ COMMITTED: the domain
gets its guarantees from unique keys (`INSERT ... ON CONFLICT`), conditional updates and
`SELECT ... FOR UPDATE` on the order row, which hold across workers on any number of machines.

`open()` waits at most `CONNECT_TIMEOUT_S` for the first connection and raises `DbConfigError`
(one line, no password) when the server cannot be reached or refuses the login.

Owns: `PostgresDatabase`. May import: psycopg, psycopg_pool, the standard library and
`tools.coffee.db`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .db import DbConfigError, DbTarget, Dialect, Row

CONNECT_TIMEOUT_S = 5.0
_QMARK = re.compile(r"\?")


def to_pyformat(sql: str) -> str:
    """`?` placeholders -> psycopg's `%s` (our SQL has no literal `%` or `?`)."""
    return _QMARK.sub("%s", sql)


class _PostgresTx:
    dialect: Dialect = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(to_pyformat(sql), params)
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(to_pyformat(sql), params)
            return list(await cur.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._conn.cursor() as cur:
            await cur.execute(to_pyformat(sql), params)
            return cur.rowcount


def connect_error(target: DbTarget, e: BaseException) -> DbConfigError:
    """One line for an unreachable server or a refused login (libpq's first line)."""
    detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return DbConfigError(f"cannot reach ORDERS_DB={target.display}: {detail}")


async def _reset(conn: psycopg.AsyncConnection[Any]) -> None:
    """Every connection goes back to the pool in transaction mode (a cancelled read cannot
    leave autocommit on for the next write; a connection this fails on is discarded)."""
    await conn.set_autocommit(False)


class PostgresDatabase:
    """See the module docstring."""

    def __init__(self, target: DbTarget, *, min_size: int = 1, max_size: int = 10) -> None:
        self.target = target
        self._pool = AsyncConnectionPool(
            target.location,
            min_size=min_size,
            max_size=max(min_size, max_size),
            open=False,
            kwargs={"connect_timeout": int(CONNECT_TIMEOUT_S), "autocommit": False},
            reset=_reset,
            name="orders",
        )
        self._opened = False

    async def open(self) -> None:
        if self._opened:
            return
        # one direct connection first: its libpq error says why (refused, auth, no database),
        # where the pool would only time out
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.target.location, connect_timeout=int(CONNECT_TIMEOUT_S)
            )
        except psycopg.Error as e:
            raise connect_error(self.target, e) from None
        await conn.close()
        try:
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as e:
            raise connect_error(self.target, e) from None
        self._opened = True

    async def close(self) -> None:
        if self._opened:
            self._opened = False
            await self._pool.close()

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[_PostgresTx]:
        async with self._pool.connection() as conn:
            # a write is one transaction: the pool commits on a clean exit and rolls back when
            # the block raises; a read runs statement by statement (no BEGIN / COMMIT trips)
            await conn.set_autocommit(not write)
            yield _PostgresTx(conn)
