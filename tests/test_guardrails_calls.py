"""Guardrails on real calls, through the real provider plugins (loopback servers):

- cascade: the LLM's answer carries a card number; the sentence is screened on its way to
  the TTS, so the Cartesia server never receives the number, and neither the session's
  history nor the call record holds it;
- native: the realtime model speaks a card number with its own voice (audio before text);
  the finding is recorded as after the fact, the transcript and record are masked, and the
  agent is made to correct itself (a new response asked of the model).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from agents.brain import choose_brain
from agents.config import Settings
from agents.side_channel import transcript_items
from evals.replay import replay_call
from evals.replay.recording import Recording, load_recording
from tests.loopback import CartesiaServer, DeepgramServer, OpenAIChatServer, OpenAIRealtimeServer
from tests.loopback.suite import cascade_settings

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "samples" / "coffee_call.json").read_text())
CALLER_TEXT = "Hi, I'd like a large mocha, please."
CARD = "4111 1111 1111 1111"
CARD_DIGITS = re.compile(r"4111\D{0,3}1111\D{0,3}1111\D{0,3}1111")


@pytest.fixture(scope="module")
def first_turn() -> Recording:
    rec = load_recording(ROOT / "samples" / "coffee_call.wav")
    end = MANIFEST["caller_turns"][0]["end"]
    # the caller's first line, then 5 s of silence: room for the answer on a busy machine
    pcm = np.concatenate(
        [rec.pcm[: int(end * rec.sample_rate)], np.zeros(5 * rec.sample_rate, rec.pcm.dtype)]
    )
    return dataclasses.replace(rec, pcm=pcm)


def _record_dir(root: Path) -> Path:
    dirs = [d for d in root.iterdir() if d.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def _events(d: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (d / "events.jsonl").read_text().splitlines()]


def _all_text(d: Path) -> str:
    return "\n".join(p.read_text() for p in d.iterdir() if p.suffix in (".jsonl", ".json"))


def _holds_card(text: str) -> bool:
    """The card's digits, whole or in the two halves the split answer reads out."""
    return bool(CARD_DIGITS.search(text)) or "4111 1111" in text or "1111 1111" in text


@pytest.mark.slow
@pytest.mark.parametrize(
    "answer",
    [
        f"Sure. The card on file is {CARD}, is that right? Your mocha is coming.",
        # one card number read over two sentences: held and screened together
        "Sure. The card on file is 4111 1111. And then 1111 1111. Is that right? "
        "Your mocha is coming.",
    ],
    ids=["one-sentence", "two-sentences"],
)
async def test_cascade_never_speaks_or_records_a_card_number(
    first_turn: Recording, tmp_path: Path, answer: str
) -> None:
    def llm_script(request: dict[str, Any]) -> str:
        if not any(m["role"] == "user" for m in request["messages"]):
            return "Hello!"
        return answer

    async with (
        DeepgramServer([CALLER_TEXT]) as dg,
        OpenAIChatServer(llm_script) as oa,
        CartesiaServer(seconds_per_char=0.02) as ca,
    ):
        settings = cascade_settings(
            dg,
            oa,
            ca,
            orders_db=str(tmp_path / "orders.sqlite"),
            call_records_dir=str(tmp_path / "calls"),
        )
        call, t0 = await replay_call(
            settings, choose_brain(settings), first_turn, ogg_path=tmp_path / "call.ogg"
        )
    spoken = " ".join(ca.transcripts)
    assert "ending in 1 1 1 1" in spoken, ca.transcripts  # the answer was spoken, masked
    assert "mocha is coming" in spoken
    assert not _holds_card(spoken), ca.transcripts
    sent = json.dumps(ca.requests)
    assert not _holds_card(sent)  # no TTS request ever carried it
    rows = transcript_items(call.session.history, t0)
    answers = [r["text"] for r in rows if r["role"] == "assistant"]
    assert any("ending in 1 1 1 1" in a for a in answers), answers
    assert not _holds_card(json.dumps(rows))

    d = _record_dir(tmp_path / "calls")
    assert not _holds_card(_all_text(d))
    record_rows = [json.loads(x) for x in (d / "transcript.jsonl").read_text().splitlines()]
    assert any("ending in 1 1 1 1" in r["text"] for r in record_rows if r["role"] == "assistant")
    findings = [e for e in _events(d) if e["kind"] == "guardrail"]
    assert findings and findings[0]["finding"] == "card", findings
    assert findings[0]["placement"] == "before_speech"
    assert findings[0]["detail"] == "[card ending 1111]"
    with av.open(str(d / "call.ogg")) as ogg:  # caller left, agent right
        assert ogg.streams.audio[0].codec_context.channels == 2
    meta = json.loads((d / "meta.json").read_text())
    assert meta["brain"] == "cascade" and meta["end_reason"] == "recording_ended"


