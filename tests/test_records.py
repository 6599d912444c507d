"""The call record's API and files without a call: events, the end (first reason wins),
masking on the way to disk, meta.json, retention, and a text-mode session's items."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from livekit.agents import Agent, AgentSession

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
