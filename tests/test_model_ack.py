"""A turn the offline brain's fallback model answers is acknowledged when the model is slow.

`GuidedLLM` says `ACK_LINE` ("Hmm,") when the fallback has written nothing speakable
`ack_delay` seconds into its turn; the answer follows in the same reply, still through the
grounding check. Ordering, not timing: the slow fallback below writes nothing until the
agent's first audio frame exists, so without the acknowledgement the turn would have no
audio at all and the model would give up waiting (the recorded order of events would be
reversed). Through a bare agent and through the call's own agent with its guardrail gate,
with the local TTS the factory builds (Piper, the phrase tokenizer, the warmed phrase).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from livekit.agents import AgentSession, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions
from livekit.agents.utils import shortuuid

from agents.brain.factories import LLM_FACTORIES, TTS_FACTORIES
from agents.brain.guided import GuidedLLM
from agents.brain.guided.grounding import ASK_AGAIN
from agents.brain.guided.llm import ACK_DELAY, ACK_LINE, SAY_AGAIN
from agents.config import ConfigError, Settings
from tests.test_first_phrase import _agent, _FirstFrame
from tests.test_first_phrase import _Ordered as _Events

WAIT_S = 30.0
"""Only a bound on a wait that a working pipeline ends at once (a broken one would hang)."""


class _ScriptedFallback(llm.LLM):
    """Writes `reply`: at once, or (`after_audio`) only once the agent's first audio exists."""

    def __init__(
        self, events: _Events, reply: str, *, after_audio: bool, wait_s: float = WAIT_S
    ) -> None:
        super().__init__()
        self.events, self.reply, self.after_audio = events, reply, after_audio
        self.wait_s = wait_s

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
        return _ScriptedStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )


class _ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        model: _ScriptedFallback = self._llm  # type: ignore[assignment]
        if model.after_audio:
            try:
                await asyncio.wait_for(model.events.first_audio.wait(), timeout=model.wait_s)
            except asyncio.TimeoutError:
                model.events.events.append("model: gave up waiting for audio")
        model.events.events.append("model: writes")
        rid = shortuuid("fallback_")
        for piece in re.findall(r"\S+\s*", model.reply):
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", content=piece))
            )


async def _turn(guided: GuidedLLM, events: _Events, kind: str, said: str) -> str:
    voice = TTS_FACTORIES["local"](Settings())
    voice.prewarm()
    session: AgentSession = AgentSession(llm=guided, tts=voice)
    session.output.audio = _FirstFrame(events, voice.sample_rate)
    await session.start(_agent(kind))
    try:
        await asyncio.wait_for(session.run(user_input=said), timeout=WAIT_S * 2)
    finally:
        await session.aclose()
    replies = [
        m.text_content or ""
        for m in session.history.items
        if m.type == "message" and m.role == "assistant"
    ]
    assert len(replies) == 1, replies
    return replies[0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bare", "call agent with the guardrail gate"])
async def test_a_slow_model_turn_is_acknowledged_and_then_answered(kind: str) -> None:
    events = _Events()
    model = _ScriptedFallback(events, "We close at six tonight.", after_audio=True)
    guided = GuidedLLM(model)
    reply = await _turn(guided, events, kind, "What time do you close tonight?")
    assert events.events[:2] == ["agent: first audio", "model: writes"], events.events
    assert reply == "Hmm, we close at six tonight.", reply
    timing = guided.model_timings[-1]
    assert timing.ack is not None and timing.words is not None
    assert timing.start + ACK_DELAY <= timing.ack + 0.01 and timing.ack <= timing.words


@pytest.mark.slow
async def test_a_claim_after_the_acknowledgement_is_still_replaced() -> None:
    events = _Events()
    model = _ScriptedFallback(events, "Got it, I added a latte for you.", after_audio=True)
    reply = await _turn(GuidedLLM(model), events, "bare", "How is your day going?")
    assert reply == f"{ACK_LINE}{ASK_AGAIN[0].lower()}{ASK_AGAIN[1:]}", reply


@pytest.mark.slow
async def test_an_acknowledgement_is_never_left_without_an_answer() -> None:
    events = _Events()
    model = _ScriptedFallback(events, "\U0001f600 **", after_audio=True)  # nothing speakable
    reply = await _turn(GuidedLLM(model), events, "bare", "How is your day going?")
    assert reply == f"{ACK_LINE}{SAY_AGAIN[0].lower()}{SAY_AGAIN[1:]}", reply


@pytest.mark.slow
async def test_a_model_that_answers_at_once_is_not_acknowledged() -> None:
    events = _Events()
    model = _ScriptedFallback(events, "Pretty good, thanks for asking.", after_audio=False)
    guided = GuidedLLM(model, ack_delay=2.0)  # far beyond a reply already written
    reply = await _turn(guided, events, "bare", "How is your day going?")
    assert events.events[:2] == ["model: writes", "agent: first audio"], events.events
    assert reply == "Pretty good, thanks for asking.", reply
    assert guided.model_timings[-1].ack is None


@pytest.mark.slow
async def test_with_the_acknowledgement_off_nothing_is_said_before_the_model_writes() -> None:
    events = _Events()
    # the model waits for audio that only its own words can make, then gives up and writes
    model = _ScriptedFallback(events, "We close at six.", after_audio=True, wait_s=1.5)
    guided = GuidedLLM(model, ack_delay=None)
    reply = await _turn(guided, events, "bare", "What time do you close?")
    assert events.events[:3] == [
        "model: gave up waiting for audio",
        "model: writes",
        "agent: first audio",
    ], events.events
    assert reply == "We close at six.", reply
    assert guided.model_timings[-1].ack is None


def test_the_policy_s_own_replies_are_never_acknowledged() -> None:
    async def run() -> str:
        events = _Events()
        model = _ScriptedFallback(events, "unused", after_audio=False)
        guided = GuidedLLM(model, ack_delay=0.0)
        ctx = llm.ChatContext.empty()
        ctx.add_message(role="user", content="That's all.")  # nothing ordered: a policy line

        async def never_called() -> str:
            raise AssertionError("the policy's reply needs no tool")

        names = ("get_menu_items", "add_order_item", "get_order_details", "finish_order")
        tools: list[llm.Tool] = [llm.function_tool(never_called, name=n) for n in names]
        text = ""
        async with guided.chat(chat_ctx=ctx, tools=tools) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    text += chunk.delta.content
        assert guided.model_timings == []
        return text

    text = asyncio.run(run())
    assert text == "You haven't ordered anything yet. What can I get you?", text


@pytest.mark.parametrize(
    ("value", "expected"), [(None, ACK_DELAY), ("0.5", 0.5), ("0", 0.0), (" OFF ", None)]
)
def test_the_worker_s_setting_reaches_the_guided_brain(
    value: str | None, expected: float | None
) -> None:
    env = {} if value is None else {"LOCAL_MODEL_ACK_DELAY": value}
    settings = Settings.from_env(env)
    assert settings.local_model_ack_delay == expected
    guided = LLM_FACTORIES["local"](settings)
    assert isinstance(guided, GuidedLLM) and guided.ack_delay == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "LOCAL_MODEL_ACK_DELAY='soon' is not a number"),
        ("-1", "LOCAL_MODEL_ACK_DELAY='-1' must not be negative"),
    ],
)
def test_a_bad_setting_is_named(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env({"LOCAL_MODEL_ACK_DELAY": value})
    with pytest.raises(ValueError, match="ack_delay"):
        GuidedLLM(_ScriptedFallback(_Events(), "", after_audio=False), ack_delay=-0.1)
