"""The ordering policy: what the agent does next, given what the caller said and what the
tools answered. One decision per LLM step, as the agent loop asks for it:

    caller turn  -> plan: [tool calls] -> [tool calls] -> spoken reply
    tool results -> the next step of the plan (a reply is always the last step)

It calls the same Taskmaster-4 tools every brain has (`get_menu_items`, `add_order_item`,
`update_order_item`, `get_order_details`, `finish_order`, `show_menu`, `end_call`,
`transfer_to_human`) with arguments taken from the caller's words and the tools' own
answers, and speaks short replies built from those answers. The order is placed only after
the agent has read it back and the caller said yes. What it does not understand it leaves to
the language model (`Defer`).

Owns: `OrderPolicy` (per call state + plans) and the reply wording. Imports: `understanding`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .understanding import CallerTurn, DrinkRequest, Menu, load_menu


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass
class Call:
    calls: list[ToolCall]


@dataclass
class Say:
    text: str


@dataclass
class Defer:
    reason: str


Step = Call | Say | Defer
Results = list[tuple[str, Any, bool]]
"""(tool name, parsed output, is_error) of the previous step's calls, in order."""


@dataclass
class Line:
    order_item_id: str
    drink: DrinkRequest


@dataclass
class OrderPolicy:
    menu: Menu = field(default_factory=load_menu)
    order_id: str | None = None
    lines: list[Line] = field(default_factory=list)
    awaiting_confirmation: bool = False
    placed: int = 0
    offered: list[DrinkRequest] = field(default_factory=list)
    """Drinks the agent just described and asked "would you like one?" about."""
    _plan: list[Callable[[Results], Step | None]] = field(default_factory=list)

    # ------------------------------------------------------------------ the agent loop

    def on_caller(self, turn: CallerTurn, tools: set[str]) -> Step:
        """A new caller turn: make a plan and return its first step."""
        self._plan = self._make_plan(turn)
        if not self._plan or not self._needs(tools):
            self._plan = []
            return Defer("not understood" if not turn.understood else "tools not offered")
        return self.on_results([])

    def on_results(self, results: Results) -> Step:
        """The previous step's tool results: return the next step."""
        while self._plan:
            step = self._plan.pop(0)(results)
            if step is not None:
                if isinstance(step, (Say, Defer)):
                    self._plan = []
                return step
        return Defer("plan finished without a reply")

    def _needs(self, tools: set[str]) -> bool:
        return {"get_menu_items", "add_order_item", "get_order_details", "finish_order"} <= tools

    # ------------------------------------------------------------------ planning

    def _make_plan(self, turn: CallerTurn) -> list[Callable[[Results], Step | None]]:
        acts = turn.acts
        offered, self.offered = self.offered, []
        if offered and "yes" in acts and not turn.drinks and "no" not in acts:
            return self._plan_add(offered)
        if "human" in acts:
            return [lambda _: Call([ToolCall("transfer_to_human", {"reason": "caller asked"})]),
                    lambda r: Say(self._tool_said(r, "Let me get you to someone."))]  # fmt: skip
        if turn.drinks and "remove" in acts:
            return self._plan_remove(turn.drinks)
        if turn.drinks and "change" in acts and (line := self._line_for(turn.drinks[0])):
            return self._plan_update(turn.drinks[0], line)
        if turn.drinks and "ask" in acts:
            return self._plan_describe(turn.drinks)
        if turn.drinks:
            return self._plan_add(turn.drinks)
        if turn.modifiers is not None and self.lines and not acts & {"yes", "place", "done"}:
            return self._plan_update(turn.modifiers, self.lines[-1])
        if turn.unknown_drink:
            return [lambda _: Say(f"Sorry, we don't have that. {self._menu_line()}")]
        if self.awaiting_confirmation and acts & {"yes", "place", "done"} and "change" not in acts:
            # the whole order was just read back with "anything else, or shall I place it?"
            return self._plan_finish()
        if self.awaiting_confirmation and acts & {"no", "change"}:
            self.awaiting_confirmation = False
            return [lambda _: Say("No problem. What would you like to change?")]
        if "goodbye" in acts or ("done" in acts and self.placed and not self.lines):
            if self.lines:
                return self._plan_read_back(closing=True)
            return [lambda _: Call([ToolCall("end_call", {})]), lambda _: Say("")]
        if acts & {"done", "place"} or (acts & {"yes"} and self.lines and not acts & {"menu"}):
            if not self.lines:
                return [lambda _: Say("You haven't ordered anything yet. What can I get you?")]
            return self._plan_read_back()
        if "order_status" in acts:
            if not self.lines:
                return [lambda _: Say("Your order is empty so far. What can I get you?")]
            return self._plan_read_back(ask=False)
        if "menu" in acts:
            return [lambda _: Call([ToolCall("show_menu", {})]), self._say_menu(turn)]
        return []

    def _plan_add(self, drinks: list[DrinkRequest]) -> list[Callable[[Results], Step | None]]:
        """Look the drinks up, check the options of those that have some (as the agent's
        instructions ask), add them one per step (the first opens the order, the next name
        it), then read the whole order back and ask whether to place it."""
        query = " OR ".join(dict.fromkeys(d.name for d in drinks))
        added: list[DrinkRequest] = []
        steps: list[Callable[[Results], Step | None]] = []

        def look_up(_: Results) -> Step:
            return Call([ToolCall("get_menu_items", {"query": query})])

        def check(results: Results) -> Step | None:
            found = {
                it.get("menu_item_id")
                for _, out, err in results
                if not err and isinstance(out, dict)
                for it in out.get("menu_items", [])
            }
            missing = [d.name for d in drinks if d.menu_item_id not in found]
            if missing:
                return Say(f"Sorry, I couldn't find {_join(missing)} on the menu right now.")
            return None

        def options(drink: DrinkRequest) -> Callable[[Results], Step | None]:
            def step(_: Results) -> Step:
                words = [*drink.attributes.values(), *(self.menu.addon_names.get(a, a)
                         for a in drink.addons)]  # fmt: skip
                return Call([ToolCall("get_addons", {
                    "query": " OR ".join(words), "menu_item_id": drink.menu_item_id})])  # fmt: skip

            return step

        def record(drink: DrinkRequest, results: Results) -> None:
            _, out, err = results[0] if results else ("", None, True)
            if err or not isinstance(out, dict) or "order_item_id" not in out:
                return
            self.order_id = str(out.get("order_id") or self.order_id or "")
            if not out.get("duplicate"):
                self.lines.append(Line(str(out["order_item_id"]), drink))
            added.append(drink)

        def add(index: int) -> Callable[[Results], Step | None]:
            def step(results: Results) -> Step | None:
                if index > 0:
                    record(drinks[index - 1], results)
                args = drinks[index].tool_arguments()
                if self.order_id:
                    args["order_id"] = self.order_id
                return Call([ToolCall("add_order_item", args)])

            return step

        def read_back(results: Results) -> Step:
            record(drinks[-1], results)
            if not added:
                return Say("Sorry, I couldn't add that. Could you say it again?")
            return self._details()

        def confirm(results: Results) -> Step:
            dropped = [f"{d.name} doesn't come with {_join(d.dropped)}" for d in added if d.dropped]
            note = (" The " + "; the ".join(dropped) + ".") if dropped else ""
            order = self._order_said(results)
            self.awaiting_confirmation = bool(order)
            if not order:
                return Say(f"Got it, {_join([_describe(d, self.menu) for d in added])}.{note} "
                           "Anything else?")  # fmt: skip
            return Say(f"Got it.{note} That's {order}. Anything else, or shall I place the order?")

        steps.append(look_up)
        steps.append(check)
        steps += [options(d) for d in drinks if d.attributes or d.addons]
        steps += [add(i) for i in range(len(drinks))]
        return [*steps, read_back, confirm]

    def _details(self) -> Step:
        return Call([ToolCall("get_order_details", {"order_id": self.order_id or ""})])

    def _confirm_after(self, lead: str) -> Callable[[Results], Step]:
        """Read the order back from `get_order_details` and ask the question that gates placing."""

        def say(results: Results) -> Step:
            order = self._order_said(results)
            self.awaiting_confirmation = bool(order)
            if not order:
                return Say(f"{lead} Anything else?")
            return Say(f"{lead} That's {order}. Anything else, or shall I place the order?")

        return say

    def _order_said(self, results: Results) -> str:
        out = results[0][1] if results and not results[0][2] else None
        items = out.get("menu_items", []) if isinstance(out, dict) else []
        return _join([_describe_line(it) for it in items])

    def _plan_describe(self, drinks: list[DrinkRequest]) -> list[Callable[[Results], Step | None]]:
        query = " OR ".join(dict.fromkeys(d.name for d in drinks))

        def say(results: Results) -> Step:
            items = [it for _, out, err in results if not err and isinstance(out, dict)
                     for it in out.get("menu_items", [])]  # fmt: skip
            if not items:
                return Say(f"Sorry, we don't have that. {self._menu_line()}")
            parts = [f"{it['name']}" + (f", that's {_spoken(it['description'])}" if it.get("description")
                     else "") for it in items[: len(drinks)]]  # fmt: skip
            self.offered = [
                d for d in drinks if d.menu_item_id in {it["menu_item_id"] for it in items}
            ]
            return Say(f"Yes, we have {_join(parts)}. Would you like one?")

        return [
            lambda _: Call(
                [ToolCall("get_menu_items", {"query": query, "fields": ["description"]})]
            ),
            say,
        ]

    def _plan_update(
        self, change: DrinkRequest, line: Line
    ) -> list[Callable[[Results], Step | None]]:
        args: dict[str, Any] = {"order_item_id": line.order_item_id}
        if change.quantity_said:
            args["quantity"] = change.quantity
        allowed = set(self.menu.items[line.drink.menu_item_id]["attributes"])
        attrs = {k: v for k, v in change.attributes.items() if k in allowed}
        if attrs:
            args["attributes"] = [{"attribute_id": k, "option": v} for k, v in attrs.items()]
        if change.addons:
            args["addons"] = [{"addon_id": a, "option": "ADD"} for a in change.addons]
        if len(args) == 1:
            return []

        def done(results: Results) -> Step:
            if not results or results[0][2]:
                return Say("Sorry, I couldn't change that. Could you say it again?")
            line.drink.attributes.update(attrs)
            line.drink.addons += [a for a in change.addons if a not in line.drink.addons]
            if change.quantity_said:
                line.drink.quantity = change.quantity
            return self._details()

        return [
            lambda _: Call([ToolCall("update_order_item", args)]),
            done,
            self._confirm_after("Okay."),
        ]

    def _plan_remove(self, drinks: list[DrinkRequest]) -> list[Callable[[Results], Step | None]]:
        lines = [ln for d in drinks if (ln := self._line_for(d)) is not None]
        if not lines:
            return [lambda _: Say(f"There's no {_join([d.name for d in drinks])} in your order.")]
        calls = [ToolCall("update_order_item", {"order_item_id": ln.order_item_id, "remove": True})
                 for ln in lines]  # fmt: skip

        def done(results: Results) -> Step:
            removed = [ln for ln, (_, _, err) in zip(lines, results, strict=False) if not err]
            self.lines = [ln for ln in self.lines if ln not in removed]
            self.awaiting_confirmation = False
            names = _join([ln.drink.name for ln in removed])
            if not self.lines:
                return Say(f"Okay, I took off the {names}. What can I get you instead?")
            return self._details()

        return [lambda _: Call(calls), done, self._confirm_after("Okay, that's off.")]

    def _plan_read_back(
        self, *, ask: bool = True, closing: bool = False
    ) -> list[Callable[[Results], Step | None]]:
        def read(results: Results) -> Step:
            said = self._order_said(results)
            if not said:
                return Say("Sorry, I couldn't read your order back. What would you like?")
            self.awaiting_confirmation = ask
            if not ask:
                return Say(f"So far you have {said}. Anything else?")
            lead = "Before you go: I have" if closing else "That's"
            return Say(f"{lead} {said}. Shall I place the order?")

        return [lambda _: self._details(), read]

    def _plan_finish(self) -> list[Callable[[Results], Step | None]]:
        def finish(_: Results) -> Step:
            return Call([ToolCall("finish_order", {"order_id": self.order_id or ""})])

        def placed(results: Results) -> Step:
            if not results or results[0][2]:
                return Say("Sorry, I couldn't place the order. Let me try that again: "
                           "shall I place it?")  # fmt: skip
            self.awaiting_confirmation = False
            self.placed += 1
            self.lines, self.order_id = [], None
            return Say("Your order is placed and will be ready at the bar in a few minutes. "
                       "Anything else?")  # fmt: skip

        return [finish, placed]

    # ------------------------------------------------------------------ wording

    def _say_menu(self, turn: CallerTurn) -> Callable[[Results], Step]:
        def say(results: Results) -> Step:
            return Say(f"{self._menu_line(turn.text)} What would you like?")

        return say

    def _menu_line(self, text: str = "") -> str:
        by_cat: dict[str, list[str]] = {}
        for it in sorted(self.menu.items.values(), key=lambda i: -i.get("mentions", 0)):
            by_cat.setdefault(it["category"], []).append(it["name"])
        low = text.lower()
        wanted = [c for c in by_cat if c in low or c + "s" in low] or list(by_cat)
        parts = [f"{c} like {_join(by_cat[c][:4])}" for c in wanted]
        return f"We have {_join(parts)}."

    def _line_for(self, drink: DrinkRequest) -> Line | None:
        for line in reversed(self.lines):
            if line.drink.menu_item_id == drink.menu_item_id:
                return line
        return None

    @staticmethod
    def _tool_said(results: Results, default: str) -> str:
        out = results[0][1] if results else None
        return out if isinstance(out, str) and out and not results[0][2] else default


