"""Every brain completes a spoken caller turn that calls a tool, offline.

The real provider plugins (deepgram, openai, cartesia, openai realtime) are pointed with
`base_url` at loopback servers that speak their wire protocols (tests/loopback/); the local
brain runs its real engines, unforced. The rest is the suite's own code path: `choose_brain`
-> `open_call` (brain, order store, tool runtime, coffee agent) -> `play_into_session` (the
replay's real-time I/O: audio in, the agent's audio out).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from livekit.agents import utils
from livekit.agents.voice.run_result import RunResult
from livekit.plugins import fasterwhisper, llamacpp, piper  # noqa: F401  (register on the main thread)
from livekit.plugins.semantic_turn import SemanticTurnDetector

from agents.brain import build_brain, choose_brain
from agents.brain.local_models import prewarm_local_models
from agents.call import open_call
from agents.config import Settings
from agents.side_channel import transcript_items
from evals.replay import replay_call
from evals.replay.recording import Recording, load_recording
from tests.loopback import (
    CartesiaServer,
    DeepgramServer,
    OpenAIChatServer,
    OpenAIRealtimeServer,
    ToolCall,
)
from tests.loopback.suite import cascade_settings

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "samples" / "coffee_call.json").read_text())
ORDER_MANIFEST = json.loads((ROOT / "samples" / "order_call.json").read_text())
CALLER_TEXT = "Hi, I'd like a large mocha, please."


def _first_turn(name: str, tail: float) -> Recording:
    """A sample call's greeting gap and first caller line, plus `tail` seconds of silence."""
    rec = load_recording(ROOT / "samples" / f"{name}.wav")
    manifest = json.loads((ROOT / "samples" / f"{name}.json").read_text())
    end = manifest["caller_turns"][0]["end"] + tail
    assert end < manifest["caller_turns"][1]["start"], "the tail must stay before turn 2"
    return dataclasses.replace(rec, pcm=rec.pcm[: int(end * rec.sample_rate)])


@pytest.fixture(scope="module")
def first_turn() -> Recording:
    """The sample call's greeting gap and first caller line, plus 2 s."""
    return _first_turn("coffee_call", 2.0)


LOCAL_TAIL_S = 9.0
"""Silence after the caller's line while local engines work: the replay stops once the
session has looked idle for 2 s after the recording ends, and Whisper (after VAD's end of
speech) counts as idle, so on a busy 2-core box a short tail can end the call before the
agent has heard the line."""


def _menu_then_answer(request: dict[str, Any]) -> Any:
    """OpenAI chat script: look the drink up, then answer from the tool result."""
    messages = request["messages"]
    if messages[-1]["role"] == "tool":
        found = json.loads(messages[-1]["content"])
        assert found, "the tool result reaches the model"
        return "We have a mocha. Large, coming up."
    if not any(m["role"] == "user" for m in messages):
        return "Hello!"
    return ToolCall("get_menu_items", {"query": "mocha"})


def _realtime_script(tool: str, args: dict[str, Any], final: str) -> Any:
    def script(request: dict[str, Any]) -> Any:
        items = request["items"]
        if items and items[-1].get("type") == "function_call_output":
            return final
        if not any(i.get("role") == "user" for i in items):
            return "Hi, thanks for calling the coffee shop."  # the greeting
        return ToolCall(tool, args)

    return script


def _assert_tool_turn(history_rows: list[dict[str, Any]], tool: str) -> None:
    roles = [r["role"] for r in history_rows]
    assert "user" in roles, history_rows
    calls = [r for r in history_rows if r.get("type") == "function_call"]
    outputs = [r for r in history_rows if r.get("type") == "function_call_output"]
    assert [c["name"] for c in calls] == [tool], history_rows
    assert outputs and not outputs[0]["is_error"], outputs
    last_user = max(i for i, r in enumerate(history_rows) if r["role"] == "user")
    answers = [r for r in history_rows[last_user:] if r["role"] == "assistant"]
    assert answers and answers[-1]["start"] is not None, history_rows


async def _run(settings: Settings, rec: Recording, tmp: Path) -> list[dict[str, Any]]:
    call, t0 = await replay_call(settings, choose_brain(settings), rec, ogg_path=tmp / "call.ogg")
    assert (tmp / "call.ogg").stat().st_size > 0
    return transcript_items(call.session.history, t0)


@pytest.mark.slow
async def test_cascade_turn_calls_a_tool(first_turn: Recording, tmp_path: Path) -> None:
    async with (
        DeepgramServer([CALLER_TEXT]) as dg,
        OpenAIChatServer(_menu_then_answer) as oa,
        CartesiaServer(seconds_per_char=0.03) as ca,
    ):
        settings = cascade_settings(dg, oa, ca, orders_db=str(tmp_path / "orders.sqlite"))
        assert choose_brain(settings).profile.name == "cascade"
        rows = await _run(settings, first_turn, tmp_path)
        _assert_tool_turn(rows, "get_menu_items")
        assert any(r["role"] == "user" and "mocha" in r["text"].lower() for r in rows)
        tools_offered = {t["function"]["name"] for t in oa.requests[-1]["tools"]}
        assert {"get_menu_items", "add_order_item", "end_call"} <= tools_offered
        assert any("mocha" in t.lower() for t in ca.transcripts)
        assert dg.received_audio_bytes > 0


