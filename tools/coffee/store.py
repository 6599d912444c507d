"""SQLite order store for the coffee-shop domain: the `OrderStore` facade.

`OrderStore(path)` is a cheap synchronous constructor; the database is opened lazily on the
first call (or explicitly with `await store.open()`), and `await store.close()` releases it.
It is also an async context manager. Every query runs in a worker thread
(`asyncio.to_thread`) behind one lock, so a slow disk never blocks the event loop (and the
audio with it). Writes run in `BEGIN IMMEDIATE` transactions; the journal is WAL.

All SQL is parameterised: text such as `'; DROP TABLE orders;--` is stored and searched as
plain data. Domain validation (unknown item, bad quantity, unknown option) raises `StoreError`
with a message written for the model; the tool runtime turns it into livekit's `ToolError`.

Idempotency: mutating calls take an optional `idempotency_key`. The key and the call's result
are written in the same transaction as the change, so a retried or duplicated call with the
same key returns the first call's result (marked `"duplicate": true`) instead of adding or
finishing twice.

The menu is seeded from `tools/coffee/data/menu.json` (derived from Taskmaster-4, CC BY 4.0;
see tools/README.md (NOTICE section)) when the menu table is empty.

Owns: the connection (open, pragmas, schema, seeding on first open, close), the lock and the
worker-thread `_run` that every query goes through, and the public API, which composes the
concerns kept beside it: `schema` (DDL), `menu` (seeding, reading, search), `options`
(attribute / add-on resolution), `orders` (writes), `details` (read-back), `idempotency`,
`validation` (`StoreError`, input checks). May import: the standard library and those modules.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .details import order_details
from .menu import MENU_JSON, Menu, seed_if_empty
from .options import OptionResolver, match_option
from .orders import Orders
from .schema import SCHEMA, TABLES

_T = TypeVar("_T")


class OrderStore:
    """Async facade over one SQLite file. See the module docstring."""

    _match_option = staticmethod(match_option)
    """Kept for callers that matched options through the store (evals' scoring)."""

    def __init__(
        self, path: str | Path, *, menu_path: str | Path = MENU_JSON, seed: int | None = None
    ):
        self.path = Path(path)
        self.menu_path = Path(menu_path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._open_lock = asyncio.Lock()
        self._rng = random.Random(seed)
        self._menu = Menu(self._run)
        self._options = OptionResolver(self._menu)
        self._orders = Orders(self._run, self._menu, self._options, self._rng)

    # ---- lifecycle -------------------------------------------------------------------------

    async def open(self) -> OrderStore:
        async with self._open_lock:
            if self._conn is None:
                self._conn = await asyncio.to_thread(self._open_sync)
        return self

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(self._close_sync, conn)

    async def __aenter__(self) -> OrderStore:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _open_sync(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        seed_if_empty(conn, self.menu_path)
        return conn

    def _close_sync(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            conn.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], _T], *, write: bool = False) -> _T:
        if self._conn is None:
            await self.open()
        conn = self._conn
        assert conn is not None

        def _job() -> _T:
            with self._lock:
                if not write:
                    return fn(conn)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return out

        return await asyncio.to_thread(_job)

    # ---- menu (tools.coffee.menu, tools.coffee.options) -------------------------------------

    async def menu(self) -> list[dict[str, Any]]:
        return await self._menu.items()

    async def search_menu(self, query: str, *, limit: int = 8) -> list[dict[str, Any]]:
        """Items whose name, category or description match `query` (words, any order).

        `A OR B` searches both. An exact name / id match wins over partial matches."""
        return await self._menu.search(query, limit=limit)

    async def resolve_menu_item(self, menu_item_id: str) -> dict[str, Any]:
        """The menu item for an id (tolerates `latte-0371`, `Latte`); StoreError if unknown."""
        return await self._menu.resolve_item(menu_item_id)

    async def attributes(self) -> dict[str, dict[str, Any]]:
        return await self._menu.attributes()

    async def addons(self) -> dict[str, dict[str, Any]]:
        return await self._menu.addons()

    async def resolve_attributes(
        self, choices: Sequence[dict[str, Any]] | None, *, allowed: Sequence[str]
    ) -> dict[str, str]:
        """[{attribute_id, option}] -> {attribute_id: canonical option}; StoreError if invalid."""
        return await self._options.resolve_attributes(choices, allowed=allowed)

    async def resolve_addons(
        self, choices: Sequence[dict[str, Any]] | None, *, allowed: Sequence[str]
    ) -> list[str]:
        """[{addon_id, option: ADD|NO}] -> list of added addon ids (NO entries are dropped)."""
        return await self._options.resolve_addons(choices, allowed=allowed)

    # ---- orders (tools.coffee.orders, tools.coffee.details) ---------------------------------

    async def add_order_item(
        self,
        *,
        menu_item_id: str,
        quantity: Any = 1,
        order_id: str | None = None,
        attributes: Sequence[dict[str, Any]] | None = None,
        addons: Sequence[dict[str, Any]] | None = None,
        notes: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Add a line to `order_id` (a new order when None). Returns {order_id, order_item_id}."""
        return await self._orders.add_order_item(
            menu_item_id=menu_item_id, quantity=quantity, order_id=order_id,
            attributes=attributes, addons=addons, notes=notes, idempotency_key=idempotency_key,
        )  # fmt: skip

    async def update_order_item(
        self,
        *,
        order_item_id: str,
        quantity: Any = None,
        attributes: Sequence[dict[str, Any]] | None = None,
        addons: Sequence[dict[str, Any]] | None = None,
        notes: str | None = None,
        remove: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        return await self._orders.update_order_item(
            order_item_id=order_item_id, quantity=quantity, attributes=attributes,
            addons=addons, notes=notes, remove=remove, idempotency_key=idempotency_key,
        )  # fmt: skip

    async def update_order(
        self,
        *,
        order_id: str,
        attributes: Sequence[dict[str, Any]] | None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        return await self._orders.update_order(
            order_id=order_id, attributes=attributes, idempotency_key=idempotency_key
        )

    async def get_order_details(self, order_id: str) -> dict[str, Any]:
        return await order_details(self._run, self._menu, order_id)

    async def finish_order(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._orders.finish_order(order_id, idempotency_key=idempotency_key)

    async def count(self, table: str) -> int:
        """Row count of one of our tables (tests, diagnostics)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        return await self._run(lambda c: c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
