"""A call record survives kill -9: `agent.py replay` runs in a subprocess on the cascade brain
(real plugins against loopback servers in this process); once its record holds the first
items it is SIGKILLed, and every item it had completed is still in `transcript.jsonl`, each
line whole."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import CartesiaServer, DeepgramServer, OpenAIChatServer, ToolCall

ROOT = Path(__file__).resolve().parent.parent
CALLER_LINES = json.loads((ROOT / "samples" / "coffee_call.json").read_text())["caller_turns"]


def _script(request: dict[str, Any]) -> Any:
    messages = request["messages"]
    if messages[-1]["role"] == "tool":
        return "We have that. Anything else?"
    if not any(m["role"] == "user" for m in messages):
        return "Hello!"
    return ToolCall("get_menu_items", {"query": "mocha"})


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    text = path.read_text()
    lines = text.split("\n")
    assert lines[-1] == "", "the last line is whole"
    return [json.loads(line) for line in lines[:-1]]


@pytest.mark.slow
async def test_kill_9_during_a_replay_keeps_every_completed_item(tmp_path: Path) -> None:
    records = tmp_path / "calls"
    async with (
        DeepgramServer([t["text"] for t in CALLER_LINES]) as dg,
        OpenAIChatServer(_script) as oa,
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
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        try:
            # wait for the first caller turn, its tool call and output, and the answer
            while time.monotonic() < deadline and proc.returncode is None:
                dirs = list(records.glob("*/transcript.jsonl")) if records.is_dir() else []
                seen = _rows(dirs[0]) if dirs else []
                roles = [r.get("type", r["role"]) for r in seen]
                if "function_call_output" in roles and roles[-1] == "assistant":
                    break
                await asyncio.sleep(0.05)
            assert proc.returncode is None, (await proc.communicate())[1].decode()[-2000:]
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "out" / "transcript.jsonl").exists()  # replay's own output never came
    (record,) = list(records.iterdir())
    kept = _rows(record / "transcript.jsonl")
    assert kept[: len(seen)] == seen  # nothing completed was lost or torn
    roles = [r.get("type", r["role"]) for r in kept]
    assert "user" in roles and "function_call" in roles and "function_call_output" in roles
    # the model is an outside witness: what it was last sent had happened in the call
    witnessed = oa.requests[-1]["messages"]
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
    events = [json.loads(x) for x in (record / "events.jsonl").read_text().splitlines()]
    assert events[0]["kind"] == "brain" and "cascade" in events[0]["reason"]
    assert any(e["kind"] == "tool_call" and e["status"] == "ok" for e in events)
