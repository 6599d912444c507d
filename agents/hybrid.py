"""The hybrid brain's hand-off: the realtime model keeps the caller's ear and turn-taking,
and sends reasoning-heavy steps (recommendations under constraints, comparing options,
working out an order) to a text LLM through one tool.

The round trip is hidden by the tool runtime's filler speech: every tool, this one
included, runs through `tools.ToolRuntime`, which speaks a short holding phrase when a
call outlasts `FILLER_DELAY`, so the caller never hears dead air.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from livekit.agents import llm

REASONER_INSTRUCTIONS = (
    "You are the back-office expert of a coffee shop. A phone assistant asks you a question "
    "on behalf of a caller. Answer in at most three short spoken sentences, no lists, no "
    "markdown. Use only items from the menu you are given; say so if something is not on it."
)

MAX_QUESTION_CHARS = 1000


async def ask_reasoner(
    reasoner: llm.LLM,
    question: str,
    *,
    context: Callable[[], Awaitable[dict[str, object]]],
) -> str:
    """One text-LLM completion over the question plus the shop's facts (menu, current order).

    `context` is awaited for fresh facts on every call (the order changes during a call)."""
    facts = await context()
    chat_ctx = llm.ChatContext()
    chat_ctx.add_message(role="system", content=REASONER_INSTRUCTIONS)
    chat_ctx.add_message(
        role="user",
        content=f"Facts (JSON): {json.dumps(facts, ensure_ascii=False)}\n\nQuestion: {question}",
    )
    parts: list[str] = []
    async with reasoner.chat(chat_ctx=chat_ctx) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.content:
                parts.append(chunk.delta.content)
    answer = "".join(parts).strip()
    return answer or "I could not work that out, sorry."
