"""`GuidedLLM`: the offline brain's LLM stage, a rules layer around a small local model.

Measured here (Qwen2.5-Coder-1.5B, native tool template, grammar-constrained calls, plus slot
and confirmation rules; 28 caller turns): 11 of 28 turns right, 2-5 s to decode one tool call
on 2 cores. A small model on a small CPU cannot plan the order reliably or quickly, so the
brain splits the work:

- the ordering policy (`policy.OrderPolicy`, fed by `understanding.understand`) decides the
  tool calls from the caller's words and the tools' answers, one step per LLM call, and
  words the replies from the tools' answers: right arguments, a spoken reply after every
  tool result, the order placed only after a read-back and a yes, and no model latency;
- the local model answers what the policy does not understand (small talk, questions
  outside the menu), as text, with a short prompt that carries the menu.

It is an ordinary `llm.LLM`, so `AgentSession`, the tool runtime (timeouts, filler,
idempotency, records) and the side channel see exactly what they see with any other LLM.

Owns: the LLM wrapper and the fallback prompt. Imports: livekit, `policy`, `understanding`.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, llm, utils
from livekit.agents.llm import ToolChoice
from livekit.agents.llm.tool_context import Tool
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from .policy import Call, Defer, OrderPolicy, Say, parse_output
from .understanding import understand

MAX_SENTENCES = 2
"""The fallback model's reply is cut after this many sentences (a phone answer is short)."""
_NOT_SPOKEN = re.compile(r"[^\w\s.,!?'\-:;%$&()]+")
"""Characters a voice cannot say (emoji, markdown, symbols): dropped from the model's text."""
FALLBACK_HISTORY = 6
"""Conversation items the fallback model sees (plus its prompt): short prompts keep its
first token fast and a long call from ever overflowing its context."""


def fallback_instructions(policy: OrderPolicy) -> str:
    names = ", ".join(sorted(it["name"] for it in policy.menu.items.values()))
    return (
        "You answer the phone at a small coffee bar. Reply in one short spoken sentence, no "
        f"lists. The menu: {names}. Each drink comes in one size. If the caller wants to "
        "order, ask them which drink from the menu they would like. Never invent drinks or "
        "prices."
    )


