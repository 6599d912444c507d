"""Numbers on a phone call: spoken digit strings become one number (`normalize_digits`, and
the STT wrapper that applies it), and keypad entries ended with # reach the agent as the
caller's turn (an order number typed on the phone) unless a get_dtmf_digits call is
collecting them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    Agent,
    AgentSession,
    APIConnectOptions,
    RunResult,
    stt,
)
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from agents.phone_digits import PhoneDigitsSTT, normalize_digits
from evals.stt_phone_bench import digits_in, score_words, wer_counts
from tests.fakes import Call, FakeLLM
from tools import DtmfBuffer, ToolRuntime, ToolRuntimeOptions, build_call_control_tools


@pytest.mark.parametrize(
    ("heard", "agent_reads"),
    [
        ("Prescription number six three zero four four one two.", "Prescription number 6304412."),
        ("My order is 630-4412, thanks", "My order is 6304412, thanks"),
        ("Call 5 5 5, 0 1 2 3 please", "Call 5550123 please"),
        ("Can you check order six, six, two, eight, zero?", "Can you check order 66280?"),
        ("nine double zero one", "9001"),
        ("three oh seven two", "3072"),
        ("Order number 1-2-3-4-5, please.", "Order number 12345, please."),
        # not number strings: left alone
        ("two lattes and one mocha", "two lattes and one mocha"),
        ("oh, two lattes", "oh, two lattes"),
        ("one, two", "one, two"),
        ("I want 2 lattes", "I want 2 lattes"),
        ("order 41552", "order 41552"),
        ("ten of clubs", "ten of clubs"),
    ],
)
def test_normalize_digits(heard: str, agent_reads: str) -> None:
    assert normalize_digits(heard) == agent_reads


def test_bench_scoring_counts_hearing_not_writing_style() -> None:
    assert score_words("Order 6304, please!") == score_words("order six three zero four please")
    assert score_words("Go forward 10 meters") == ["go", "forward", "ten", "meters"]
    assert wer_counts(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert digits_in("call 555-0198") == "5550198"


class _ScriptedSTT(stt.STT):
    """An STT that hears a fixed sentence (the wrapper under test is what matters)."""

    def __init__(self, text: str) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.text = text

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode("en"), text=self.text)],
        )


async def test_phone_digits_stt_normalises_final_transcripts() -> None:
    inner = _ScriptedSTT("my order number is four one five five two")
    wrapped = PhoneDigitsSTT(inner)
    assert wrapped.capabilities == inner.capabilities
    frame = rtc.AudioFrame(np.zeros(1600, np.int16).tobytes(), 16000, 1, 1600)
    event = await wrapped.recognize(buffer=frame)
    assert event.alternatives[0].text == "my order number is 41552"


def _texts(session: AgentSession, role: str) -> list[str | None]:
    return [i.text_content for i in session.history.items if i.type == "message" and i.role == role]


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _rt() -> ToolRuntime:
    return ToolRuntime(ToolRuntimeOptions(filler_phrases=()))


async def test_a_keypad_entry_becomes_the_callers_turn() -> None:
    room: rtc.EventEmitter[str] = rtc.EventEmitter()
    keypad = DtmfBuffer().attach(room)  # type: ignore[arg-type]
    fake = FakeLLM(["Thanks, I found order 6304412."])
    async with AgentSession(llm=fake) as session:
        keypad.deliver_entries(session)
        await session.start(Agent(instructions="t"))
        for d in "6304412#":
            room.emit("sip_dtmf_received", rtc.SipDTMF(code=0, digit=d))
        await _until(lambda: bool(_texts(session, "assistant")))
        assert _texts(session, "user") == ["6304412"]
        assert _texts(session, "assistant") == ["Thanks, I found order 6304412."]
    assert keypad.peek() == ""


async def test_while_get_dtmf_digits_collects_the_entry_goes_to_the_tool() -> None:
    room: rtc.EventEmitter[str] = rtc.EventEmitter()
    keypad = DtmfBuffer().attach(room)  # type: ignore[arg-type]
    fake = FakeLLM([[Call("get_dtmf_digits", {"max_digits": 10})], "Order 28740, got it."])
    async with AgentSession(llm=fake) as session:
        keypad.deliver_entries(session)
        await session.start(
            Agent(instructions="t", tools=[*build_call_control_tools(_rt(), dtmf=keypad)])
        )

        async def typing() -> None:
            await asyncio.sleep(0.3)
            for d in "28740#":
                room.emit("sip_dtmf_received", rtc.SipDTMF(code=0, digit=d))

        task = asyncio.create_task(typing())
        r: RunResult[None] = await session.run(user_input="I'll type my order number")
        await task
        r.expect.next_event().is_function_call(name="get_dtmf_digits")
        out = r.expect.next_event().is_function_call_output().event().item
        assert '"28740"' in out.output
        users = [
            i.text_content
            for i in session.history.items
            if i.type == "message" and i.role == "user"
        ]
        assert users == ["I'll type my order number"]  # no extra turn from the keypad


def test_the_telephony_variant_hears_numbers_as_numbers() -> None:
    from livekit.plugins import fasterwhisper

    from agents.brain.factories import _local_stt
    from agents.config import Settings

    phone = _local_stt(Settings(), True)
    assert isinstance(phone, PhoneDigitsSTT)
    assert isinstance(phone.inner, fasterwhisper.STT)
    wideband = _local_stt(Settings(), False)
    assert not isinstance(wideband, PhoneDigitsSTT)
    assert isinstance(getattr(wideband, "inner", wideband), fasterwhisper.STT)
