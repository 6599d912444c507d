"""A call record survives kill -9: whatever `CallRecord` has acknowledged is on disk.

The fast tests run a child process that feeds a burst of items through the real `CallRecord`
attached to a real `AgentSession` (its `conversation_item_added` events, as a call emits
them) plus events and the end, and SIGKILLs itself the instant the last call returns: no
waiting, no polling. Every acknowledged row must be in the files, each line whole.

The slow test kills `agent.py replay` (cascade brain, real plugins against loopback servers)
at the moment an outside witness, the loopback model, is asked for the answer to the first
tool call: what the model was sent had happened in the call and must be in the record.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import CartesiaServer, DeepgramServer, OpenAIChatServer, ToolCall

ROOT = Path(__file__).resolve().parent.parent
CALLER_LINES = json.loads((ROOT / "samples" / "coffee_call.json").read_text())["caller_turns"]

_BURST_CHILD = """
import asyncio, os, signal, sys
from livekit.agents import AgentSession, ConversationItemAddedEvent, llm
from agents.side_channel import CallRecord

async def main(root: str, n: int, end: bool) -> None:
    session = AgentSession()
    rec = CallRecord.create(root, brain="burst").attach(session)
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        item = llm.ChatMessage(role=role, content=[f"line {i} of the burst"])
        session.emit("conversation_item_added", ConversationItemAddedEvent(item=item))
        rec.event("tick", i=i)
    if end:
        rec.end("burst over")
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "end"))
"""


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    text = path.read_text()
    lines = text.split("\n")
    assert lines[-1] == "", "the last line is whole"
    return [json.loads(line) for line in lines[:-1]]


@pytest.mark.parametrize(("n", "end"), [(1, False), (3, False), (10, True), (200, True)])
def test_every_acknowledged_item_survives_an_immediate_kill_9(
    tmp_path: Path, n: int, end: bool
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _BURST_CHILD, str(tmp_path), str(n), "end" if end else "-"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    (record,) = list(tmp_path.iterdir())
    rows = _rows(record / "transcript.jsonl")
    assert [r["text"] for r in rows] == [f"line {i} of the burst" for i in range(n)]
    assert [r["role"] for r in rows] == ["user" if i % 2 == 0 else "assistant" for i in range(n)]
    events = _rows(record / "events.jsonl")
    kinds = [e["kind"] for e in events if e["kind"] != "turn"]  # turn: a user-assistant pair
    assert kinds == ["brain", *["tick"] * n, *(["end"] if end else [])]
    assert [e["i"] for e in events if e["kind"] == "tick"] == list(range(n))
    meta = json.loads((record / "meta.json").read_text())
    assert meta["end_reason"] == ("burst_over" if end else None)
    assert not list(record.glob("*.tmp"))


def _script_killing_at_the_tool_answer(proc: list[asyncio.subprocess.Process]) -> Any:
    def script(request: dict[str, Any]) -> Any:
        messages = request["messages"]
        if messages[-1]["role"] == "tool":
            # the witness has everything it needs: kill the call right now
            proc[0].send_signal(signal.SIGKILL)
            return "We have that. Anything else?"
        if not any(m["role"] == "user" for m in messages):
            return "Hello!"
        return ToolCall("get_menu_items", {"query": "mocha"})

    return script


@pytest.mark.slow
async def test_kill_9_during_a_replay_keeps_what_the_model_was_told(tmp_path: Path) -> None:
    records = tmp_path / "calls"
    procs: list[asyncio.subprocess.Process] = []
    async with (
        DeepgramServer([t["text"] for t in CALLER_LINES]) as dg,
        OpenAIChatServer(_script_killing_at_the_tool_answer(procs)) as oa,
        CartesiaServer(seconds_per_char=0.02) as ca,
    ):
        env = {
            **os.environ,
            "BRAIN": "cascade",
            "DEEPGRAM_API_KEY": "test", "DEEPGRAM_BASE_URL": dg.base_url,
            "OPENAI_API_KEY": "test", "OPENAI_BASE_URL": oa.base_url,
            "CARTESIA_API_KEY": "test", "CARTESIA_BASE_URL": ca.base_url,
            "ORDERS_DB": str(tmp_path / "orders.sqlite"),
            "CALL_RECORDS_DIR": str(records),
        }  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "agent.py", "replay", "samples/coffee_call.wav",
            "--out", str(tmp_path / "out"), "--brain", "cascade",
            cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        procs.append(proc)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 180)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert not (tmp_path / "out" / "transcript.jsonl").exists()  # replay's own output never came
    (record,) = list(records.iterdir())
    kept = _rows(record / "transcript.jsonl")
    roles = [r.get("type", r["role"]) for r in kept]
    assert "user" in roles and "function_call" in roles and "function_call_output" in roles
    # the model is an outside witness: what it was last sent had happened in the call
    witnessed = oa.requests[-1]["messages"]
    assert witnessed[-1]["role"] == "tool"
    kept_calls = {r["call_id"] for r in kept if r["role"] == "tool"}
    for m in witnessed:
        for tc in m.get("tool_calls") or []:
            assert tc["id"] in kept_calls, (tc, kept)
        if m["role"] == "tool":
            assert m["tool_call_id"] in kept_calls
        if m["role"] == "user":
            assert any(r["role"] == "user" and r["text"] == m["content"] for r in kept), m
    user = next(r for r in kept if r["role"] == "user")
    assert "mocha" in user["text"].lower() and user["start"] is not None
    meta = json.loads((record / "meta.json").read_text())
    assert meta["brain"] == "cascade" and meta["caller_kind"] == "replay"
    assert meta["ended_at"] is None  # killed: nothing got to say how it ended
    events = _rows(record / "events.jsonl")
    assert events[0]["kind"] == "brain" and "cascade" in events[0]["reason"]
    assert any(e["kind"] == "tool_call" and e["status"] == "ok" for e in events)
