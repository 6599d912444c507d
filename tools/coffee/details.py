"""Reading an order back: `get_order_details`' answer, the order as the caller hears it.

Owns: `order_details(run, menu, owner, order_id)`: the order's status, its order-level attributes
(with their display names) and its lines in the order they were added, each with the menu
item's name, the chosen attributes and the added add-ons (with their names). Read-only; only
the call that owns the order (`owner`) can read it.

May import: the standard library and `tools.coffee.{db,schema,validation,menu,orders}`.
"""

from __future__ import annotations

import json
from typing import Any

from .db import Tx
from .menu import Menu
from .orders import order_row
from .schema import Runner
from .validation import clean_text


async def order_details(run: Runner, menu: Menu, owner: str, order_id: str) -> dict[str, Any]:
    oid = clean_text(order_id, field="order_id", limit=20, required=True)
    catalogue = await menu.attributes()
    addon_names = {k: a["name"] for k, a in (await menu.addons()).items()}

    async def q(tx: Tx) -> dict[str, Any]:
        row = await order_row(tx, owner, oid)
        lines = await tx.fetchall(
            "SELECT oi.*, m.name AS menu_item_name FROM order_items oi "
            "JOIN menu_items m ON m.menu_item_id = oi.menu_item_id WHERE oi.order_id = ? "
            "ORDER BY oi.created_at, oi.order_item_id",
            (oid,),
        )
        order_attrs = json.loads(row["attributes"])
        return {
            "order_id": oid,
            "status": row["status"],
            "attributes": [
                {
                    "attribute_id": k,
                    "attribute_name": catalogue.get(k, {}).get("attribute_name", k),
                    "option": v,
                }
                for k, v in order_attrs.items()
            ],
            "menu_items": [
                {
                    "order_item_id": r["order_item_id"],
                    "menu_item_id": r["menu_item_id"],
                    "menu_item_name": r["menu_item_name"],
                    "quantity": r["quantity"],
                    "attributes": [
                        {"attribute_id": k, "option": v}
                        for k, v in json.loads(r["attributes"]).items()
                    ],
                    "addons": [
                        {"addon_id": a, "name": addon_names.get(a, a), "option": "ADD"}
                        for a in json.loads(r["addons"])
                    ],
                    **({"notes": r["notes"]} if r["notes"] else {}),
                }
                for r in lines
            ],
        }

    return await run(q)