@pytest.mark.slow
async def test_native_finding_is_recorded_after_the_fact_and_corrected(
    first_turn: Recording, tmp_path: Path
) -> None:
    def script(request: dict[str, Any]) -> str:
        instructions = (request.get("response") or {}).get("instructions") or ""
        if "personal number" in instructions:
            return "Sorry, I should not read that out. I will only use the last four digits."
        if not any(i.get("role") == "user" for i in request["items"]):
            return "Hi, thanks for calling the coffee shop."
        return f"Your card is {CARD}. A large mocha, coming up."

    async with OpenAIRealtimeServer(script, user_transcripts=[CALLER_TEXT]) as rt:
        settings = Settings(
            brain="native", openai_api_key="test", openai_base_url=rt.base_url,
            orders_db=str(tmp_path / "orders.sqlite"),
            call_records_dir=str(tmp_path / "calls"),
        )  # fmt: skip
        call, t0 = await replay_call(
            settings, choose_brain(settings), first_turn, ogg_path=tmp_path / "call.ogg"
        )
    assert call.guard is not None and call.guard.corrections == 1
    corrections = [
        r for r in rt.responses if "personal number" in (r["request"].get("instructions") or "")
    ]
    assert corrections, [r["request"] for r in rt.responses]
    rows = transcript_items(call.session.history, t0)
    assert not CARD_DIGITS.search(json.dumps(rows)), rows
    assert any("last four digits" in r["text"] for r in rows if r["role"] == "assistant"), rows

    d = _record_dir(tmp_path / "calls")
    assert not CARD_DIGITS.search(_all_text(d))
    events = _events(d)
    findings = [e for e in events if e["kind"] == "guardrail"]
    assert findings and findings[0]["placement"] == "after_the_fact", findings
    assert [e for e in events if e["kind"] == "guardrail_correction"]


@pytest.mark.slow
async def test_slow_llm_judge_acts_after_the_fact(first_turn: Recording, tmp_path: Path) -> None:
    """GUARDRAIL_JUDGE: a text LLM judges each finished reply off the audio path. The reply
    it flags was already spoken (it stays in the transcript); the finding is recorded as
    after the fact and the agent corrects itself in its next words."""
    judged: list[str] = []

    def script(request: dict[str, Any]) -> str:
        messages = request["messages"]
        system = " ".join(
            str(m["content"]) for m in messages if m["role"] in ("system", "developer")
        )
        if "You review one reply" in system:
            reply = str(messages[-1]["content"])
            judged.append(reply)
            return "VIOLATION: promises free items" if "free" in reply else "OK"
        if "broke the shop's policy" in system:
            return "Sorry, I misspoke: a large mocha is four fifty."
        if not any(m["role"] == "user" for m in messages):
            return "Hello!"
        return "Great news, your mocha is free today."

    async with (
        DeepgramServer([CALLER_TEXT]) as dg,
        OpenAIChatServer(script) as oa,
        CartesiaServer(seconds_per_char=0.02) as ca,
    ):
        settings = cascade_settings(
            dg,
            oa,
            ca,
            orders_db=str(tmp_path / "orders.sqlite"),
            call_records_dir=str(tmp_path / "calls"),
            guardrail_judge="promise a discount or free items",
        )
        call, t0 = await replay_call(
            settings, choose_brain(settings), first_turn, ogg_path=tmp_path / "call.ogg"
        )
    assert any("free today" in j for j in judged), judged
    spoken = " ".join(ca.transcripts)
    assert "free today" in spoken  # the judge never gated audio: it was said
    assert "I misspoke" in spoken  # and then corrected
    answers = [
        r["text"] for r in transcript_items(call.session.history, t0) if r["role"] == "assistant"
    ]
    free = next(i for i, a in enumerate(answers) if "free today" in a)
    assert any("I misspoke" in a for a in answers[free + 1 :]), answers
    events = _events(_record_dir(tmp_path / "calls"))
    (finding,) = [e for e in events if e["kind"] == "guardrail"]
    assert finding["guardrail"] == "llm_judge" and finding["placement"] == "after_the_fact"
    assert finding["detail"] == "promises free items"
    assert [e for e in events if e["kind"] == "guardrail_correction"]
