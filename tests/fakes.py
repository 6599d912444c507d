"""Test doubles for livekit-agents: a scripted LLM.

livekit-agents 1.8.9 ships no fake LLM, so `FakeLLM` is a minimal `llm.LLM` whose `chat()`
replays a script: each step is either a text reply (`str`), a list of tool calls
(`ToolCalls`), or a callable taking the chat context and returning one of those (for
replies that depend on earlier tool outputs). When the script runs out it answers with
`default_reply`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions
from livekit.agents.utils import shortuuid


@dataclass
class Call:
    """One scripted tool call."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    call_id: str = ""


ToolCalls = list[Call]
Step = str | ToolCalls | Callable[[llm.ChatContext], "str | ToolCalls"]


class FakeLLM(llm.LLM):
    def __init__(
        self,
        script: Sequence[Step] = (),
        *,
        default_reply: str = "Okay.",
        delay: float = 0.0,
    ) -> None:
        super().__init__()
        self._script: list[Step] = list(script)
        self.default_reply = default_reply
        self.delay = delay
        self.requests: list[llm.ChatContext] = []
        self.tools_seen: list[list[str]] = []

    @property
    def model(self) -> str:
        return "fake-scripted"

    @property
    def provider(self) -> str:
        return "tests"

    def push(self, *steps: Step) -> None:
        self._script.extend(steps)

    @property
    def remaining(self) -> int:
        return len(self._script)

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: Any = NOT_GIVEN,
        tool_choice: Any = NOT_GIVEN,
        extra_kwargs: Any = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.requests.append(chat_ctx.copy())
        self.tools_seen.append([getattr(t, "id", str(t)) for t in tools or []])
        step: Step = self._script.pop(0) if self._script else self.default_reply
        if callable(step):
            step = step(chat_ctx)
        return _FakeStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options, step=step
        )


class _FakeStream(llm.LLMStream):
    def __init__(
        self,
        fake: FakeLLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
        step: str | ToolCalls,
    ) -> None:
        super().__init__(fake, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._step = step
        self._fake = fake

    async def _run(self) -> None:
        if self._fake.delay:
            await asyncio.sleep(self._fake.delay)
        rid = shortuuid("fake_")
        if isinstance(self._step, str):
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", content=self._step))
            )
            return
        calls = [
            llm.FunctionToolCall(
                name=c.name,
                arguments=json.dumps(c.arguments),
                call_id=c.call_id or shortuuid("call_"),
            )
            for c in self._step
        ]
        self._event_ch.send_nowait(
            llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", tool_calls=calls))
        )
