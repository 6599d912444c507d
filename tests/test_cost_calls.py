"""What whole calls cost, through the real plugins against the loopback doubles (which report
usage as the providers do: OpenAI's `usage` chunk with prompt caching, Cartesia's
characters, Deepgram's streamed audio): a cascade call priced exactly as computed by hand
from its usage, the same figure in `meta.json`, `events.jsonl`, replay's `summary.json`,
the call report (`evals.calls`), Prometheus and `python -m evals.cost`; and a realtime call
that fails over to the cascade, charged on both brains."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from livekit.plugins import (  # noqa: F401  (register on the main thread)
    fasterwhisper,
    llamacpp,
    piper,
    semantic_turn,
)
from prometheus_client import REGISTRY

from agents.brain import choose_brain
from agents.brain.local_models import prewarm_local_models
from agents.config import Settings
from agents.side_channel.cost import SCHEMA
from evals import faults
from evals.calls import ScoreOptions, load_stereo, score_call
from evals.cost.cli import main as cost_main
from evals.replay import run_replay
from tests.loopback import CartesiaServer, DeepgramServer, Fault, OpenAIChatServer
from tests.loopback.suite import cascade_settings

pytestmark = pytest.mark.slow

DG_RATE = 16000
"""The Deepgram plugin streams 16 kHz 16-bit mono."""


@pytest.fixture(scope="module")
def two_turns() -> Any:
    return faults.caller_recording(turns=2)


def _loopback_prices(tmp_path: Path) -> Path:
    """The shipped prices, with the loopback OpenAI host priced as OpenAI (LiveKit's OpenAI
    plugins name their provider by the endpoint's host)."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({
        "schema": SCHEMA, "version": "loopback", "currency": "USD",
        "aliases": {"127.0.0.1:*": "openai"}, "engines": [],
    }))  # fmt: skip
    return path


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _record(calls: Path) -> tuple[Path, dict[str, Any]]:
    (folder,) = [p for p in calls.iterdir() if p.is_dir()]
    return folder, json.loads((folder / "meta.json").read_text())