def _spoken(text: str) -> str:
    """Menu shorthand as words a TTS reads well ("espresso + milk" -> "espresso and milk")."""
    return " ".join(text.replace(" + ", " and ").replace("&", " and ").split())


def _join(words: list[str]) -> str:
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _count(n: int, name: str) -> str:
    word = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))
    return f"{word} {name}" + ("s" if n > 1 and not name.endswith("s") else "")


def _options_said(attributes: dict[str, str], addon_names: list[str]) -> str:
    prefix = [v.lower() for k, v in attributes.items() if k in ("hot-or-iced", "caffeine")]
    shots = attributes.get("espresso-shots")
    milk = attributes.get("milk-options")
    rest = []
    if milk:
        rest.append(milk.replace("Non-fat", "non-fat").replace("Milk", "milk").lower()
                    if milk != "No Milk" else "no milk")  # fmt: skip
    if shots:
        rest.append(f"a {shots.lower()} shot")
    rest += [a.lower() for a in addon_names]
    return " ".join(prefix) + ("|" + _join(rest) if rest else "")


def _describe(d: DrinkRequest, menu: Menu) -> str:
    opts = _options_said(d.attributes, [menu.addon_names.get(a, a) for a in d.addons])
    return _phrase(d.quantity, d.name, opts)


def _describe_line(item: dict[str, Any]) -> str:
    attrs = {a["attribute_id"]: a["option"] for a in item.get("attributes", [])}
    opts = _options_said(attrs, [a.get("name", a["addon_id"]) for a in item.get("addons", [])])
    return _phrase(int(item.get("quantity") or 1), str(item.get("menu_item_name", "")), opts)


def _phrase(quantity: int, name: str, opts: str) -> str:
    prefix, _, rest = opts.partition("|")
    head = _count(quantity, f"{prefix} {name}".strip())
    return f"{head} with {rest}" if rest else head


def parse_output(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw
