"""A caller turn the session asks about twice gets the same policy both times.

LiveKit 1.8 starts the LLM step on the STT's final transcript, before the turn is committed
(preemptive generation, on by default). When the caller goes on ("Yes." ... "Yes, and a
latte too."), that attempt is discarded and the step runs again with the longer transcript;
a fallback chain retries a failed attempt the same way. The ordering policy keeps state
between turns (what it asked, what waits for a yes), so the second attempt must start from
the state the first one started from, not from what the first one left.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from livekit.agents import llm

from agents.brain.guided import GuidedLLM
from tests.test_guided_follows_caller import ScriptedFallback

TOOLS = ("get_menu_items", "get_addons", "add_order_item", "get_order_details", "finish_order")


def _tools() -> list[llm.Tool]:
    async def never_called() -> str:
        raise AssertionError("not executed here")

    return [llm.function_tool(never_called, name=n) for n in TOOLS]


async def _step(
    guided: GuidedLLM, ctx: llm.ChatContext, ids: list[str] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """One LLM step: what it said and the calls it made (their call ids into `ids`)."""
    text, calls = "", []
    async with guided.chat(chat_ctx=ctx, tools=_tools()) as stream:
        async for chunk in stream:
            if chunk.delta is None:
                continue
            text += chunk.delta.content or ""
            calls += [
                {"name": c.name, **json.loads(c.arguments)} for c in chunk.delta.tool_calls or []
            ]
            if ids is not None:
                ids += [c.call_id for c in chunk.delta.tool_calls or []]
    return text, calls


async def _asked_about_a_cortado(guided: GuidedLLM) -> llm.ChatContext:
    """A call whose agent has just asked "one Cortado, right?" (a drink waits for its yes);
    the check looks the Cortado up as it asks, so the look-up's result is fed back as the
    session would."""
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="A cortato, please.")
    ids: list[str] = []
    _, calls = await _step(guided, ctx, ids)
    assert calls == [{"name": "get_menu_items", "query": "Cortado"}], calls
    found = {"menu_items": [{"menu_item_id": "cortado", "name": "Cortado"}]}
    call_id = ids[0]
    ctx.items.append(llm.FunctionCall(call_id=call_id, name="get_menu_items",
                                      arguments=json.dumps({"query": "Cortado"})))  # fmt: skip
    ctx.items.append(llm.FunctionCallOutput(call_id=call_id, name="get_menu_items",
                                            output=json.dumps(found), is_error=False))  # fmt: skip
    asked, calls = await _step(guided, ctx)
    assert (asked, calls) == ("Just to check: one Cortado, right?", []), (asked, calls)
    ctx.add_message(role="assistant", content=asked)
    return ctx


ADD_CORTADO = {"name": "add_order_item", "menu_item_id": "cortado", "quantity": 1}


def test_a_discarded_attempt_does_not_spend_the_pending_confirmation() -> None:
    async def run() -> None:
        guided = GuidedLLM(ScriptedFallback())
        ctx = await _asked_about_a_cortado(guided)

        early = ctx.copy()
        early.add_message(role="user", content="Yes.")  # the attempt LiveKit then discards
        _, calls = await _step(guided, early)
        assert calls == [ADD_CORTADO], calls

        final = ctx.copy()
        final.add_message(role="user", content="Yes, and a latte too.")
        _, calls = await _step(guided, final)
        assert calls == [{"name": "get_menu_items", "query": "Cortado OR Latte"}], calls

    asyncio.run(run())


def test_the_next_turn_starts_from_what_the_committed_turn_left() -> None:
    async def run() -> None:
        guided = GuidedLLM(ScriptedFallback())
        ctx = await _asked_about_a_cortado(guided)
        ctx.add_message(role="user", content="Yes.")
        _, calls = await _step(guided, ctx)
        assert calls == [ADD_CORTADO], calls
        # a new turn after the committed one: the confirmation is spent, "yes" adds nothing
        ctx.add_message(role="assistant", content="Anything else?")
        ctx.add_message(role="user", content="Yes.")
        _, calls = await _step(guided, ctx)
        assert calls == [], calls

    asyncio.run(run())
