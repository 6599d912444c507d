"""Coffee-ordering function tools: Taskmaster-4's API, same names and argument shapes.

    get_menu_items(query, fields?)            show_menu()
    get_addons(query, menu_item_id?, scope?)  add_order_item(menu_item_id, quantity, order_id?,
    update_order_item(order_item_id, ...)                    attributes?, addons?, notes?)
    update_order(order_id, attributes)        get_order_details(order_id)
    finish_order(order_id)

`build_coffee_tools(store, runtime)` returns them as livekit `FunctionTool`s, each wrapped by
the `ToolRuntime` (timeout, filler, barge-in cancel for the read-only ones, records).

Idempotency: every mutating tool derives a key from (current user turn, tool, arguments), so a
duplicated or retried call inside one user turn is answered from the store's idempotency
table instead of adding or finishing twice (result carries `"duplicate": true` and a note).
For `add_order_item` the key ignores `order_id` (a session has one open order per turn), so a
retry that now names the order the first call created is still a duplicate.

Each session has a "current order" (the last order `add_order_item` opened in it): an
omitted `order_id` means that order, so a model that forgets the id still adds to the same
order. `finish_order` clears it. A session that has none yet asks the store for its call's
open order (`OrderStore.open_order_id`), so a call retried on another worker carries on with
the order it started. The store only ever touches orders of the call it was opened for.

Owns: the eight tools' bodies and argument models, `COFFEE_INSTRUCTIONS` (the agent prompt
that goes with them) and `MAX_TOOL_STEPS`. May import: livekit, pydantic, the standard
library, `tools.runtime` and `tools.coffee.{store,validation}`; never `agents` or `evals`.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from livekit.agents.llm import FunctionTool, ToolError
from livekit.agents.voice import RunContext
from pydantic import BaseModel, Field

from ..runtime import ToolRuntime, idempotency_key
from .store import OrderStore
from .validation import StoreError, base_id

COFFEE_INSTRUCTIONS = """\
You are the phone order taker at a small coffee bar. You are speaking on the phone, so use \
plain spoken sentences: no lists, no markdown, no emojis, and keep each reply to one or two \
short sentences.
Help the caller order drinks from the menu. Always look a drink up with get_menu_items before \
adding it, and use the menu_item_id it returns. If the caller asks for milk, sweetener, \
syrup, iced, decaf or espresso shots, check the options with get_addons first. Add each drink \
with add_order_item, with the quantity the caller said. If the caller asks what you have, use \
show_menu and mention only a few items.
Before finishing, call get_order_details, read the order back briefly and ask the caller to \
confirm. Call finish_order only after the caller says yes, then tell them it will be ready \
shortly at the bar.
If a tool reports an error, fix the request or ask the caller, and never invent menu items, \
prices or order numbers. If the caller wants a person, use transfer_to_human. When the caller \
is done, say goodbye and call end_call.
"""

MAX_TOOL_STEPS = 8
"""Pass as `AgentSession(max_tool_steps=MAX_TOOL_STEPS)`: a Taskmaster-4 user turn takes up to
6 chained calls (get_menu_items -> get_addons -> add_order_item x2 -> get_order_details ...),
and livekit's default of 3 cuts the chain short (the model is then called with tool_choice
"none")."""

READ_ONLY = {"get_menu_items", "show_menu", "get_addons", "get_order_details"}


class AttributeChoice(BaseModel):
    attribute_id: str = Field(
        description="e.g. milk-options, hot-or-iced, espresso-shots, caffeine"
    )
    option: str = Field(description="one of the options get_addons listed, e.g. Oat Milk")


class AddonChoice(BaseModel):
    addon_id: str = Field(description="addon_id from get_addons, e.g. vanilla-sweetener")
    option: str = Field(default="ADD", description="ADD to add it, NO to leave it out")


class OrderAttributeChoice(BaseModel):
    attribute_id: str = Field(description="order-type or name")
    option: str = Field(description="for order-type: Here, To go or Delivery; for name: the name")
    attribute_name: str | None = None


def _dump(items: Sequence[BaseModel] | None) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    return [i.model_dump(exclude_none=True) if isinstance(i, BaseModel) else dict(i) for i in items]


class _SessionOrders:
    """The current open order of each session (weakly keyed, so sessions can go away)."""

    def __init__(self) -> None:
        self._by_session: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._fallback: dict[int, str] = {}

    def get(self, ctx: RunContext) -> str | None:
        s = ctx.session
        try:
            return self._by_session.get(s)
        except TypeError:
            return self._fallback.get(id(s))

    def set(self, ctx: RunContext, order_id: str | None) -> None:
        s = ctx.session
        try:
            if order_id is None:
                self._by_session.pop(s, None)
            else:
                self._by_session[s] = order_id
        except TypeError:
            if order_id is None:
                self._fallback.pop(id(s), None)
            else:
                self._fallback[id(s)] = order_id


def build_coffee_tools(store: OrderStore, runtime: ToolRuntime) -> list[FunctionTool]:
    """The eight Taskmaster-4 tools bound to `store`, wrapped by `runtime`."""
    orders = _SessionOrders()

    async def _current(ctx: RunContext) -> str | None:
        oid = orders.get(ctx)
        if oid is None:
            oid = await store.open_order_id()
            if oid is not None:
                orders.set(ctx, oid)
        return oid

    async def _order_id(ctx: RunContext, order_id: str | None, *, tool: str) -> str:
        oid = (order_id or "").strip() or await _current(ctx)
        if not oid:
            raise ToolError(
                f"{tool} needs an order_id, and there is no order yet in this call. "
                "Add an item with add_order_item first."
            )
        return oid

    async def get_menu_items(
        ctx: RunContext, query: str, fields: list[str] | None = None
    ) -> dict[str, Any]:
        """Search the menu for drinks matching what the caller said.

        Always call this before add_order_item to get the menu_item_id.

        Args:
            query: the drink or kind of drink, e.g. "latte", "black tea", "mocha OR latte"
            fields: extra fields to include, e.g. ["description"] when the caller asks what is in it
        """
        if not query or not query.strip():
            raise ToolError("query must not be empty: say what drink to look for.")
        found = await store.search_menu(query)
        extra = {f for f in (fields or []) if f in {"description", "size", "category", "price"}}
        items = [
            {"menu_item_id": it["menu_item_id"], "name": it["name"]}
            | {k: it[k] for k in sorted(extra) if it.get(k)}
            for it in found
        ]
        out: dict[str, Any] = {"menu_items": items}
        if not items:
            out["note"] = (
                f"Nothing on the menu matches {query.strip()!r}. Tell the caller and offer "
                "something we do have."
            )
        return out

    async def show_menu(ctx: RunContext) -> dict[str, Any]:
        """Show the menu (drink names by category, and the milks drinks are made with) when
        the caller asks what you have, or which milks you have."""
        menu: dict[str, list[str]] = {}
        for it in await store.menu():
            menu.setdefault(it["category"], []).append(it["name"])
        out: dict[str, Any] = {"success": True, "menu": menu}
        # the menu card lists the milks too: "what kinds of milk do you have?" is a menu
        # question (the Taskmaster-4 agents answer it with show_menu in every dev turn)
        if milk := (await store.attributes()).get("milk-options", {}).get("options"):
            out["milk"] = list(milk)
        out["note"] = "On the phone, mention the categories and a few drinks, not the whole list."
        return out

    async def get_addons(
        ctx: RunContext,
        query: str = "",
        menu_item_id: str | None = None,
        scope: str | None = None,
    ) -> dict[str, Any]:
        """List options for a drink (milk, hot or iced, espresso shots, caffeine) and add-ons
        (syrups, sauces, sweeteners), or order options with scope "order" (here or to go).

        Args:
            query: what the caller asked for, e.g. "oat milk" or "vanilla OR decaf"
            menu_item_id: the drink's menu_item_id from get_menu_items
            scope: "order" for order-level options such as order-type (here / to go)
        """
        attrs = await store.attributes()
        addons = await store.addons()
        if (scope or "").strip().lower() == "order":
            return {"attributes": [attrs[a] for a in ("order-type", "name") if a in attrs]}
        if menu_item_id:
            try:
                item = await store.resolve_menu_item(menu_item_id)
            except StoreError as e:
                raise ToolError(str(e)) from e
            attr_list = [attrs[a] for a in item["attributes"] if a in attrs]
            addon_list = [addons[a] for a in item["addons"] if a in addons]
        else:
            attr_list = [a for k, a in attrs.items() if k not in {"order-type", "name"}]
            addon_list = list(addons.values())
        words = [w for w in query.lower().replace(" or ", " ").split() if len(w) > 2]
        if words:

            def hit(text: str) -> bool:
                t = text.lower()
                return any(w.rstrip("s") in t for w in words)

            sweet = any(w.startswith(("sweet", "syrup", "sugar", "flavo", "sauce")) for w in words)
            f_attrs = [
                a
                for a in attr_list
                if hit(a["attribute_name"] + " " + a["attribute_id"] + " " + " ".join(a["options"]))
            ]
            f_addons = [a for a in addon_list if sweet or hit(a["name"] + " " + a["addon_id"])]
            if f_attrs or f_addons:
                attr_list, addon_list = f_attrs, f_addons
        out: dict[str, Any] = {"attributes": attr_list}
        if addon_list:
            out["addons"] = addon_list
        if not attr_list and not addon_list:
            out["note"] = "This drink has no options or add-ons."
        return out

    async def add_order_item(
        ctx: RunContext,
        menu_item_id: str,
        quantity: int = 1,
        order_id: str | None = None,
        attributes: list[AttributeChoice] | None = None,
        addons: list[AddonChoice] | None = None,
        notes: str | None = None,
    ) -> dict[str, Any]:
        """Add a drink to the caller's order. Starts a new order when order_id is omitted.

        Args:
            menu_item_id: the menu_item_id from get_menu_items
            quantity: how many of this drink, 1 or more
            order_id: the order_id returned by an earlier add_order_item, to add to the same order
            attributes: chosen options, e.g. [{"attribute_id": "milk-options", "option": "Oat Milk"}]
            addons: chosen add-ons, e.g. [{"addon_id": "vanilla-sweetener", "option": "ADD"}]
            notes: special instructions the options do not cover, e.g. "extra hot"
        """
        attrs, adds = _dump(attributes), _dump(addons)
        key = idempotency_key(
            ctx,
            "add_order_item",
            {
                "menu_item_id": base_id(menu_item_id or ""),
                "quantity": quantity,
                "attributes": attrs,
                "addons": adds,
                "notes": notes,
            },  # fmt: skip
        )
        oid = (order_id or "").strip() or await _current(ctx)
        result = await store.add_order_item(
            menu_item_id=menu_item_id,
            quantity=quantity,
            order_id=oid,
            attributes=attrs,
            addons=adds,
            notes=notes,
            idempotency_key=key,
        )
        orders.set(ctx, result["order_id"])
        if result.get("duplicate"):
            result["note"] = (
                "This exact item was already added during this turn, so it was not added "
                "again. If the caller wants more, use update_order_item to raise the quantity."
            )
        return result

    async def update_order_item(
        ctx: RunContext,
        order_item_id: str,
        attributes: list[AttributeChoice] | None = None,
        addons: list[AddonChoice] | None = None,
        quantity: int | None = None,
        notes: str | None = None,
        remove: bool = False,
    ) -> dict[str, Any]:
        """Change a drink already in the order (options, add-ons, quantity or notes), or take
        it off the order (remove: true).

        Args:
            order_item_id: the order_item_id from add_order_item or get_order_details
            attributes: options to change, e.g. [{"attribute_id": "caffeine", "option": "Decaf"}]
            addons: add-ons to add (ADD) or remove (NO)
            quantity: the new quantity, 1 or more
            notes: replacement special instructions
            remove: true to take this drink off the order
        """
        if (
            attributes is None
            and addons is None
            and quantity is None
            and notes is None
            and not remove
        ):
            raise ToolError("Say what to change: attributes, addons, quantity, notes or remove.")
        attrs, adds = _dump(attributes), _dump(addons)
        key = idempotency_key(
            ctx,
            "update_order_item",
            {
                "order_item_id": order_item_id,
                "attributes": attrs,
                "addons": adds,
                "quantity": quantity,
                "notes": notes,
                **({"remove": True} if remove else {}),
            },  # fmt: skip
        )
        return await store.update_order_item(
            order_item_id=order_item_id,
            attributes=attrs,
            addons=adds,
            quantity=quantity,
            notes=notes,
            remove=remove,
            idempotency_key=key,
        )

    async def update_order(
        ctx: RunContext, order_id: str, attributes: list[OrderAttributeChoice]
    ) -> dict[str, Any]:
        """Change order-level details: order-type (Here, To go, Delivery) or the caller's name.

        Args:
            order_id: the order_id from add_order_item
            attributes: e.g. [{"attribute_id": "order-type", "option": "To go"}]
        """
        oid = await _order_id(ctx, order_id, tool="update_order")
        attrs = _dump(attributes)
        key = idempotency_key(ctx, "update_order", {"order_id": oid, "attributes": attrs})
        return await store.update_order(order_id=oid, attributes=attrs, idempotency_key=key)

    async def get_order_details(ctx: RunContext, order_id: str) -> dict[str, Any]:
        """Get the current order to read it back to the caller before finishing.

        Args:
            order_id: the order_id from add_order_item
        """
        return await store.get_order_details(
            await _order_id(ctx, order_id, tool="get_order_details")
        )

    async def finish_order(ctx: RunContext, order_id: str) -> dict[str, Any]:
        """Send the order to the bar. Only after the caller confirmed the order is correct.

        Args:
            order_id: the order_id from add_order_item
        """
        oid = await _order_id(ctx, order_id, tool="finish_order")
        key = idempotency_key(ctx, "finish_order", {"order_id": oid})
        result = await store.finish_order(oid, idempotency_key=key)
        if orders.get(ctx) == oid:
            orders.set(ctx, None)
        return result

    bodies: list[Callable[..., Awaitable[Any]]] = [
        get_menu_items,
        show_menu,
        get_addons,
        add_order_item,
        update_order_item,
        update_order,
        get_order_details,
        finish_order,
    ]
    return [runtime.tool(fn, cancellable=fn.__name__ in READ_ONLY) for fn in bodies]
