"""The order database's shape: SQL DDL, the table names, and how the other modules run SQL.

Owns: `SCHEMA` (applied with `executescript` on every open; `CREATE ... IF NOT EXISTS`, so it
is also the whole migration story: there are no migrations beyond it), `TABLES` (the tables
`OrderStore.count` may count), and the `Runner` protocol: the `OrderStore` facade's
`_run(fn, write=...)`, through which `menu`, `options` and `orders` run SQL on the store's one
connection in a worker thread (a `write` runs inside `BEGIN IMMEDIATE` ... `COMMIT`).

May import: the standard library only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol, TypeVar

_T = TypeVar("_T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS menu_items (
    menu_item_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    size TEXT,
    description TEXT,
    price REAL,
    attributes TEXT NOT NULL DEFAULT '[]',
    addons TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS attributes (
    attribute_id TEXT PRIMARY KEY,
    attribute_name TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS addons (
    addon_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '["NO","ADD"]'
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'finished')),
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_item_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(order_id),
    menu_item_id TEXT NOT NULL REFERENCES menu_items(menu_item_id),
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    attributes TEXT NOT NULL DEFAULT '{}',
    addons TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS order_items_by_order ON order_items(order_id);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

TABLES = frozenset({"orders", "order_items", "menu_items", "idempotency", "addons", "attributes"})
"""Our own table names: the only names ever formatted into SQL text (never caller input)."""


class Runner(Protocol):
    """`await run(fn)` calls `fn(conn)` in a worker thread under the store's lock; with
    `write=True` inside one `BEGIN IMMEDIATE` transaction (rolled back if `fn` raises)."""

    async def __call__(
        self, fn: Callable[[sqlite3.Connection], _T], *, write: bool = False
    ) -> _T: ...
