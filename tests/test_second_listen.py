"""The wideband leg's second listen (`agents.brain.second_listen`): Whisper base hears again
only the turns whose tiny.en words the ordering policy cannot place, and its words are used
only when they place."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, llm, stt
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer
from livekit.agents.voice.events import ConversationItemAddedEvent

from agents.brain.factories import _local_stt
from agents.brain.guided.understanding import heard_doubtfully
from agents.brain.model_files import LOCAL_STT_DIR, installed_model
from agents.brain.second_listen import SecondListenSTT
from agents.config import ConfigError, Settings
from tests.test_telephony_digits import _ScriptedSTT

FRAME = rtc.AudioFrame(np.zeros(1600, np.int16).tobytes(), 16000, 1, 1600)


class _CountingSTT(_ScriptedSTT):
    def __init__(self, text: str, *, fail: bool = False) -> None:
        super().__init__(text)
        self.fail = fail
        self.calls = 0
        self.closed = False
        self.items: list[str] = []

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        self.calls += 1
        if self.fail:
            raise RuntimeError("model file unreadable")
        return await super()._recognize_impl(buffer, language=language, conn_options=conn_options)

    def _push_conversation_item(self, ev: ConversationItemAddedEvent) -> None:
        self.items.append(ev.item.text_content or "")  # type: ignore[union-attr]

    async def aclose(self) -> None:
        self.closed = True


async def _heard(first: str, second: str) -> tuple[str, int]:
    one, two = _CountingSTT(first), _CountingSTT(second)
    engine = SecondListenSTT(one, two, heard_doubtfully)
    event = await engine.recognize(buffer=FRAME)
    return event.alternatives[0].text, two.calls


@pytest.mark.parametrize(
    ("line", "doubtful"),
    [
        ("A latte with oat milk, please.", False),
        ("Yes.", False),
        ("That's everything.", False),
        ("Is this the plumber? My sink is leaking.", False),  # off topic: placed
        ("How much is a cortado?", False),
        ("", False),  # silence: nothing to hear again
        ("Hello, could I get a free coat in my red tea?", True),  # a drink we do not have
        ("How much in the Clortado?", True),  # a near miss
        ("Wild milk, stir your palm.", True),  # nothing understood
        ("Hello, can I get a free coat in my rear seat?", True),  # an order, no drink caught
    ],
)
def test_words_the_policy_cannot_place_are_doubtful(line: str, doubtful: bool) -> None:
    assert heard_doubtfully(line) is doubtful


async def test_placed_words_are_never_heard_twice() -> None:
    assert await _heard("A latte, please.", "A lot, please.") == ("A latte, please.", 0)


async def test_doubtful_words_are_replaced_by_a_second_listen_that_places() -> None:
    text, calls = await _heard(
        "Can I get a free coat in my red tea?", "Can I get a three cultivar red tea?"
    )
    assert (text, calls) == ("Can I get a three cultivar red tea?", 1)


async def test_a_second_listen_that_does_not_place_leaves_the_first_words() -> None:
    text, calls = await _heard("How much in the Clortado?", "Wild milk, stir your palm.")
    assert (text, calls) == ("How much in the Clortado?", 1)


async def test_a_second_listen_that_fails_leaves_the_first_words() -> None:
    engine = SecondListenSTT(
        _CountingSTT("How much in the Clortado?"), _CountingSTT("", fail=True), heard_doubtfully
    )
    no_retry = APIConnectOptions(max_retry=0)
    event = await engine.recognize(buffer=FRAME, conn_options=no_retry)
    assert event.alternatives[0].text == "How much in the Clortado?"
    assert (engine.listens, engine.replaced) == (1, 0)


async def test_both_ears_get_the_conversation_and_are_closed() -> None:
    one, two = _CountingSTT("Yes."), _CountingSTT("Yes.")
    engine = SecondListenSTT(one, two, heard_doubtfully)
    item = llm.ChatMessage(role="assistant", content=["Which milk would you like?"])
    engine._push_conversation_item(ConversationItemAddedEvent(item=item))
    assert one.items == two.items == ["Which milk would you like?"]
    await engine.aclose()
    assert one.closed and two.closed


def test_the_second_listen_is_a_setting_and_needs_base() -> None:
    assert Settings.from_env({}).local_stt_second_listen == "base"
    with pytest.raises(ConfigError, match="LOCAL_STT_SECOND_LISTEN"):
        Settings.from_env({"LOCAL_STT_SECOND_LISTEN": "small"})
    off = Settings.from_env({"LOCAL_STT_SECOND_LISTEN": "off"})
    assert not isinstance(_local_stt(off, telephony=False), SecondListenSTT)
    # never on the phone leg (its first Whisper is base already)
    assert not isinstance(_local_stt(Settings(), telephony=True), SecondListenSTT)
    missing = dataclasses.replace(Settings(), models_dir="/nonexistent")
    assert not isinstance(_local_stt(missing, telephony=False), SecondListenSTT)


@pytest.mark.slow
async def test_the_wideband_leg_hears_a_drink_tiny_en_writes_as_other_words() -> None:
    """A caller in flite's kal16, slowed (`@0.8`): tiny.en writes "A mocha with lactose free
    milk" as "The milk with Lattos Free Milk"; the wideband leg the brain's factory builds
    hears the drink, through its second listen. (Until stop 41 this was blind12's "three
    cultivar red" as "a free coat in my red", which tiny.en hears right since the prompt
    became a sentence.)"""
    from evals.orders.voices import parse_voice, speech_for

    if installed_model(Settings().models_dir, LOCAL_STT_DIR) is None:
        pytest.fail("Whisper base is not installed: run scripts/bootstrap.sh")
    wideband = _local_stt(Settings(), telephony=False)
    assert isinstance(wideband, SecondListenSTT)
    line = "A mocha with lactose free milk, please."
    pcm = speech_for(line, parse_voice("flite:kal16@0.8"), 16000, noise_db=None,
                     rng=np.random.default_rng(0))  # fmt: skip
    pcm = np.concatenate([np.zeros(4000, np.int16), pcm, np.zeros(8000, np.int16)])
    frame = rtc.AudioFrame(pcm.tobytes(), 16000, 1, len(pcm))
    first = (await wideband.inner.recognize(buffer=frame)).alternatives[0].text
    assert heard_doubtfully(first), first  # tiny.en alone misses it
    heard = (await wideband.recognize(buffer=frame)).alternatives[0].text
    assert "mocha" in heard.lower() and "lactose" in heard.lower(), heard
    assert wideband.listens == wideband.replaced == 1


@pytest.mark.parametrize("bench", ["evals.second_listen", "evals.prompt_bench"])
@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--exclude", "blind99"], "unknown goal set(s): blind99"),
        (["--only", "tuned", "--exclude", "tuned"], "no goal set left to hear"),
    ],
)
def test_the_bench_refuses_goal_sets_it_cannot_hear(
    bench: str, argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both benches over goal lines (`second_listen`, `prompt_bench`) refuse a set that does
    not exist, and a choice that leaves none, with one line and exit 2."""
    import importlib

    main = importlib.import_module(bench).main
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert error in capsys.readouterr().err


@pytest.mark.slow
def test_the_bench_s_phone_mode_hears_phone_audio_with_base_then_tiny_en(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m evals.second_listen --phone`: goal lines through the SIP hop (8 kHz mu-law),
    the phone leg's Whisper base first and the candidate, tiny.en, as the second listen."""
    import evals.second_listen as bench

    if installed_model(Settings().models_dir, LOCAL_STT_DIR) is None:
        pytest.fail("Whisper base is not installed: run scripts/bootstrap.sh")
    real = bench.goal_lines
    seen: list[Any] = []

    def two_lines(sets: Any, phone: bool = False) -> list[Any]:
        lines = real(["blind14"], phone)[:2]
        seen.extend(lines)
        return lines

    monkeypatch.setattr(bench, "goal_lines", two_lines)
    assert bench.main(["--phone", "--only", "blind14"]) == 0
    out = capsys.readouterr().out
    assert "phone (8 kHz mu-law) leg: first base, second tiny.en" in out
    assert "| all | 2 |" in out
    # 8 kHz audio: a 16 kHz line would be twice as long for the same words
    assert all(len(line.audio) < 8000 * 6 for line in seen)
