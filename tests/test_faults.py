"""No provider failure leaves a caller in silence (issue 9), through the real plugins.

Every fault of the loopback doubles (HTTP 5xx, drop mid-stream, stall, malformed frame,
slow first byte) against every stage (Deepgram STT, OpenAI chat LLM, Cartesia TTS, OpenAI
Realtime), on a replayed call of two caller turns: each turn is answered by a reply of its own
(between it and the next turn; an apology is not an answer), by a fallback engine once the
fault has struck. Then the paths behind it: the
realtime -> cascade failover carries the conversation over; with no fallback engine, a
failed turn gets an apology and the next turn is answered; a call whose LLM stays down ends
cleanly and the replay still writes its outputs, errors in `summary.json`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from agents.brain import choose_brain
from agents.config import Settings
from agents.resilience.lines import APOLOGY, GOODBYE
from evals import faults
from evals.replay import run_replay
from tests.loopback import (
    FAULT_KINDS,
    CartesiaServer,
    DeepgramServer,
    Fail,
    Fault,
    OpenAIChatServer,
    OpenAIRealtimeServer,
    ToolCall,
    last_user_text,
)
from tests.loopback.suite import cascade_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_turns_long() -> Any:
    # five calls share two cores (and the box may be busy): a fallback engine may answer
    # late, so each turn gets 12 s before the next line (an answer after that is no answer)
    return faults.caller_recording(turns=2, tail=12.0, gap=12.0)


@pytest.fixture(scope="module")
def two_turns() -> Any:
    return faults.caller_recording(turns=2)


@pytest.mark.parametrize("stage", faults.STAGES)
async def test_every_fault_on_every_stage_gets_every_turn_answered(
    stage: str, two_turns_long: Any, tmp_path: Path
) -> None:
    # a stage's five faults run side by side (real time: one call's length for all five),
    # except the STT's: its fallback is Whisper on the CPU, five at once on two cores would
    # test the machine, not the fallback
    cases = [faults.run_case(stage, kind, two_turns_long, tmp_path) for kind in FAULT_KINDS]
    if stage == "stt":
        rows = [await case for case in cases]
    else:
        rows = await asyncio.gather(*cases)
    for row in rows:
        assert row.caller_turns == 2, row
        # both turns, each by a reply of its own: not an apology, not the other turn's reply
        assert (row.answered, row.apologised) == (2, 0), row
        # the fault was seen and acted on, and the fault stays from the first caller turn on:
        # the second turn's answer at least came from a fallback engine (a slow first byte
        # may just be waited out)
        if row.fault != "slow_first_byte":
            assert row.actions, row
            assert row.by_fallback >= 1, row


@pytest.mark.parametrize("brain", ["native", "hybrid"])
async def test_realtime_failover_keeps_the_conversation(
    brain: str, two_turns: Any, tmp_path: Path
) -> None:
    """The realtime model answers the first turn, then goes down (5xx): the cascade takes
    the call with the first turn in its context and answers the second."""
    fault = Fault("http_5xx", skip=2)  # the greeting and the first answer go through
    async with faults.providers("realtime", fault, realtime_brain=brain) as loopback:
        settings = dataclasses.replace(loopback.settings, orders_db=str(tmp_path / "o.sqlite"))
        chat = loopback.chat
        result = await run_replay(
            two_turns.recording, tmp_path / "out", settings, choose_brain(settings)
        )
    summary = result.summary
    assert summary["brain"] == brain
    assert summary["failover_to"].startswith("cascade"), summary
    assert [t["agent_start"] is not None for t in summary["turns"]] == [True, True], summary
    # the cascade's first request carries the first turn, said before the switch
    first = chat.requests[0]["messages"]
    said = " ".join(str(m.get("content")) for m in first)
    assert "mocha" in said.lower() and "Sure, a large mocha" in said, first
    # and answers the second turn
    assert any("cappuccino" in str(m.get("content")).lower() for m in first), first
    assert any(e["action"] == "failover" for e in summary["errors"]), summary["errors"]


async def test_without_a_fallback_a_failed_turn_is_apologised_for(
    two_turns: Any, tmp_path: Path
) -> None:
    """LOCAL_FALLBACK=off, the LLM fails every request about the first turn (a preemptive
    one included) and none after: the caller hears the apology, and the second turn is
    answered by the LLM."""

    def first_turn_fails(request: dict[str, Any]) -> Any:
        # (LiveKit sends an unanswered turn again with the next one: that request succeeds)
        if "cappuccino" not in last_user_text(request).lower():
            return Fail(500, "loopback outage for the first turn")
        return faults._chat_script(request)

    async with (
        DeepgramServer(list(faults.CALLER_LINES), min_silence_ms=faults.DG_SILENCE_MS) as dg,
        OpenAIChatServer(first_turn_fails) as oa,
        CartesiaServer(seconds_per_char=0.04) as ca,
    ):
        settings = _cascade(dg, oa, ca, tmp_path, local_fallback="off")
        result = await run_replay(
            two_turns.recording, tmp_path / "out", settings, choose_brain(settings)
        )
    said = [r["text"] for r in result.transcript if r["role"] == "assistant"]
    assert APOLOGY in said, said
    assert said[-1] == "Sure, that's on the menu. Anything else?", result.transcript
    # the first turn got the apology and no answer, the second an answer of its own
    turns = faults.answers(result.transcript, two_turns)
    assert [t.status for t in turns] == ["apologised", "answered"], turns
    assert APOLOGY in [t.strip() for t in ca.transcripts]  # spoken through the TTS, which works
    errors = result.summary["errors"]
    assert [e["action"] for e in errors if e["stage"] == "llm"] == ["apology"], errors
    assert result.summary["ended_by"] is None


async def test_a_dead_llm_ends_the_call_cleanly_and_replay_finishes(
    two_turns: Any, tmp_path: Path
) -> None:
    """No fallback and the LLM down for good, MAX_FAILED_TURNS=2: an apology, then the
    goodbye (pre-rendered: it plays whatever the TTS does), the call ends, and the replay
    returns with its three outputs and the errors in summary.json."""
    async with (
        DeepgramServer(list(faults.CALLER_LINES), min_silence_ms=faults.DG_SILENCE_MS) as dg,
        OpenAIChatServer(faults._chat_script, fault=Fault("http_5xx")) as oa,
        CartesiaServer(seconds_per_char=0.04) as ca,
    ):
        settings = _cascade(dg, oa, ca, tmp_path, local_fallback="off", max_failed_turns=2)
        out = tmp_path / "out"
        result = await asyncio.wait_for(
            run_replay(two_turns.recording, out, settings, choose_brain(settings)), 120
        )
    said = [r["text"] for r in result.transcript if r["role"] == "assistant"]
    assert said[-2:] == [APOLOGY, GOODBYE], said
    assert GOODBYE not in [t.strip() for t in ca.transcripts]  # it did not need the TTS
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ended_by"] == "errors"
    assert [e["action"] for e in summary["errors"] if e["action"] != "none"] == [
        "apology",
        "goodbye",
    ], summary["errors"]
    assert all((out / name).stat().st_size > 0 for name in ("transcript.jsonl", "call.ogg"))


def _cascade(
    dg: DeepgramServer, oa: OpenAIChatServer, ca: CartesiaServer, tmp: Path, **kw: Any
) -> Any:
    return cascade_settings(
        dg, oa, ca, orders_db=str(tmp / "orders.sqlite"), call_records_dir="off", **kw
    )


def test_the_cli_rejects_unknown_stages_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert faults.main(["--stages", "llm,telepathy"]) == 2
    assert "telepathy" in capsys.readouterr().err
    assert faults.main(["--faults", "meteor"]) == 2


async def test_a_failing_hybrid_reasoner_still_gets_the_caller_an_answer(
    two_turns: Any, tmp_path: Path
) -> None:
    """The hybrid's text reasoner is down (HTTP 500 on every request): `consult_expert`
    returns an error the realtime model can read, and the model answers the caller anyway;
    the call goes on (no failover: the realtime model itself is fine)."""
    seen: list[dict[str, Any]] = []

    def realtime(request: dict[str, Any]) -> Any:
        items = request["items"]
        if not any(i.get("role") == "user" for i in items):
            return "Hi, thanks for calling the coffee shop."
        if items[-1].get("type") == "function_call_output":
            seen.append(items[-1])
            return "I can't check that right now, but a latte is a safe choice."
        return ToolCall("consult_expert", {"question": "Which drink is like a mocha?"})

    async with (
        OpenAIRealtimeServer(realtime, user_transcripts=list(faults.CALLER_LINES)) as rt,
        OpenAIChatServer(lambda r: Fail(500, "reasoner down")) as oa,
    ):
        settings = Settings(
            brain="hybrid", openai_api_key="t",
            openai_realtime_base_url=rt.base_url, openai_base_url=oa.base_url,
            orders_db=str(tmp_path / "o.sqlite"), call_records_dir="off", filler_delay=0.5,
        )  # fmt: skip
        result = await run_replay(
            two_turns.recording, tmp_path / "out", settings, choose_brain(settings)
        )
    assert oa.requests, "the reasoner was asked"
    outputs = [r for r in result.transcript if r.get("type") == "function_call_output"]
    assert outputs and all(o["is_error"] for o in outputs), outputs
    assert seen, "the realtime model was given the tool's error and answered after it"
    said = [r["text"] for r in result.transcript if r["role"] == "assistant"]
    assert "I can't check that right now, but a latte is a safe choice." in said, said
    assert result.summary.get("failover_to") is None
    turns = faults.answers(result.transcript, two_turns)
    assert [t.status for t in turns] == ["answered", "answered"], turns


async def test_every_line_said_without_a_tts_ships_as_audio() -> None:
    """The apology and the goodbye play as pre-rendered clips when the TTS is what failed."""
    from agents.resilience.lines import LINES, clip_frames

    for name, text in LINES.items():
        frames = [f async for f in clip_frames(name)]
        seconds = sum(f.duration for f in frames)
        assert len(text.split()) * 0.15 < seconds < 15, (name, seconds)