async def test_a_cascade_call_is_priced_exactly_as_by_hand_everywhere_it_shows(
    two_turns: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {
        "count": _sample("voice_call_cost_count", brain="cascade"),
        "sum": _sample("voice_call_cost_sum", brain="cascade"),
        "audio": _sample(
            "voice_engine_usage_total", brain="cascade", provider="deepgram", model="nova-3",
            unit="audio_s",
        ),
    }  # fmt: skip
    calls = tmp_path / "calls"
    # every stage a chain ending in the local engines (LOCAL_FALLBACK=auto): the STT is
    # watched for stalls (WatchedSTT), which must not count its audio a second time
    async with (
        DeepgramServer(list(faults.CALLER_LINES), min_silence_ms=faults.DG_SILENCE_MS) as dg,
        # prompt caching as OpenAI does it, at a scale this short prompt reaches
        OpenAIChatServer(faults._chat_script, prompt_cache_min=256, prompt_cache_block=32) as oa,
        CartesiaServer(seconds_per_char=0.04) as ca,
    ):
        settings = cascade_settings(
            dg, oa, ca, orders_db=str(tmp_path / "o.sqlite"), call_records_dir=str(calls),
            price_table=str(_loopback_prices(tmp_path)),
        )  # fmt: skip
        result = await run_replay(
            two_turns.recording, tmp_path / "out", settings, choose_brain(settings)
        )
    folder, meta = _record(calls)
    rows = {r["stage"]: r for r in meta["usage"]}
    assert {r["brain"] for r in meta["usage"]} == {"cascade"}
    assert sorted(rows) == ["llm", "stt", "tts"], meta["usage"]

    # the usage is what the providers reported / billed
    llm = rows["llm"]["usage"]
    prompt = sum(u["prompt_tokens"] for u in oa.usages)
    cached = sum(u["prompt_tokens_details"]["cached_tokens"] for u in oa.usages)
    completion = sum(u["completion_tokens"] for u in oa.usages)
    assert cached > 0, oa.usages  # the second request reused the first one's prefix
    assert llm == {
        "input_tokens": prompt - cached,
        "cached_input_tokens": cached,
        "output_tokens": completion,
    }
    assert rows["llm"]["requests"] == len(oa.usages) >= 2
    assert rows["tts"]["usage"]["characters"] == sum(len(t.strip()) for t in ca.transcripts)
    streamed = dg.received_audio_bytes / (2 * DG_RATE)
    audio_s = rows["stt"]["usage"]["audio_s"]
    assert audio_s == pytest.approx(streamed, abs=0.25), (audio_s, streamed)

    # priced by hand from that usage (list prices: docs/cost.md)
    hand = (
        audio_s / 60 * 0.0077
        + rows["tts"]["usage"]["characters"] * 49.00 / 1_250_000
        + ((prompt - cached) * 0.40 + cached * 0.10 + completion * 1.60) / 1_000_000
    )
    cost = meta["cost"]
    assert cost["complete"] is True and cost["currency"] == "USD"
    assert cost["total"] == pytest.approx(hand, abs=1e-8)  # rounded to 8 decimals
    assert cost["by_brain"] == {"cascade": cost["total"]}

    # the same figure in events.jsonl, summary.json, the call report, Prometheus, evals.cost
    events = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
    (cost_row,) = [e for e in events if e["kind"] == "cost"]
    assert cost_row["total"] == cost["total"]
    assert sum(1 for e in events if e["kind"] == "usage") == 3
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["cost"] == cost and summary["usage"] == meta["usage"]
    assert result.summary["cost"]["total"] == cost["total"]
    report = score_call(
        load_stereo(folder / "call.ogg"), ScoreOptions(stt=None),
        records_beside=folder / "call.ogg",
    )  # fmt: skip
    assert report["cost"]["total"] == cost["total"]
    assert report["cost"]["usage"] == meta["usage"]
    assert _sample("voice_call_cost_count", brain="cascade") == before["count"] + 1
    assert _sample("voice_call_cost_sum", brain="cascade") == pytest.approx(
        before["sum"] + cost["total"], abs=1e-9
    )
    assert _sample(
        "voice_engine_usage_total", brain="cascade", provider="deepgram", model="nova-3",
        unit="audio_s",
    ) == pytest.approx(before["audio"] + audio_s, abs=1e-3)  # fmt: skip
    assert cost_main([str(calls), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    minutes = meta["duration_s"] / 60
    assert out["calls"][0]["cost"] == cost["total"]
    assert out["brains"]["cascade"]["per_1000_minutes"] == pytest.approx(
        cost["total"] / minutes * 1000, abs=1e-3
    )


async def test_a_call_that_fails_over_is_charged_on_both_brains(
    two_turns: Any, tmp_path: Path
) -> None:
    """The native brain answers the first turn, its realtime model then goes down (5xx): the
    cascade takes the call. The realtime tokens are charged to `native`, the Deepgram,
    OpenAI chat and Cartesia usage after the switch to the cascade brain."""
    calls = tmp_path / "calls"
    before = {b: _sample("voice_call_cost_count", brain=b) for b in ("native", "cascade")}
    fault = Fault("http_5xx", skip=2)
    async with faults.providers("realtime", fault, realtime_brain="native") as loopback:
        settings = dataclasses.replace(
            loopback.settings, orders_db=str(tmp_path / "o.sqlite"), call_records_dir=str(calls),
            price_table=str(_loopback_prices(tmp_path)),
        )  # fmt: skip
        result = await run_replay(
            two_turns.recording, tmp_path / "out", settings, choose_brain(settings)
        )
    failover = result.summary["failover_to"]
    assert failover.startswith("cascade"), result.summary
    _, meta = _record(calls)
    by = {(r["brain"], r["stage"]): r for r in meta["usage"]}
    realtime = by[("native", "realtime")]["usage"]
    assert realtime["audio_output_tokens"] > 0 and realtime["text_input_tokens"] > 0
    for stage in ("stt", "llm", "tts"):
        assert (failover, stage) in by, meta["usage"]
    # and the realtime model's own input transcription, billed in tokens, on native too
    native = {(r["stage"], r["model"]) for r in meta["usage"] if r["brain"] == "native"}
    assert native <= {("realtime", "gpt-realtime"), ("stt", "gpt-4o-mini-transcribe")}, native
    cost = meta["cost"]
    assert cost["complete"] is True, cost
    assert cost["by_brain"]["native"] > 0 and cost["by_brain"][failover] > 0
    assert cost["total"] == pytest.approx(sum(cost["by_brain"].values()), abs=1e-8)
    # Prometheus observes the call once on each brain
    for b in ("native", failover):
        assert _sample("voice_call_cost_count", brain=b) == before.get(b, 0.0) + 1


async def test_a_local_call_costs_its_engines_cpu_seconds(tmp_path: Path) -> None:
    """The offline brain, one caller turn: Whisper, the guided LLM and Piper each report the
    seconds they computed, priced per vCPU-hour; nothing else is charged."""
    settings = Settings(
        brain="local", orders_db=str(tmp_path / "o.sqlite"), call_records_dir=str(tmp_path / "c")
    )
    # as the worker and replay do before a call (it runs its own event loop)
    await asyncio.to_thread(prewarm_local_models, settings)
    result = await run_replay(
        faults.caller_recording(turns=1).recording, tmp_path / "out", settings,
        choose_brain(settings),
    )  # fmt: skip
    rows = result.summary["usage"]
    # faster-whisper may report twice: tiny.en, and Whisper base on a turn it hears again
    assert {r["provider"] for r in rows} == {"faster-whisper", "llama.cpp", "piper"}, rows
    cpu = sum(r["usage"]["cpu_s"] for r in rows)
    assert all(r["usage"]["cpu_s"] > 0 for r in rows), rows
    assert result.summary["cost"]["total"] == pytest.approx(cpu * 0.044625 / 3600, abs=1e-7)


async def test_a_fallback_attempt_is_charged_to_the_engine_that_answered(tmp_path: Path) -> None:
    """The cascade's LLM chain is OpenAI then the local model (LOCAL_FALLBACK=auto); OpenAI
    answers every request with a 5xx: the turn's LLM usage is the local engine's CPU
    seconds, and OpenAI, which answered nothing, is charged nothing."""
    async with faults.providers("llm", Fault("http_5xx")) as loopback:
        settings = dataclasses.replace(
            loopback.settings, orders_db=str(tmp_path / "o.sqlite"),
            price_table=str(_loopback_prices(tmp_path)),
        )  # fmt: skip
        await asyncio.to_thread(prewarm_local_models, settings)
        result = await run_replay(
            faults.caller_recording(turns=1).recording, tmp_path / "out", settings,
            choose_brain(settings),
        )  # fmt: skip
        failed = len(loopback.chat.requests)
    assert failed >= 1  # OpenAI was asked, and failed
    llm = [r for r in result.summary["usage"] if r["stage"] == "llm"]
    assert [r["provider"] for r in llm] == ["llama.cpp"], result.summary["usage"]
    assert llm[0]["usage"]["cpu_s"] > 0
    assert result.summary["cost"]["complete"] is True
