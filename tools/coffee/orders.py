"""Order writes: open an order, add / change / remove its lines, change it, finish it.

Owns: the `orders` and `order_items` rows and their ids (5-digit, like the dataset's, drawn
from the store's seeded `random.Random`), `order_row` (an order or `StoreError`), and `Orders`:
`add_order_item`, `update_order_item`, `update_order`, `finish_order` (reading an order back
is `tools.coffee.details`). Arguments are validated and resolved against the menu *before*
the write; each write is one transaction (through the store's `Runner`) that also records its
idempotency key (`tools.coffee.idempotency`). A finished order never changes; finishing it
again is a no-op.

May import: the standard library and `tools.coffee.{schema,validation,menu,options,idempotency}`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from .idempotency import idempotent
from .menu import Menu
from .options import OptionResolver
from .schema import Runner
from .validation import StoreError, check_quantity, clean_text


def new_id(conn: sqlite3.Connection, rng: random.Random, table: str, column: str) -> str:
    # 5-digit ids like the dataset's; `table`/`column` are our own constants, not input
    while True:
        candidate = str(rng.randint(10000, 99999))
        if (
            conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (candidate,)).fetchone()
            is None
        ):
            return candidate


def order_row(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise StoreError(
            f"There is no order {order_id!r}. Use the order_id returned by add_order_item."
        )
    return row


class Orders:
    """Order writes; see the module docstring."""

    def __init__(
        self, run: Runner, menu: Menu, options: OptionResolver, rng: random.Random
    ) -> None:
        self._run = run
        self._menu = menu
        self._options = options
        self._rng = rng

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
        item = await self._menu.resolve_item(menu_item_id)
        qty = check_quantity(quantity)
        attrs = await self._options.resolve_attributes(attributes, allowed=item["attributes"])
        adds = await self._options.resolve_addons(addons, allowed=item["addons"])
        note = clean_text(notes, field="notes") or None
        oid = clean_text(order_id, field="order_id", limit=20) or None

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                now = time.time()
                new_oid = oid
                if new_oid is None:
                    new_oid = new_id(conn, self._rng, "orders", "order_id")
                    conn.execute(
                        "INSERT INTO orders (order_id, created_at) VALUES (?, ?)", (new_oid, now)
                    )
                elif order_row(conn, new_oid)["status"] != "open":
                    raise StoreError(
                        f"Order {new_oid} is already finished. Start a new order by calling "
                        "add_order_item without an order_id."
                    )
                oiid = new_id(conn, self._rng, "order_items", "order_item_id")
                conn.execute(
                    "INSERT INTO order_items (order_item_id, order_id, menu_item_id, quantity, "
                    "attributes, addons, notes, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    (oiid, new_oid, item["menu_item_id"], qty, json.dumps(attrs),
                     json.dumps(adds), note, now),
                )  # fmt: skip
                return {"order_id": new_oid, "order_item_id": oiid}

            return idempotent(conn, idempotency_key, "add_order_item", body)

        return await self._run(tx, write=True)

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
        oiid = clean_text(order_item_id, field="order_item_id", limit=20, required=True)

        def load(conn: sqlite3.Connection) -> sqlite3.Row:
            row = conn.execute(
                "SELECT oi.*, o.status FROM order_items oi JOIN orders o USING (order_id) "
                "WHERE oi.order_item_id = ?",
                (oiid,),
            ).fetchone()
            if row is None:
                raise StoreError(
                    f"There is no order item {oiid!r}. get_order_details lists the "
                    "order_item_id of each line."
                )
            return row

        current = await self._run(load)
        if current["status"] != "open":
            raise StoreError(f"Order {current['order_id']} is already finished and can't change.")
        item = await self._menu.resolve_item(current["menu_item_id"])
        qty = check_quantity(quantity) if quantity not in (None, "") else None
        attrs = await self._options.resolve_attributes(attributes, allowed=item["attributes"])
        current_adds: list[str] = json.loads(current["addons"])
        if addons:
            added = [a for a in addons if str(a.get("option", "ADD")).upper() == "ADD"]
            dropped = [{**a, "option": "ADD"} for a in addons
                       if str(a.get("option", "ADD")).upper() != "ADD"]  # fmt: skip
            catalogue_adds = await self._options.resolve_addons(added, allowed=item["addons"])
            removed = await self._options.resolve_addons(dropped, allowed=item["addons"])
            current_adds = [a for a in current_adds if a not in removed]
            current_adds += [a for a in catalogue_adds if a not in current_adds]
        note = clean_text(notes, field="notes") if notes is not None else None

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                row = load(conn)
                if row["status"] != "open":
                    raise StoreError(f"Order {row['order_id']} is already finished.")
                if remove:
                    conn.execute("DELETE FROM order_items WHERE order_item_id = ?", (oiid,))
                    return {"order_item_id": oiid, "removed": True}
                merged = {**json.loads(row["attributes"]), **attrs}
                conn.execute(
                    "UPDATE order_items SET quantity = ?, attributes = ?, addons = ?, notes = ? "
                    "WHERE order_item_id = ?",
                    (qty if qty is not None else row["quantity"], json.dumps(merged),
                     json.dumps(current_adds), note if note is not None else row["notes"], oiid),
                )  # fmt: skip
                return {"order_item_id": oiid}

            return idempotent(conn, idempotency_key, "update_order_item", body)

        return await self._run(tx, write=True)

    async def update_order(
        self,
        *,
        order_id: str,
        attributes: Sequence[dict[str, Any]] | None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        oid = clean_text(order_id, field="order_id", limit=20, required=True)
        if not attributes:
            raise StoreError("Give at least one attribute to change (order-type or name).")
        attrs = await self._options.resolve_attributes(attributes, allowed=["order-type", "name"])

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                row = order_row(conn, oid)
                if row["status"] != "open":
                    raise StoreError(f"Order {oid} is already finished and can't change.")
                merged = {**json.loads(row["attributes"]), **attrs}
                conn.execute(
                    "UPDATE orders SET attributes = ? WHERE order_id = ?", (json.dumps(merged), oid)
                )
                return {"order_id": oid}

            return idempotent(conn, idempotency_key, "update_order", body)

        return await self._run(tx, write=True)

    async def finish_order(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        oid = clean_text(order_id, field="order_id", limit=20, required=True)

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                row = order_row(conn, oid)
                if row["status"] == "finished":
                    # finishing twice is a no-op, never a second order
                    return {"success": True, "order_id": oid, "already_finished": True}
                n = conn.execute(
                    "SELECT COUNT(*) FROM order_items WHERE order_id = ?", (oid,)
                ).fetchone()[0]
                if n == 0:
                    raise StoreError(f"Order {oid} has no items yet; add something first.")
                conn.execute(
                    "UPDATE orders SET status = 'finished', finished_at = ? WHERE order_id = ?",
                    (time.time(), oid),
                )
                return {"success": True, "order_id": oid}

            return idempotent(conn, idempotency_key, "finish_order", body)

        return await self._run(tx, write=True)
