"""Drive dialogs through AgentSession in text mode and collect the function calls."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice.run_result import (
    ChatMessageEvent,
    FunctionCallEvent,
    FunctionCallOutputEvent,
    RunResult,
)

from tools import ToolRuntime, ToolRuntimeOptions
from tools.coffee import (
    COFFEE_INSTRUCTIONS,
    MAX_TOOL_STEPS,
    MENU_JSON,
    OrderStore,
    build_coffee_tools,
)

from .data import Dialog, Turn
from .scoring import (
    ApiCounts,
    Normaliser,
    PredCall,
    aggregate,
    reply_kind,
    score_dialog,
    wrong_after,
)


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def collect_calls(events: list[Any]) -> list[PredCall]:
    calls: dict[str, PredCall] = {}
    order: list[str] = []
    for ev in events:
        if isinstance(ev, FunctionCallEvent):
            args = _parse(ev.item.arguments) or {}
            calls[ev.item.call_id] = PredCall(
                name=ev.item.name, arguments=args if isinstance(args, dict) else {}
            )
            order.append(ev.item.call_id)
        elif isinstance(ev, FunctionCallOutputEvent) and ev.item.call_id in calls:
            c = calls[ev.item.call_id]
            c.output, c.is_error = _parse(ev.item.output), ev.item.is_error
    return [calls[k] for k in order]


def reply_text(events: list[Any]) -> str:
    """What the agent said in one turn (its assistant messages, joined)."""
    said = [ev.item.text_content or "" for ev in events
            if isinstance(ev, ChatMessageEvent) and ev.item.role == "assistant"]  # fmt: skip
    return " ".join(s for s in said if s)


async def run_dialog(
    dialog: Dialog,
    model: llm.LLM,
    *,
    turn_timeout: float = 60.0,
    before_turn: Callable[[Turn], None] | None = None,
    missing: frozenset[str] = frozenset(),
    replies: list[str] | None = None,
) -> list[list[PredCall]]:
    """Replay the dialog's user turns; per user turn, the calls the model made. `missing`:
    menu item ids this dialog's shop does not sell (taken off the dialog's own menu).
    `replies`, when given, gets what the agent said after each user turn."""
    out: list[list[PredCall]] = []
    with tempfile.TemporaryDirectory(prefix="tm4-eval-") as tmp:
        menu_path = MENU_JSON
        if missing:
            menu = json.loads(MENU_JSON.read_text())
            menu["menu_items"] = [
                it for it in menu["menu_items"] if it["menu_item_id"] not in missing
            ]
            menu_path = Path(tmp) / "menu.json"
            menu_path.write_text(json.dumps(menu))
        store = OrderStore(Path(tmp) / "orders.sqlite", menu_path=menu_path)
        await store.open()
        runtime = ToolRuntime(ToolRuntimeOptions(filler_phrases=(), emit_on_session=False))
        tools: list[llm.Tool | llm.Toolset] = [*build_coffee_tools(store, runtime)]
        agent = Agent(instructions=COFFEE_INSTRUCTIONS, tools=tools)
        try:
            async with AgentSession(llm=model, max_tool_steps=MAX_TOOL_STEPS) as session:
                await session.start(agent)
                for turn in dialog.turns:
                    if turn.speaker != "user":
                        continue
                    if before_turn is not None:
                        before_turn(turn)
                    try:
                        res: RunResult[None] = await asyncio.wait_for(
                            session.run(user_input=turn.text), timeout=turn_timeout
                        )
                        out.append(collect_calls(res.events))
                        said = reply_text(res.events)
                    except (asyncio.TimeoutError, RuntimeError) as e:
                        out.append([PredCall(name="__error__", arguments={"error": str(e)})])
                        said = ""
                    if replies is not None:
                        replies.append(said)
        finally:
            await store.close()
    return out


async def run_eval(
    dialogs: list[Dialog],
    llm_factory: Callable[[], llm.LLM],
    *,
    progress: Callable[[int], None] | None = None,
    before_turn: Callable[[Dialog, Turn], None] | None = None,
    menu: str = "shop",
) -> dict[str, Any]:
    """`menu`: "shop", every dialog against our whole menu (the historic figures), or
    "dialog", each against our menu less the drinks its own shop did not sell
    (`Normaliser.missing_from`): "I'd like a mocha" in a dialog whose agent found no mocha
    is then no longer scored as an order the gold agent failed to place."""
    if menu not in ("shop", "dialog"):
        raise ValueError(f"menu must be 'shop' or 'dialog', got {menu!r}")
    norm = Normaliser()
    all_counts: list[dict[str, ApiCounts]] = []
    per_dialog: list[dict[str, Any]] = []
    user_turns = exact = 0
    t0 = time.perf_counter()
    for d in dialogs:
        model = llm_factory()
        hook = (lambda t, d=d: before_turn(d, t)) if before_turn else None
        missing = norm.missing_from(d) if menu == "dialog" else frozenset()
        replies: list[str] = []
        pred = await run_dialog(d, model, before_turn=hook, missing=missing, replies=replies)
        gold = [t.calls for t in d.turns if t.speaker == "user"]
        counts, ok = score_dialog(gold, pred, norm)
        all_counts.append(counts)
        user_turns += len(gold)
        exact += ok
        per_dialog.append(
            {
                "conversation_id": d.conversation_id,
                "scenario": d.scenario,
                "user_turns": len(gold),
                "exact_turns": ok,
                "gold": [[c.name for c in t] for t in gold],
                "pred": [
                    [{"name": c.name, "arguments": c.arguments, "is_error": c.is_error} for c in t]
                    for t in pred
                ],
                # the kind of each reply, never its words (the test split stays unread)
                "reply_kinds": [reply_kind(r) for r in replies],
            }
        )
        if progress:
            progress(1)
    per_api, overall = aggregate(all_counts)
    overall["user_turns"] = user_turns
    overall["turn_exact"] = exact / user_turns if user_turns else None
    overall["seconds"] = round(time.perf_counter() - t0, 2)
    overall["wrong_after"] = wrong_after(per_dialog)
    return {"per_api": per_api, "overall": overall, "per_dialog": per_dialog}
