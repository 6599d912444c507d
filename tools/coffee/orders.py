"""Order writes: open an order, add / change / remove its lines, change it, finish it.

Owns: the `orders` and `order_items` rows and their ids, `order_row` (an order of this call
or `StoreError`), and `Orders`: `add_order_item`, `update_order_item`, `update_order`,
`finish_order`, `open_order_id` (reading an order back is `tools.coffee.details`).

Ids are numbers the model reads out, drawn from one counter that never runs out and never
repeats (`new_number`: a PostgreSQL sequence, `order_numbers`; on SQLite a row of
`id_counters` bumped inside the write transaction, which holds the file's write lock). They
start at 100000 (six digits, then seven after 900,000 orders and lines): above every
five-digit random id of the schema before 0003, so old and new ids never meet. Orders and
their lines share the counter, so no order id is also a line id. Uniqueness stays the primary
key's: a number already taken (a row written by other means) is skipped by
`INSERT ... ON CONFLICT DO NOTHING`, never overwritten.

Every order belongs to the call that created it (`owner`): each statement that reads or
changes an order or its lines names the owner, so another call's order answers "there is no
order" exactly like an id that does not exist (nothing tells a guesser it is taken).

Arguments are validated and resolved against the menu *before* the write; each write is one
transaction (through the store's `Runner`) that locks the order row (`FOR UPDATE` on
PostgreSQL; SQLite writers take turns on the file) and records its idempotency key
(`tools.coffee.idempotency`). A finished order never changes; finishing is a conditional
update (`... WHERE status = 'open'`), so two workers finishing the same order finish it once.

May import: the standard library and `tools.coffee.{db,schema,validation,menu,options,idempotency}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..sensitive import mask
from .db import Row, Tx
from .idempotency import idempotent
from .menu import Menu
from .options import OptionResolver
from .schema import Runner
from .validation import StoreError, check_quantity, clean_text

ID_ATTEMPTS = 50
COUNTER = "order_numbers"
"""The PostgreSQL sequence / the SQLite `id_counters` row behind order and line ids."""


async def new_number(tx: Tx) -> int:
    """The next number of the counter (inside a write transaction)."""
    if tx.dialect == "postgresql":
        row = await tx.fetchone(f"SELECT nextval('{COUNTER}') AS n")
    else:
        await tx.execute("UPDATE id_counters SET next_id = next_id + 1 WHERE name = ?", (COUNTER,))
        row = await tx.fetchone(
            "SELECT next_id - 1 AS n FROM id_counters WHERE name = ?", (COUNTER,)
        )
    if row is None:
        raise StoreError("The order system is not set up; please try again later.")
    return int(row["n"])


async def insert_with_new_id(
    tx: Tx,
    table: str,
    column: str,
    columns: Sequence[str],
    values: Sequence[Any],
) -> str:
    """Insert a row under the counter's next number; returns the id. `table`/`column`/
    `columns` are our own constants, never input."""
    cols = ", ".join([column, *columns])
    marks = ", ".join("?" * (len(columns) + 1))
    for _ in range(ID_ATTEMPTS):
        candidate = str(await new_number(tx))
        inserted = await tx.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({column}) DO NOTHING",
            (candidate, *values),
        )
        if inserted:
            return candidate
    raise StoreError("The order system is busy; please try that again.")


async def order_row(tx: Tx, owner: str, order_id: str, *, lock: bool = False) -> Row:
    row = await tx.fetchone(
        "SELECT * FROM orders WHERE order_id = ? AND owner = ?" + (tx.for_update if lock else ""),
        (order_id, owner),
    )
    if row is None:
        raise StoreError(
            f"There is no order {order_id!r}. Use the order_id returned by add_order_item."
        )
    return row


class Orders:
    """Order writes of one call (`owner`); see the module docstring."""

    def __init__(self, run: Runner, menu: Menu, options: OptionResolver, owner: str) -> None:
        self._run = run
        self._menu = menu
        self._options = options
        self.owner = owner

    async def open_order_id(self) -> str | None:
        """This call's most recent open order (a retried call on another worker finds it)."""

        async def q(tx: Tx) -> str | None:
            row = await tx.fetchone(
                "SELECT order_id FROM orders WHERE owner = ? AND status = 'open' "
                "ORDER BY created_at DESC LIMIT 1",
                (self.owner,),
            )
            return None if row is None else str(row["order_id"])

        return await self._run(q)

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
        # free text from the caller: personal numbers never reach the database
        note = mask(clean_text(notes, field="notes")) or None
        oid = clean_text(order_id, field="order_id", limit=20) or None

        async def tx(t: Tx) -> dict[str, Any]:
            async def body() -> dict[str, Any]:
                now = time.time()
                if oid is None:
                    new_oid = await insert_with_new_id(
                        t, "orders", "order_id", ("owner", "created_at"),
                        (self.owner, now),
                    )  # fmt: skip
                else:
                    new_oid = oid
                    if (await order_row(t, self.owner, oid, lock=True))["status"] != "open":
                        raise StoreError(
                            f"Order {oid} is already finished. Start a new order by calling "
                            "add_order_item without an order_id."
                        )
                oiid = await insert_with_new_id(
                    t, "order_items", "order_item_id",
                    ("order_id", "menu_item_id", "quantity", "attributes", "addons", "notes",
                     "created_at"),
                    (new_oid, item["menu_item_id"], qty, json.dumps(attrs), json.dumps(adds),
                     note, now),
                )  # fmt: skip
                return {"order_id": new_oid, "order_item_id": oiid}

            return await idempotent(t, self.owner, idempotency_key, "add_order_item", body)

        return await self._run(tx, write=True)

    async def _line(self, t: Tx, order_item_id: str, *, lock: bool = False) -> Row:
        row = await t.fetchone(
            "SELECT oi.*, o.status FROM order_items oi JOIN orders o ON o.order_id = oi.order_id "
            "WHERE oi.order_item_id = ? AND o.owner = ?" + (t.for_update if lock else ""),
            (order_item_id, self.owner),
        )
        if row is None:
            raise StoreError(
                f"There is no order item {order_item_id!r}. get_order_details lists the "
                "order_item_id of each line."
            )
        return row

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

        async def load(t: Tx) -> Row:
            return await self._line(t, oiid)

        current = await self._run(load)
        if current["status"] != "open":
            raise StoreError(f"Order {current['order_id']} is already finished and can't change.")
        item = await self._menu.resolve_item(current["menu_item_id"])
        qty = check_quantity(quantity) if quantity not in (None, "") else None
        attrs = await self._options.resolve_attributes(attributes, allowed=item["attributes"])
        added = [a for a in addons or [] if str(a.get("option", "ADD")).upper() == "ADD"]
        dropped = [{**a, "option": "ADD"} for a in addons or []
                   if str(a.get("option", "ADD")).upper() != "ADD"]  # fmt: skip
        catalogue_adds = await self._options.resolve_addons(added, allowed=item["addons"])
        removed = await self._options.resolve_addons(dropped, allowed=item["addons"])
        note = mask(clean_text(notes, field="notes")) if notes is not None else None

        async def tx(t: Tx) -> dict[str, Any]:
            async def body() -> dict[str, Any]:
                await order_row(t, self.owner, str(current["order_id"]), lock=True)
                row = await self._line(t, oiid)
                if row["status"] != "open":
                    raise StoreError(f"Order {row['order_id']} is already finished.")
                if remove:
                    await t.execute("DELETE FROM order_items WHERE order_item_id = ?", (oiid,))
                    return {"order_item_id": oiid, "removed": True}
                current_adds: list[str] = json.loads(row["addons"])
                if addons:
                    current_adds = [a for a in current_adds if a not in removed]
                    current_adds += [a for a in catalogue_adds if a not in current_adds]
                merged = {**json.loads(row["attributes"]), **attrs}
                await t.execute(
                    "UPDATE order_items SET quantity = ?, attributes = ?, addons = ?, notes = ? "
                    "WHERE order_item_id = ?",
                    (qty if qty is not None else row["quantity"], json.dumps(merged),
                     json.dumps(current_adds), note if note is not None else row["notes"], oiid),
                )  # fmt: skip
                return {"order_item_id": oiid}

            return await idempotent(t, self.owner, idempotency_key, "update_order_item", body)

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

        async def tx(t: Tx) -> dict[str, Any]:
            async def body() -> dict[str, Any]:
                row = await order_row(t, self.owner, oid, lock=True)
                if row["status"] != "open":
                    raise StoreError(f"Order {oid} is already finished and can't change.")
                merged = {**json.loads(row["attributes"]), **attrs}
                await t.execute(
                    "UPDATE orders SET attributes = ? WHERE order_id = ? AND owner = ?",
                    (json.dumps(merged), oid, self.owner),
                )
                return {"order_id": oid}

            return await idempotent(t, self.owner, idempotency_key, "update_order", body)

        return await self._run(tx, write=True)

    async def finish_order(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        oid = clean_text(order_id, field="order_id", limit=20, required=True)

        async def tx(t: Tx) -> dict[str, Any]:
            async def body() -> dict[str, Any]:
                await order_row(t, self.owner, oid)
                n = await t.fetchone(
                    "SELECT COUNT(*) AS n FROM order_items WHERE order_id = ?", (oid,)
                )
                if n is None or n["n"] == 0:
                    raise StoreError(f"Order {oid} has no items yet; add something first.")
                finished = await t.execute(
                    "UPDATE orders SET status = 'finished', finished_at = ? "
                    "WHERE order_id = ? AND owner = ? AND status = 'open'",
                    (time.time(), oid, self.owner),
                )
                if not finished:
                    # finishing twice is a no-op, never a second order
                    return {"success": True, "order_id": oid, "already_finished": True}
                return {"success": True, "order_id": oid}

            return await idempotent(t, self.owner, idempotency_key, "finish_order", body)

        return await self._run(tx, write=True)
