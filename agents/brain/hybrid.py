"""The hybrid brain's hand-off: the realtime model keeps the caller's ear and turn-taking,
and sends reasoning-heavy steps (recommendations under constraints, comparing options,
to a text LLM through one tool, `consult_expert`.

The round trip is hidden by the tool runtime's filler speech: every tool, this one
included, runs through `tools.ToolRuntime`, which speaks a short holding phrase when a
call outlasts `FILLER_DELAY`, so the caller never hears dead air.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from livekit.agents import RunContext, llm

from tools import ToolRuntime
from tools.coffee import OrderStore

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
    """One text-LLM completion over the question plus the shop's facts (the live menu).

    `context` is awaited for fresh facts on every call."""
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


def build_reasoner_tool(
    reasoner: llm.LLM, store: OrderStore, runtime: ToolRuntime
) -> llm.FunctionTool:
    """`consult_expert(question)`, wrapped by the tool runtime like every other tool."""

    async def consult_expert(ctx: RunContext, question: str) -> str:
        """Ask the shop's back-office expert a question that needs thought about the menu: a
        recommendation under constraints (dairy-free, low caffeine, not too sweet) or a
        comparison of drinks. Returns an answer to say to the caller.

        Args:
            question: The caller's question in full, with every constraint they gave.
        """
        question = question.strip()
        if not question:
            raise llm.ToolError("question must not be empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise llm.ToolError(f"question is longer than {MAX_QUESTION_CHARS} characters")

        async def facts() -> dict[str, object]:
            return {"menu": await store.menu()}

        return await ask_reasoner(reasoner, question, context=facts)

    return runtime.tool(consult_expert)
