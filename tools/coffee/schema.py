"""The order database's shape as the code sees it, and how the other modules run SQL.

The DDL itself lives in versioned Alembic migrations (`tools/coffee/migrations/versions/`,
applied by `tools.coffee.migrate`); the tables after the latest one:

    menu_items(menu_item_id PK, name, category, size, description, price, attributes, addons)
    attributes(attribute_id PK, attribute_name, options)   addons(addon_id PK, name, options)
    orders(order_id PK, owner, status open|finished, attributes, created_at, finished_at)
    order_items(order_item_id PK, order_id -> orders, menu_item_id -> menu_items, quantity
                1..1000, attributes, addons, notes, created_at)
    idempotency(owner, key, tool, result, created_at; PK (owner, key))
    id_counters(name PK, next_id)        SQLite only; PostgreSQL has the sequence instead:
    order_numbers                        order and line ids (`tools.coffee.orders.new_number`)
    alembic_version(version_num)

JSON-valued columns are TEXT holding JSON, the same on SQLite and PostgreSQL.

Owns: `TABLES` (the tables `OrderStore.count` may count) and the `Runner` protocol: the
`OrderStore` facade's `_run(fn, write=...)`, through which `menu`, `orders` and `details` run
`fn(tx)` inside one transaction of the store's database (`tools.coffee.db.Tx`).

May import: the standard library and `tools.coffee.db`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from .db import Tx

_T = TypeVar("_T")

TABLES = frozenset({"orders", "order_items", "menu_items", "idempotency", "addons", "attributes"})
"""Our own table names: the only names ever formatted into SQL text (never caller input)."""


class Runner(Protocol):
    """`await run(fn)` runs `await fn(tx)` in one transaction (a write one with `write=True`,
    rolled back if `fn` raises)."""

    async def __call__(self, fn: Callable[[Tx], Awaitable[_T]], *, write: bool = False) -> _T: ...