@pytest.mark.slow
async def test_native_turn_calls_a_tool(first_turn: Recording, tmp_path: Path) -> None:
    script = _realtime_script("get_menu_items", {"query": "mocha"}, "We have a mocha.")
    async with OpenAIRealtimeServer(script, user_transcripts=[CALLER_TEXT]) as rt:
        settings = Settings(
            brain="native", openai_api_key="test", openai_base_url=rt.base_url,
            orders_db=str(tmp_path / "orders.sqlite"),
        )  # fmt: skip
        rows = await _run(settings, first_turn, tmp_path)
        _assert_tool_turn(rows, "get_menu_items")
        tools = {t["name"] for t in rt.sessions[-1]["tools"]}
        assert "get_menu_items" in tools and "consult_expert" not in tools


@pytest.mark.slow
async def test_hybrid_delegates_to_the_reasoner(first_turn: Recording, tmp_path: Path) -> None:
    question = "Which drink is like a mocha but without chocolate?"
    script = _realtime_script("consult_expert", {"question": question}, "A latte, then.")

    def reasoner(request: dict[str, Any]) -> str:
        prompt = request["messages"][-1]["content"]
        assert question in prompt and "Latte" in prompt  # question + menu facts
        return "A latte is the closest without chocolate."

    async with (
        OpenAIRealtimeServer(script, user_transcripts=[CALLER_TEXT]) as rt,
        OpenAIChatServer(reasoner, first_token_delay=1.5) as oa,
    ):
        settings = Settings(
            brain="hybrid", openai_api_key="test",
            openai_realtime_base_url=rt.base_url, openai_base_url=oa.base_url,
            orders_db=str(tmp_path / "orders.sqlite"), filler_delay=0.5,
        )  # fmt: skip
        rows = await _run(settings, first_turn, tmp_path)
        _assert_tool_turn(rows, "consult_expert")
        output = next(r for r in rows if r.get("type") == "function_call_output")
        assert "latte is the closest" in output["text"].lower()
        assert len(oa.requests) == 1
        # the 1.5 s round trip was covered: the realtime model was asked to say a filler
        fillers = [
            r
            for r in rt.responses
            if r["trigger"] == "client"
            and "caller" in (r["request"].get("instructions") or "").lower()
        ]
        assert fillers, [r["request"].get("instructions") for r in rt.responses]


def test_first_turn_fixture_has_speech(first_turn: Recording) -> None:
    first = MANIFEST["caller_turns"][0]
    level = np.abs(first_turn.pcm[int(first["start"] * 16000) : int(first["end"] * 16000)]).mean()
    assert level > 500


def _agent_channel_level(ogg: Path, start: float, end: float) -> float:
    """Mean level of the agent's side (right channel) of a replay's `call.ogg` in [start, end]."""
    with av.open(str(ogg)) as container:
        stream = container.streams.audio[0]
        pcm = np.concatenate(
            [f.to_ndarray().reshape(2, -1) if f.format.is_planar else
             f.to_ndarray().reshape(-1, 2).T for f in container.decode(stream)], axis=1
        )  # fmt: skip
        rate = stream.codec_context.sample_rate
    if pcm.dtype.kind == "f":  # Opus decodes to float samples in [-1, 1]
        pcm = pcm * 32768.0
    seg = pcm[1, int(start * rate) : int(end * rate)]
    return float(np.abs(seg).mean()) if seg.size else 0.0