class GuidedLLM(llm.LLM):
    def __init__(self, fallback: llm.LLM, *, policy: OrderPolicy | None = None) -> None:
        """`fallback`: the model for what the ordering policy does not understand."""
        super().__init__()
        self._fallback = fallback
        self.policy = policy or OrderPolicy()
        self._issued: dict[str, str] = {}
        """call_id -> tool name of the calls the policy made in the current step."""

    @property
    def model(self) -> str:
        return f"guided/{self._fallback.model}"

    @property
    def provider(self) -> str:
        return self._fallback.provider

    @property
    def fallback(self) -> llm.LLM:
        return self._fallback

    def prewarm(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._fallback.prewarm(loop=loop)

    async def warm_prompt(self, chat_ctx: llm.ChatContext, tools: list[Tool] | None = None) -> None:
        """Pre-compute the fallback model's prompt (its KV cache) while the greeting plays."""
        warm = getattr(self._fallback, "warm_prompt", None)
        if warm is not None:
            await warm(self.fallback_context(chat_ctx), [])

    def fallback_context(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        ctx = llm.ChatContext.empty()
        ctx.add_message(role="system", content=fallback_instructions(self.policy))
        said = [
            it
            for it in chat_ctx.items
            if it.type == "message" and it.role in ("user", "assistant") and it.text_content
        ]
        for it in said[-FALLBACK_HISTORY:]:
            assert it.type == "message"
            ctx.add_message(role=it.role, content=it.text_content or "")
        return ctx

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        step = self._decide(chat_ctx, tools or [], tool_choice)
        if isinstance(step, Defer):
            inner = self._fallback.chat(
                chat_ctx=self.fallback_context(chat_ctx), conn_options=conn_options
            )
            return _SpokenStream(
                self, inner, chat_ctx=chat_ctx, tools=tools or [], conn=conn_options
            )
        return _ScriptedStream(self, step, chat_ctx=chat_ctx, tools=tools or [], conn=conn_options)

    def _decide(
        self, chat_ctx: llm.ChatContext, tools: list[Tool], tool_choice: NotGivenOr[ToolChoice]
    ) -> Call | Say | Defer:
        names = {
            t.info.name for t in tools if isinstance(t, (llm.FunctionTool, llm.RawFunctionTool))
        }
        items = chat_ctx.items
        last = items[-1] if items else None
        if last is None:
            return Defer("empty context")
        if last.type == "message" and last.role == "user":
            self._issued.clear()
            step = self.policy.on_caller(understand(last.text_content or ""), names)
        elif last.type == "function_call_output" and last.call_id in self._issued:
            outputs = {
                it.call_id: (it.name, parse_output(it.output), it.is_error)
                for it in items
                if it.type == "function_call_output" and it.call_id in self._issued
            }
            results = [outputs[cid] for cid in self._issued if cid in outputs]
            self._issued.clear()
            step = self.policy.on_results(results)
        else:
            return Defer("not the policy's turn")
        if isinstance(step, Call):
            if tool_choice == "none" or any(c.name not in names for c in step.calls):
                return Defer("tools unavailable for this step")
            return step
        return step

    def issue(self, call: Call) -> list[llm.FunctionToolCall]:
        out = []
        for c in call.calls:
            call_id = f"call_{utils.shortuuid()}"
            self._issued[call_id] = c.name
            out.append(
                llm.FunctionToolCall(
                    name=c.name, arguments=json.dumps(c.arguments), call_id=call_id
                )
            )
        return out


class _ScriptedStream(llm.LLMStream):
    """One step of the policy as a stream: tool calls, or the reply's text."""

    def __init__(
        self,
        owner: GuidedLLM,
        step: Call | Say,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool],
        conn: APIConnectOptions,
    ) -> None:
        super().__init__(owner, chat_ctx=chat_ctx, tools=tools, conn_options=conn)
        self._owner = owner
        self._step = step

    async def _run(self) -> None:
        rid = utils.shortuuid("guided_")
        if isinstance(self._step, Call):
            delta = llm.ChoiceDelta(role="assistant", tool_calls=self._owner.issue(self._step))
        else:
            delta = llm.ChoiceDelta(role="assistant", content=self._step.text)
        self._event_ch.send_nowait(llm.ChatChunk(id=rid, delta=delta))


class _SpokenStream(llm.LLMStream):
    """The fallback model's reply, made speakable: symbols and emoji dropped, at most
    `MAX_SENTENCES` sentences (the model's stream is closed after that, which stops it)."""

    def __init__(
        self,
        owner: GuidedLLM,
        inner: llm.LLMStream,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool],
        conn: APIConnectOptions,
    ) -> None:
        super().__init__(owner, chat_ctx=chat_ctx, tools=tools, conn_options=conn)
        self._inner = inner

    async def _run(self) -> None:
        sentences = 0
        async with self._inner as inner:
            async for chunk in inner:
                delta = chunk.delta
                if delta is None or not delta.content:
                    self._event_ch.send_nowait(chunk)
                    continue
                text = _NOT_SPOKEN.sub("", delta.content)
                cut = None
                for m in re.finditer(r"[.!?](\s|$)", text):
                    sentences += 1
                    if sentences >= MAX_SENTENCES:
                        cut = m.end()
                        break
                text = text if cut is None else text[:cut]
                if text:
                    self._event_ch.send_nowait(
                        llm.ChatChunk(
                            id=chunk.id, delta=llm.ChoiceDelta(role="assistant", content=text)
                        )
                    )
                if cut is not None:
                    return
