"""The order store of the coffee-shop domain: the `OrderStore` facade, one per call.

    store = await OrderStore(settings.orders_db, owner=call_id).open()
    ...
    await store.close()                 # or: async with OrderStore(...) as store:

`ORDERS_DB` (the first argument) is a SQLite file path, the embedded default, or a
`postgresql://` URL (`tools.coffee.db`); a bad value raises `DbConfigError` in the constructor.
The database is reached lazily on the first call (or explicitly with `await store.open()`).
All the stores of one process and event loop share one database handle per `ORDERS_DB` (one
SQLite connection, or one psycopg connection pool) and the menu read from it, opened by the
first and closed by the last (`close()` counts references): a call opens no connection of its
own. The first open in a
process also checks the schema version and migrates when it is behind (`tools.coffee.migrate`;
the worker has already done that at start).

`owner` is the call the store serves (the LiveKit room of a live call; a fresh id when
omitted): the store reads and changes only that call's orders (see `tools.coffee.orders`).

All SQL is parameterised: text such as `'; DROP TABLE orders;--` is stored and searched as
plain data. Domain validation (unknown item, bad quantity, unknown option) raises `StoreError`
with a message written for the model; the tool runtime turns it into livekit's `ToolError`.

Idempotency: mutating calls take an optional `idempotency_key`; the key is claimed and its
result stored in the same transaction as the change (`tools.coffee.idempotency`), so a retried
or duplicated call with the same key, on this worker or another one, returns the first call's
result (marked `"duplicate": true`) instead of adding or finishing twice.

Owns: the shared handles (open, schema check, reference counts, close), the `_run` every
query goes through, and the public API, which composes the concerns kept beside it: `db`
(targets, back ends), `migrate`, `schema`, `menu`, `options`, `orders`, `details`,
`idempotency`, `validation`. May import: the standard library and those modules.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .db import Database, DbConfigError, DbTarget, Tx, connect, parse_orders_db
from .details import order_details
from .menu import MENU_JSON, Menu, MenuCache
from .migrate import SCHEMA_VERSION, upgrade
from .options import OptionResolver, match_option
from .orders import Orders
from .schema import TABLES

_T = TypeVar("_T")

DEFAULT_POOL_SIZE = 10
"""PostgreSQL connections per worker process (one transaction borrows one)."""


@dataclass
class _Shared:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    db: Database | None = None
    refs: int = 0
    menu: MenuCache = field(default_factory=MenuCache)


_SHARED: dict[tuple[DbTarget, int, int], _Shared] = {}
"""Open handles by (target, process, event loop): a forked child never reuses its parent's."""


async def _schema_version(db: Database) -> str | None:
    async def q(tx: Tx) -> str | None:
        row = await tx.fetchone("SELECT version_num FROM alembic_version")
        return None if row is None else str(row["version_num"])

    try:
        async with db.transaction() as tx:
            return await q(tx)
    except Exception:  # no alembic_version table yet: a new database
        return None


async def _open_database(target: DbTarget, menu_path: Path, pool_size: int) -> Database:
    db = connect(target, pool_size=pool_size)
    await db.open()
    try:
        if await _schema_version(db) != SCHEMA_VERSION:
            raw = getattr(db, "connection", None) if target.location == ":memory:" else None
            await asyncio.to_thread(upgrade, target, menu_path=menu_path, sqlite_conn=raw)
    except BaseException:
        await db.close()
        raise
    return db


class OrderStore:
    """One call's view of the order database. See the module docstring."""

    _match_option = staticmethod(match_option)
    """Kept for callers that matched options through the store (evals' scoring)."""

    def __init__(
        self,
        db: str | Path = ".data/orders.sqlite",
        *,
        owner: str | None = None,
        menu_path: str | Path = MENU_JSON,
        pool_size: int = DEFAULT_POOL_SIZE,
    ):
        self.target = parse_orders_db(db)
        self.path = Path(self.target.location)
        """The SQLite file (meaningless for PostgreSQL; kept for callers that open the file)."""
        self.owner = (owner or "").strip() or f"call-{uuid.uuid4().hex}"
        self.menu_path = Path(menu_path)
        self.pool_size = pool_size
        self._key: tuple[DbTarget, int, int] | None = None
        self._db: Database | None = None
        self._open_lock = asyncio.Lock()
        self._menu = Menu(self._run)
        self._options = OptionResolver(self._menu)
        self._orders = Orders(self._run, self._menu, self._options, self.owner)

    @property
    def dialect(self) -> str:
        return self.target.dialect

    # ---- lifecycle -------------------------------------------------------------------------

    async def open(self) -> OrderStore:
        async with self._open_lock:
            if self._db is None:
                # an in-memory SQLite database is private to its store
                scope = id(self) if self.target.location == ":memory:" else 0
                key = (self.target, os.getpid(), id(asyncio.get_running_loop()) ^ scope)
                shared = _SHARED.setdefault(key, _Shared())
                async with shared.lock:
                    if shared.db is None:
                        shared.db = await _open_database(
                            self.target, self.menu_path, self.pool_size
                        )
                    shared.refs += 1
                self._key, self._db = key, shared.db
                self._menu.cache = shared.menu
        return self

    async def close(self) -> None:
        async with self._open_lock:
            key, self._key, self._db = self._key, None, None
            if key is None:
                return
            shared = _SHARED.get(key)
            if shared is None:
                return
            async with shared.lock:
                shared.refs -= 1
                if shared.refs > 0 or shared.db is None:
                    return
                db, shared.db = shared.db, None
                _SHARED.pop(key, None)
            await db.close()

    async def __aenter__(self) -> OrderStore:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _run(self, fn: Callable[[Tx], Awaitable[_T]], *, write: bool = False) -> _T:
        if self._db is None:
            await self.open()
        db = self._db
        if db is None:
            raise DbConfigError("the order store is closed")
        async with db.transaction(write=write) as tx:
            return await fn(tx)

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

    # ---- orders of this call (tools.coffee.orders, tools.coffee.details) --------------------

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
        return await order_details(self._run, self._menu, self.owner, order_id)

    async def finish_order(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._orders.finish_order(order_id, idempotency_key=idempotency_key)

    async def open_order_id(self) -> str | None:
        """This call's most recent open order, if any (survives a move to another worker)."""
        return await self._orders.open_order_id()

    async def count(self, table: str) -> int:
        """Row count of one of our tables, all calls together (tests, diagnostics)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")

        async def q(tx: Tx) -> int:
            row = await tx.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
            return int(row["n"]) if row is not None else 0

        return await self._run(q)