@pytest.mark.slow
async def test_local_brain_takes_a_spoken_order_unforced(tmp_path: Path) -> None:
    """The offline brain through the whole pipeline, nothing forced: the caller's recorded
    words (Silero VAD, Whisper, our turn detector) reach the guided LLM, which calls the tools
    on its own; the item lands in SQLite, and the answer is spoken (Piper audio in the call
    recording)."""
    rec = _first_turn("order_call", LOCAL_TAIL_S)
    first = ORDER_MANIFEST["caller_turns"][0]  # "... Can I get a latte with oat milk?"
    settings = Settings(brain="local", orders_db=str(tmp_path / "orders.sqlite"))
    choice = choose_brain(settings)
    assert choice.profile.name == "local" and settings.local_llm_tool_bias == 0.0
    await asyncio.to_thread(prewarm_local_models, settings)  # what the worker's prewarm does
    rows = await _run(settings, rec, tmp_path)

    users = [r for r in rows if r["role"] == "user"]
    assert len(users) == 1 and "latte" in users[0]["text"].lower(), users
    heard = rows.index(users[0])
    calls = [r for r in rows[heard:] if r.get("type") == "function_call"]
    outputs = [r for r in rows[heard:] if r.get("type") == "function_call_output"]
    assert [c["name"] for c in calls][:1] == ["get_menu_items"], rows
    assert "add_order_item" in [c["name"] for c in calls], calls
    assert outputs and not any(o["is_error"] for o in outputs), outputs
    # the tool really wrote to the store: an open order with the latte and the caller's milk
    with sqlite3.connect(tmp_path / "orders.sqlite") as conn:
        items = conn.execute(
            "SELECT o.status, m.name, oi.attributes FROM orders o "
            "JOIN order_items oi USING (order_id) JOIN menu_items m USING (menu_item_id)"
        ).fetchall()
    assert [(status, name) for status, name, _ in items] == [("open", "Latte")], items
    assert json.loads(items[0][2]) == {"milk-options": "Oat Milk"}
    # after the last tool output the agent speaks, and its audio is in the recording
    last_output = max(i for i, r in enumerate(rows) if r.get("type") == "function_call_output")
    answers = [r for r in rows[last_output:] if r["role"] == "assistant"]
    assert answers and answers[0]["start"] is not None and answers[0]["end"], rows
    assert "latte" in answers[0]["text"].lower(), answers[0]
    spoken = _agent_channel_level(tmp_path / "call.ogg", answers[0]["start"], answers[0]["end"])
    silent_before = _agent_channel_level(tmp_path / "call.ogg", first["start"], first["end"])
    assert spoken > 100 > silent_before, (spoken, silent_before)


@pytest.mark.slow
async def test_native_with_our_turn_detector(tmp_path: Path) -> None:
    """`TURN_DETECTOR=semantic` on the native brain: the realtime model's server VAD is off
    (`turn_detection: null` in its session), the session's own Silero VAD + STT (local
    Whisper: no Deepgram key) hear the caller and our semantic detector ends the turn; the
    client then commits the audio and asks for the response itself."""
    script = _realtime_script("get_menu_items", {"query": "mocha"}, "We have a mocha.")
    async with OpenAIRealtimeServer(script, user_transcripts=[CALLER_TEXT]) as rt:
        settings = Settings(
            brain="native", turn_detector="semantic", openai_api_key="test",
            openai_base_url=rt.base_url, orders_db=str(tmp_path / "orders.sqlite"),
            # local Whisper on a loaded 2-core box can take seconds: this test is about who
            # ends the turn, not about failing a slow realtime brain over to another
            failover_deadline=60.0,
        )  # fmt: skip
        choice = choose_brain(settings)
        assert choice.profile.turn_detector == "semantic"
        brain = build_brain(choice.profile, settings)
        assert isinstance(brain.turn_detection, SemanticTurnDetector)
        assert brain.vad is not None and brain.stt is not None
        await asyncio.to_thread(prewarm_local_models, settings)
        rows = await _run(settings, _first_turn("coffee_call", LOCAL_TAIL_S), tmp_path)
        assert rt.sessions and all(s["audio"]["input"].get("turn_detection") is None
                                   for s in rt.sessions), rt.sessions  # fmt: skip
        triggers = [r["trigger"] for r in rt.responses]
        assert "server_vad" not in triggers and "client" in triggers, triggers
    _assert_tool_turn(rows, "get_menu_items")
    # the caller's words in the history come from the session's own STT (local Whisper)
    user = next(r for r in rows if r["role"] == "user")
    assert "mocha" in user["text"].lower(), user


@pytest.mark.slow
async def test_native_whole_turn_with_run_result(tmp_path: Path) -> None:
    """`session.run(user_input=...)` on the native brain (loopback gpt-realtime): the typed
    turn reaches the model, the tool runs through the runtime against SQLite, and the model's
    answer comes back; checked with `RunResult.expect`."""

    def script(request: dict[str, Any]) -> Any:
        items = request["items"]
        if items and items[-1].get("type") == "function_call_output":
            return "Yes, we have a mocha."
        return ToolCall("get_menu_items", {"query": "mocha"})

    async with OpenAIRealtimeServer(script) as rt:
        settings = Settings(
            brain="native", openai_api_key="test", openai_base_url=rt.base_url,
            orders_db=str(tmp_path / "orders.sqlite"),
        )  # fmt: skip
        call = await open_call(settings, choose_brain(settings), greet=False)
        try:
            async with utils.http_context.open():
                await call.session.start(call.agent)
                result: RunResult[None] = await call.session.run(user_input="Do you have a mocha?")
                await call.session.aclose()
        finally:
            await call.aclose()
    result.expect.next_event().is_function_call(name="get_menu_items", arguments={"query": "mocha"})
    output = result.expect.next_event().is_function_call_output()
    assert "mocha" in output.event().item.output.lower()
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    user_items = [i for i in rt.items if i.get("role") == "user"]
    assert user_items, rt.items
