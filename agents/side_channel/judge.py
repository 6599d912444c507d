"""A slow guardrail: a text LLM judges each finished agent reply against a rubric
(`GUARDRAIL_JUDGE`, e.g. "promises a discount, a refund or free items").

It only has `check_slow`: it runs in a background task on the finished transcript item
(`CallGuard`), never between the agent's text and its audio, so it can only act after the
fact: the finding is recorded and, for `action="block"`, the agent is made to correct
itself. A judge that fails or times out records an error and changes nothing.

Owns: `LLMJudge` and its prompt. Imports: livekit, `guardrails`, `sensitive`.
"""

from __future__ import annotations

import asyncio

from livekit.agents import llm

from tools.sensitive import mask

from .guardrails import Action, Finding, Guardrail

JUDGE_PROMPT = (
    "You review one reply of a coffee shop's phone assistant. The shop forbids replies that: "
    "{rubric}. Answer with exactly one line: 'VIOLATION: <a few words why>' if the reply "
    "does that, otherwise 'OK'."
)


class LLMJudge(Guardrail):
    name = "llm_judge"

    def __init__(
        self, model: llm.LLM, rubric: str, *, action: Action = "block", timeout: float = 10.0
    ) -> None:
        self.model = model
        self.rubric = rubric
        self.action = action
        self.timeout = timeout

    async def check_slow(self, text: str) -> list[Finding]:
        ctx = llm.ChatContext.empty()
        ctx.add_message(role="system", content=JUDGE_PROMPT.format(rubric=self.rubric))
        ctx.add_message(role="user", content=text)
        verdict = await asyncio.wait_for(self._ask(ctx), timeout=self.timeout)
        head, _, why = verdict.strip().partition(":")
        if head.strip().upper() != "VIOLATION":
            return []
        return [
            Finding(
                self.name,
                "rubric",
                self.action,
                0,
                len(text),
                detail=mask(why.strip())[:200],
            )
        ]

    async def _ask(self, ctx: llm.ChatContext) -> str:
        parts: list[str] = []
        async with self.model.chat(chat_ctx=ctx) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    parts.append(chunk.delta.content)
        return "".join(parts)
