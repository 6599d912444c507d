"""The embedded back end: one SQLite file (WAL), one connection per process.

Each statement runs in a worker thread (`asyncio.to_thread`), so a slow disk never blocks the
event loop and the audio with it. Transactions in one process take turns on an `asyncio.Lock`;
a write transaction is `BEGIN IMMEDIATE`, so writers in other processes wait on the file lock
(busy timeout 10 s) instead of interleaving: two workers on one machine share one file safely.

Owns: `SqliteDatabase`. May import: the standard library and `tools.coffee.db`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .db import DbTarget, Dialect, Row

BUSY_TIMEOUT_S = 10.0


class _SqliteTx:
    dialect: Dialect = "sqlite"
    for_update = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = await asyncio.to_thread(lambda: self._conn.execute(sql, params).fetchone())
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = await asyncio.to_thread(lambda: self._conn.execute(sql, params).fetchall())
        return [dict(r) for r in rows]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await asyncio.to_thread(lambda: self._conn.execute(sql, params).rowcount)


class SqliteDatabase:
    """See the module docstring."""

    def __init__(self, target: DbTarget) -> None:
        self.target = target
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self._conn is None:
            self._conn = await asyncio.to_thread(self._open_sync)

    def _open_sync(self) -> sqlite3.Connection:
        path = self.target.location
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._lock:
                await asyncio.to_thread(conn.close)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (the migration step of an in-memory database uses it)."""
        if self._conn is None:
            raise RuntimeError("the SQLite database is not open")
        return self._conn

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[_SqliteTx]:
        async with self._lock:
            conn = self.connection
            begin = asyncio.ensure_future(
                asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE" if write else "BEGIN")
            )
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                # the BEGIN goes on in its thread: undo it before the connection is used again
                # (else every later query of this call fails inside a stale transaction)
                with contextlib.suppress(Exception):
                    await begin
                    await asyncio.to_thread(conn.execute, "ROLLBACK")
                raise
            try:
                yield _SqliteTx(conn)
            except BaseException:
                await asyncio.to_thread(conn.execute, "ROLLBACK")
                raise
            await asyncio.to_thread(conn.execute, "COMMIT")
