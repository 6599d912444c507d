"""The call record's API and files without a call: events, the end (first reason wins),
masking on the way to disk, meta.json, retention, and a text-mode session's items."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from livekit.agents import (
    Agent,
    AgentSession,
    ConversationItemAddedEvent,
    UserStateChangedEvent,
    llm,
)

from agents.side_channel import CallRecord, prune_records, record_for
from tests.loopback import OpenAIChatServer


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_record_api_masks_and_ends_once(tmp_path: Path) -> None:
    rec = CallRecord.create(
        tmp_path, room="call-+15558675309", caller_kind="sip", brain="native",
        brain_reason="brain 'native': dispatch metadata", brain_source="metadata",
    )  # fmt: skip
    rec.event("failover", to="local", why="provider 4111 1111 1111 1111 error")
    rec.item({"role": "user", "text": "my card is 4111 1111 1111 1111", "start": 1.0})
    rec.end("Time limit")
    rec.end("caller_hung_up")  # too late: the first reason stands
    rec.close()
    meta = json.loads((rec.path / "meta.json").read_text())
    assert meta["end_reason"] == "time_limit" and meta["caller_kind"] == "sip"
    assert meta["room"] == "call-[phone ending 5309]"
    assert meta["ended_at"] and meta["duration_s"] is not None
    events = _lines(rec.path / "events.jsonl")
    assert [e["kind"] for e in events] == ["brain", "failover", "end"]
    assert events[1]["why"] == "provider [card ending 1111] error"
    assert events[2]["reason"] == "time_limit"
    (row,) = _lines(rec.path / "transcript.jsonl")
    assert row["text"] == "my card is [card ending 1111]"
    assert not list(rec.path.glob("*.tmp"))
    assert {p.name for p in rec.path.iterdir()} == {"meta.json", "events.jsonl", "transcript.jsonl"}


def test_retention_deletes_only_old_records(tmp_path: Path) -> None:
    old = CallRecord.create(tmp_path, brain="local")
    new = CallRecord.create(tmp_path, brain="local")
    old.close()
    new.close()
    stray = tmp_path / "not-a-record"
    stray.mkdir()
    long_ago = time.time() - 40 * 86400
    for p in [old.path, *old.path.iterdir(), stray]:
        os.utime(p, (long_ago, long_ago))
    assert prune_records(tmp_path, 0) == []
    assert prune_records(tmp_path, 30) == [old.path]
    assert not old.path.exists() and new.path.exists() and stray.exists()


async def test_a_sessions_items_reach_the_record_as_they_complete(tmp_path: Path) -> None:
    async with OpenAIChatServer(lambda _r: "A latte is three fifty.") as oa:
        from livekit.plugins import openai

        model = openai.LLM(model="gpt-4.1-mini", base_url=oa.base_url, api_key="test")
        async with AgentSession(llm=model) as session:
            rec = CallRecord.create(tmp_path, brain="text").attach(session)
            assert record_for(session) is rec
            await session.start(Agent(instructions="You sell coffee."))
            await session.run(user_input="How much is a latte? My card is 4111111111111111")
            rec.close("done")
    rows = _lines(rec.path / "transcript.jsonl")
    assert [r["role"] for r in rows] == ["user", "assistant"]
    assert rows[0]["text"] == "How much is a latte? My card is [card ending 1111]"
    assert rows[1]["text"] == "A latte is three fifty."
    meta = json.loads((rec.path / "meta.json").read_text())
    assert meta["end_reason"] == "done"


async def test_a_caller_turn_livekit_left_untimed_takes_the_vad_s_speech_spans(
    tmp_path: Path,
) -> None:
    """LiveKit stamps a caller message with its speaking times only when its end-of-turn
    anchors agree; a barge-in or a call's last words often get none. The record times such a
    turn from the session's own VAD state changes since the caller turn before it, marked
    `timed_by: vad`; a turn LiveKit timed keeps its times, and typed text (no speech) stays
    untimed rather than borrowing an older span."""
    session: AgentSession = AgentSession()  # never started: the record hears its events
    rec = CallRecord.create(tmp_path, brain="local").attach(session)
    t0 = rec.t0

    def state(new: str, at: float) -> None:
        old = "listening" if new == "speaking" else "speaking"
        session.emit("user_state_changed", UserStateChangedEvent(old_state=old, new_state=new, created_at=t0 + at))  # type: ignore[arg-type]  # fmt: skip

    def said(text: str, at: float, **metrics: float) -> None:
        msg = llm.ChatMessage(role="user", content=[text], created_at=t0 + at)
        msg.metrics = {k: t0 + v for k, v in metrics.items()}  # type: ignore[assignment]
        session.emit("conversation_item_added", ConversationItemAddedEvent(item=msg))

    state("speaking", 1.0)
    state("listening", 2.5)
    said("A latte, please.", 3.0, started_speaking_at=1.1, stopped_speaking_at=2.2)
    state("speaking", 4.0)  # over the agent's answer, in two breaths
    state("listening", 4.9)
    state("speaking", 5.2)
    state("listening", 6.0)
    said("No, make it iced.", 6.4)
    said("typed: that's all", 7.0)
    state("speaking", 8.0)
    said("Thanks, bye.", 8.6)  # the call ended before VAD's end of speech
    rec.close()
    rows = _lines(rec.path / "transcript.jsonl")
    timing = [(r["text"], r["start"], r["end"], r.get("timed_by")) for r in rows]
    assert timing == [
        ("A latte, please.", 1.1, 2.2, None),
        ("No, make it iced.", 4.0, 6.0, "vad"),
        ("typed: that's all", None, None, None),
        ("Thanks, bye.", 8.0, None, "vad"),
    ]


def test_records_are_private_to_the_workers_user(tmp_path: Path) -> None:
    root = tmp_path / "calls"  # the worker creates CALL_RECORDS_DIR on the first call
    ogg = tmp_path / "audio.ogg"
    ogg.write_bytes(b"OggS" + bytes(100))
    old = os.umask(0)  # the most permissive umask: the modes are the record's own
    try:
        rec = CallRecord.create(root, brain="local")
        rec.event("tick")
        rec.item({"role": "user", "text": "hello", "start": 0.0})
        rec.save_audio(ogg)
        rec.close("done")
        rec.save_audio(ogg)  # after close too (meta.json rewritten off the writer)
    finally:
        os.umask(old)
    assert (root.stat().st_mode & 0o777) == 0o700
    assert (rec.path.stat().st_mode & 0o777) == 0o700
    files = {p.name: p.stat().st_mode & 0o777 for p in rec.path.iterdir()}
    assert files == dict.fromkeys(
        ["meta.json", "events.jsonl", "transcript.jsonl", "call.ogg"], 0o600
    )
