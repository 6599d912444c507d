"""A model-answered turn of the offline brain speaks before its first sentence is written.

The guided brain hands a turn its policy does not understand to the fallback model; the TTS
the local brain's factory builds (Piper behind `piper.PhraseTokenizer`) starts on the reply's
first short phrase. A scripted fallback writes "Well, it depends" and then waits: it writes
the rest of its first sentence only once the agent's first audio frame exists. Ordering, not
timing: with a sentence tokenizer the first audio would wait for a sentence that is never
written, and the order of events below would be reversed. The same holds through the call's
own agent, whose guardrail gate (`CallGuard.gate_tts`) hands a number-free phrase on at its
comma instead of holding it until the sentence ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions
from livekit.agents.utils import shortuuid

from agents.brain.factories import TTS_FACTORIES
from agents.brain.guided import GuidedLLM
from agents.brain.profiles import PROFILES
from agents.coffee_agent import CoffeeAgent
from agents.config import Settings
from agents.side_channel import CallGuard, default_guardrails
from evals.replay.io import RealtimeAudioOutput

WAIT_S = 60.0
"""Only a bound on a wait that a working pipeline ends at once (a broken one would hang)."""


class _Ordered:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.first_audio = asyncio.Event()


class _HeldBackLLM(llm.LLM):
    """Writes the first phrase, then the rest of the sentence only after the first audio."""

    def __init__(self, order: _Ordered) -> None:
        super().__init__()
        self.order = order

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
        return _HeldBackStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )


class _HeldBackStream(llm.LLMStream):
    async def _run(self) -> None:
        order = self._llm.order  # type: ignore[attr-defined]
        rid = shortuuid("held_")

        def send(text: str) -> None:
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", content=text))
            )

        for piece in ("Well", ",", " it", " depends"):
            send(piece)
        order.events.append("model: first phrase written")
        try:
            await asyncio.wait_for(order.first_audio.wait(), timeout=WAIT_S)
        except asyncio.TimeoutError:
            order.events.append("model: gave up waiting for audio")
        order.events.append("model: first sentence complete")
        for piece in (" on", " the", " time", " of", " day", ".", " Anything", " else", "?"):
            send(piece)


class _FirstFrame(RealtimeAudioOutput):
    def __init__(self, order: _Ordered, sample_rate: int) -> None:
        super().__init__(sample_rate=sample_rate)
        self.order = order

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if not self.order.first_audio.is_set():
            self.order.events.append("agent: first audio")
            self.order.first_audio.set()
        await super().capture_frame(frame)


def _agent(kind: str) -> Agent:
    if kind == "bare":
        return Agent(instructions="You answer the phone at a coffee bar.")
    # the call's agent (agents.call.open_call) with its guardrail gate before the TTS
    guard = CallGuard(default_guardrails())
    return CoffeeAgent(profile=PROFILES["local"], tools=[], greet=False, guard=guard)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bare", "call agent with the guardrail gate"])
async def test_the_fallback_speaks_before_its_first_sentence_is_written(kind: str) -> None:
    order = _Ordered()
    voice = TTS_FACTORIES["local"](Settings())
    session: AgentSession = AgentSession(llm=GuidedLLM(_HeldBackLLM(order)), tts=voice)
    session.output.audio = _FirstFrame(order, voice.sample_rate)
    await session.start(_agent(kind))
    try:
        await asyncio.wait_for(
            session.run(user_input="Is it busy in the shop today?"), timeout=WAIT_S * 2
        )
    finally:
        await session.aclose()
    assert order.events[:3] == [
        "model: first phrase written",
        "agent: first audio",
        "model: first sentence complete",
    ], order.events
    said = [m.text_content for m in session.history.items if m.type == "message"]
    assert any("depends on the time of day" in (t or "") for t in said), said
