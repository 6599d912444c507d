"""Costs without a call: the shipped price table, the arithmetic, user files, unpriced
engines, bad price files as one-line errors (the worker's start, replay, `evals.cost`), the
usage LiveKit's metrics become, a meter pricing into a real call record, and
`python -m evals.cost` over a folder of records."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from livekit.agents.metrics import LLMMetrics, RealtimeModelMetrics, STTMetrics, TTSMetrics
from livekit.agents.metrics.base import Metadata
from prometheus_client import REGISTRY

from agents.side_channel import CallRecord
from agents.side_channel.cost import (
    SCHEMA,
    PriceTableError,
    load_prices,
    parse_table,
    read_table,
)
from agents.side_channel.usage import UsageMeter, amounts, price_table_or_none
from evals.cost.cli import main as cost_main

ROOT = Path(__file__).resolve().parent.parent


def _table(engines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"schema": SCHEMA, "version": "t1", "currency": "USD", "engines": engines, **extra}


def _entry(provider: str, model: str, **prices: tuple[float, float]) -> dict[str, Any]:
    return {
        "provider": provider,
        "model": model,
        "kind": "llm",
        "prices": {u: {"price": p, "per": n} for u, (p, n) in prices.items()},
        "source": "https://example.com/pricing",
        "as_of": "2026-01-01",
    }


def _meta(m: str, p: str) -> Metadata:
    return Metadata(model_name=m, model_provider=p)


def test_the_shipped_table_prices_every_default_engine_with_its_source_and_date() -> None:
    table = load_prices()
    for e in table.entries:
        assert e.source.startswith("https://"), e
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", e.as_of), e
    # every brain's default engines, as LiveKit's plugins name them (OpenAI: the API host)
    for provider, model in [
        ("Deepgram", "nova-3"), ("api.openai.com", "gpt-4.1-mini"),
        ("api.openai.com", "gpt-realtime"), ("api.openai.com", "gpt-4.1"),
        ("Cartesia", "sonic-2"), ("faster-whisper", "whisper-tiny.en"),
        ("llama.cpp", "guided/qwen2.5-coder-0.5b-instruct-q4_k_m"), ("piper", "en_US-joe-medium"),
    ]:  # fmt: skip
        assert table.entry(provider, model) is not None, (provider, model)


def test_a_call_is_priced_from_its_usage_by_hand() -> None:
    table = load_prices()
    llm = table.price(
        "api.openai.com",
        "gpt-4.1-mini",
        {"input_tokens": 1200, "cached_input_tokens": 1024, "output_tokens": 80},
    )
    assert llm.cost == pytest.approx((1200 * 0.40 + 1024 * 0.10 + 80 * 1.60) / 1e6, abs=1e-15)
    stt = table.price("Deepgram", "nova-3", {"audio_s": 90.0})
    assert stt.cost == pytest.approx(1.5 * 0.0077, abs=1e-15)
    tts = table.price("Cartesia", "sonic-2", {"characters": 500, "audio_s": 31.0})
    assert tts.cost == pytest.approx(500 * 49.00 / 1_250_000, abs=1e-15)  # audio_s not billed
    rt = table.price(
        "api.openai.com", "gpt-realtime",
        {"audio_input_tokens": 1000, "cached_audio_input_tokens": 2000, "text_input_tokens": 300,
         "audio_output_tokens": 400, "text_output_tokens": 50},
    )  # fmt: skip
    hand = (1000 * 32 + 2000 * 0.40 + 300 * 4 + 400 * 64 + 50 * 16) / 1e6
    assert rt.cost == pytest.approx(hand, abs=1e-15)
    local = table.price("llama.cpp", "qwen", {"cpu_s": 7.2, "input_tokens": 900})
    assert local.cost == pytest.approx(7.2 * 0.044625 / 3600, abs=1e-15)


def test_an_engine_or_unit_missing_from_the_table_is_unpriced_never_zero() -> None:
    table = load_prices()
    missing = table.price("elevenlabs", "eleven_flash_v2_5", {"characters": 100})
    assert missing.cost is None
    assert missing.as_dict()["unpriced"] == "no price for this engine"
    # a priced engine billed in a unit its entry does not know (a token-billed STT reply)
    unit = table.price("Deepgram", "nova-3", {"audio_s": 10.0, "output_tokens": 5})
    assert unit.cost is None and unit.unpriced_units == ("output_tokens",)
    # usage only in units the entry does not bill is not free: a TTS priced by tokens that
    # reported characters only
    chars = table.price("api.openai.com", "gpt-4o-mini-tts", {"characters": 40, "audio_s": 2.0})
    assert chars.cost is None and chars.unpriced_units == ("audio_s", "characters")
    tokens = {"characters": 40, "input_tokens": 12, "output_tokens": 300}
    assert table.price("api.openai.com", "gpt-4o-mini-tts", tokens).cost == pytest.approx(
        (12 * 0.60 + 300 * 12.00) / 1e6
    )
    # an OpenAI-compatible server at another host is not OpenAI
    assert table.price("127.0.0.1:8080", "gpt-4.1-mini", {"input_tokens": 10}).cost is None


def test_a_user_file_overrides_and_adds_entries_and_aliases(tmp_path: Path) -> None:
    user = tmp_path / "prices.json"
    user.write_text(json.dumps(_table(
        [_entry("openai", "gpt-4.1-mini", input_tokens=(0.20, 1e6), output_tokens=(0.80, 1e6)),
         _entry("acme", "*", input_tokens=(1.0, 1000))],
        aliases={"llm.internal:*": "openai"},
    )))  # fmt: skip
    table = load_prices(str(user))
    assert table.files == (str(user), str(ROOT / "agents/side_channel/prices.json"))
    got = table.price("llm.internal:8000", "gpt-4.1-mini", {"input_tokens": 1e6})
    assert got.cost == pytest.approx(0.20)
    # the user's entry has no cached price: cached tokens are unpriced, not free
    assert table.price("openai", "gpt-4.1-mini", {"cached_input_tokens": 5}).cost is None
    assert table.price("acme", "any", {"input_tokens": 2000}).cost == pytest.approx(2.0)
    assert table.entry("Deepgram", "nova-3") is not None  # the shipped ones still there


BAD = [
    ("{", "not valid JSON (line 1, column 2"),
    (json.dumps({"schema": "v0"}), "schema must be 'voice-suite/prices/v1'"),
    (json.dumps(_table([_entry("a", "b", input_tokens=(-1.0, 1e6))])),
     "engines[0].prices.input_tokens.price must be >= 0"),
    (json.dumps(_table([_entry("a", "b", input_tokens=(1.0, 0))])),
     "engines[0].prices.input_tokens.per must be > 0"),
    (json.dumps(_table([_entry("a", "b", tokens=(1.0, 1e6))])),
     "engines[0].prices.tokens: unknown unit"),
    (json.dumps(_table([{**_entry("a", "b", input_tokens=(1.0, 1e6)), "source": ""}])),
     "engines[0].source must be a non-empty string"),
    (json.dumps(_table([_entry("a", "b", input_tokens=(1.0, 1e6))] * 2)), "a/b is priced twice"),
    (json.dumps(_table([], currency="EUR")), "currency 'EUR' differs from the shipped"),
]  # fmt: skip


@pytest.mark.parametrize("text,message", BAD)
def test_a_bad_price_file_is_a_one_line_error_naming_it(
    text: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(PriceTableError) as err:
        load_prices(str(path))
    assert str(err.value).startswith(f"price table {path}: ")
    assert message in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(PriceTableError, match="no such file"):
        read_table(tmp_path / "missing.json")
    # the shipped file itself parses
    parse_table((ROOT / "agents/side_channel/prices.json").read_text(), "shipped")


def test_the_worker_refuses_a_bad_price_table_at_start_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text('{"schema": "voice-suite/prices/v1", "engines": [}')
    for argv in (["agent.py", "console", "--text"], ["agent.py", "replay", "x.wav", "--out", "o"]):
        proc = subprocess.run(
            [sys.executable, *argv], cwd=ROOT,
            env={**os.environ, "BRAIN": "local", "PRICE_TABLE": str(bad)},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr[-2000:]
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: price table {bad}: not valid JSON (line 1"), last
        assert "Traceback" not in proc.stderr


def test_livekit_metrics_become_disjoint_usage_units() -> None:
    llm = LLMMetrics(
        label="x", request_id="r", timestamp=0, duration=1.5, ttft=0.2, cancelled=False,
        completion_tokens=40, prompt_tokens=1500, prompt_cached_tokens=1024, total_tokens=1540,
        tokens_per_second=1, metadata=_meta("gpt-4.1-mini", "api.openai.com"),
    )  # fmt: skip
    assert amounts(llm) == (
        "llm",
        {"input_tokens": 476.0, "cached_input_tokens": 1024.0, "output_tokens": 40.0},
    )
    local = llm.model_copy(update={"metadata": _meta("qwen", "llama.cpp")})
    assert amounts(local) == (
        "llm",
        {"input_tokens": 476.0, "cached_input_tokens": 1024.0, "output_tokens": 40.0,
         "cpu_s": 1.5},
    )  # fmt: skip
    rt = RealtimeModelMetrics(
        request_id="r", timestamp=0, input_tokens=1300, output_tokens=500,
        input_token_details=RealtimeModelMetrics.InputTokenDetails(
            audio_tokens=1000, text_tokens=300, cached_tokens=700,
            cached_tokens_details=RealtimeModelMetrics.CachedTokenDetails(
                audio_tokens=600, text_tokens=100
            ),
        ),
        output_token_details=RealtimeModelMetrics.OutputTokenDetails(
            text_tokens=100, audio_tokens=400
        ),
        metadata=_meta("gpt-realtime", "api.openai.com"),
    )  # fmt: skip
    assert amounts(rt) == (
        "realtime",
        {"text_input_tokens": 200.0, "cached_text_input_tokens": 100.0,
         "audio_input_tokens": 400.0, "cached_audio_input_tokens": 600.0,
         "text_output_tokens": 100.0, "audio_output_tokens": 400.0},
    )  # fmt: skip
    # a realtime model's input transcription, billed in tokens (audio apart from text)
    transcription = STTMetrics(
        label="rt", request_id="r", timestamp=0, duration=0, audio_duration=0, streamed=True,
        input_tokens=120, input_audio_tokens=100, output_tokens=12,
        metadata=_meta("gpt-4o-mini-transcribe", "api.openai.com"),
    )  # fmt: skip
    assert amounts(transcription) == (
        "stt", {"audio_input_tokens": 100.0, "input_tokens": 20.0, "output_tokens": 12.0}
    )  # fmt: skip
    # connection-timing metrics carry no usage
    idle = STTMetrics(
        label="x", request_id="", timestamp=0, duration=0, audio_duration=0, streamed=True,
        metadata=_meta("nova-3", "Deepgram"),
    )  # fmt: skip
    assert amounts(idle) == ("stt", {})


def _stt(seconds: float) -> STTMetrics:
    return STTMetrics(
        label="x", request_id="r", timestamp=0, duration=0, audio_duration=seconds,
        streamed=True, metadata=_meta("nova-3", "Deepgram"),
    )  # fmt: skip


def _tts(chars: int, model: str = "sonic-2") -> TTSMetrics:
    return TTSMetrics(
        label="x", request_id="r", timestamp=0, ttfb=0.1, duration=0.5, audio_duration=1.0,
        cancelled=False, characters_count=chars, streamed=True,
        metadata=_meta(model, "Cartesia"),
    )  # fmt: skip


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_meter_prices_into_the_call_record_and_prometheus(tmp_path: Path) -> None:
    """Through the real record writer: a call whose TTS model is not in the table has no
    total (its STT part is priced), `usage`/`cost` rows in events.jsonl, the brain counted
    as unpriced; one metric arriving twice (session and engine) is counted once."""
    brain = "cost-test-unpriced"
    rec = CallRecord.create(tmp_path, caller_kind="test", brain=brain)
    meter = UsageMeter(load_prices(), brain=brain, record=rec)
    stt = _stt(60.0)
    meter.collect(stt)
    meter.collect(stt)  # the same metric through another emitter
    meter.collect(_tts(120, model="sonic-9"))
    before = _sample("voice_calls_unpriced_total", brain=brain)
    usage = _sample(
        "voice_engine_usage_total", brain=brain, provider="deepgram", model="nova-3",
        unit="audio_s",
    )  # fmt: skip
    assert usage == 60.0
    meter.finish()
    meter.finish()  # once
    rec.close()
    meta = json.loads((rec.path / "meta.json").read_text())
    cost = meta["cost"]
    assert cost["total"] is None and cost["complete"] is False
    assert cost["priced"] == pytest.approx(0.0077)
    assert cost["unpriced"] == [f"{brain}: cartesia/sonic-9"]
    rows = {r["provider"]: r for r in meta["usage"]}
    assert rows["deepgram"]["usage"] == {"audio_s": 60.0} and rows["deepgram"]["cost"] == 0.0077
    assert rows["cartesia"]["cost"] is None
    assert rows["cartesia"]["unpriced"] == "no price for this engine"
    events = [json.loads(x) for x in (rec.path / "events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events if e["kind"] in ("usage", "cost")] == [
        "usage", "usage", "cost",
    ]  # fmt: skip
    assert _sample("voice_calls_unpriced_total", brain=brain) == before + 1


async def test_the_meter_charges_each_brain_what_its_engines_did(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On a real AgentSession: what the session reports goes to the brain answering now (a
    failover brain), an engine run outside the session (the hybrid reasoner) to the call's
    first brain, a metric arriving both ways once; no LiveKit deprecation warning. Async:
    an AgentSession needs the running loop (after other tests closed theirs, a sync test
    has no current loop in the main thread)."""
    from livekit import rtc
    from livekit.agents import AgentSession
    from livekit.agents.voice.events import MetricsCollectedEvent

    session: AgentSession = AgentSession()
    reasoner: rtc.EventEmitter[str] = rtc.EventEmitter()
    now = ["hybrid"]
    meter = UsageMeter(load_prices(), brain="hybrid", current_brain=lambda: now[0])
    meter.attach(session, engines=[reasoner])
    thought = LLMMetrics(
        label="r", request_id="r", timestamp=0, duration=1.0, ttft=0.1, cancelled=False,
        completion_tokens=50, prompt_tokens=400, prompt_cached_tokens=0, total_tokens=450,
        tokens_per_second=1, metadata=_meta("gpt-4.1", "api.openai.com"),
    )  # fmt: skip
    now[0] = "cascade"  # the call has failed over
    reasoner.emit("metrics_collected", thought)
    session.emit("metrics_collected", MetricsCollectedEvent(metrics=thought))  # seen: once
    session.emit("metrics_collected", MetricsCollectedEvent(metrics=_tts(100)))
    report = meter.report()
    got = {(r["brain"], r["model"]): r["usage"] for r in report["usage"]}
    assert got == {
        ("hybrid", "gpt-4.1"): {"input_tokens": 400.0, "output_tokens": 50.0},
        ("cascade", "sonic-2"): {"audio_s": 1.0, "characters": 100.0},
    }
    assert report["cost"]["by_brain"]["hybrid"] == pytest.approx((400 * 2 + 50 * 8) / 1e6)
    assert "deprecated" not in caplog.text


def test_a_price_file_gone_bad_mid_run_leaves_the_call_unpriced_not_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "gone.json"
    bad.write_text("{")
    assert price_table_or_none(str(bad)) is None
    assert f"price table {bad}: not valid JSON" in caplog.text
    meter = UsageMeter(None, brain="cascade")
    meter.collect(_stt(30.0))
    report = meter.finish()
    assert report["cost"]["total"] is None and report["cost"]["unpriced"] == [
        "cascade: deepgram/nova-3"
    ]
    assert report["usage"][0]["unpriced"] == "no price table"


def _record(root: Path, call_id: str, brain: str, minutes: float | None, **cost: Any) -> None:
    folder = root / call_id
    folder.mkdir(parents=True)
    meta: dict[str, Any] = {
        "call_id": call_id, "brain": brain,
        "duration_s": None if minutes is None else minutes * 60,
    }  # fmt: skip
    if cost:
        by_brain = cost["by_brain"]
        usage = [
            {"brain": b, "stage": "stt", "provider": "Deepgram", "model": "nova-3",
             "usage": {"audio_s": 60.0 * (v or 0) / 0.0077}}
            for b, v in by_brain.items()
        ]  # fmt: skip
        meta |= {"usage": usage, "cost": {"currency": "USD", **cost}}
    (folder / "meta.json").write_text(json.dumps(meta))


def test_evals_cost_sums_per_call_per_brain_and_per_1000_minutes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "calls"
    _record(root, "a", "cascade", 2.0, total=0.02, by_brain={"cascade": 0.02}, unpriced=[])
    _record(root, "b", "cascade", 3.0, total=0.04, by_brain={"cascade": 0.04}, unpriced=[])
    _record(root, "c", "native", 4.0, total=0.5,
            by_brain={"native": 0.3, "cascade": 0.2}, unpriced=[])  # fmt: skip
    _record(root, "d", "native", 1.0, total=None, by_brain={"native": None},
            unpriced=["native: acme/x"])  # fmt: skip
    _record(root, "e", "local", None)  # killed before it ended: no usage
    assert cost_main([str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["brains"]["cascade"] == {
        "calls": 2, "priced_calls": 2, "minutes": 5.0, "cost": 0.06, "per_call": 0.03,
        "per_1000_minutes": 12.0,
    }  # fmt: skip
    assert out["brains"]["native"]["priced_calls"] == 1
    assert out["brains"]["native"]["per_1000_minutes"] == 125.0
    assert out["total"]["cost"] == 0.56 and out["total"]["minutes"] == 9.0
    notes = {c["call_id"]: c["note"] for c in out["calls"]}
    assert notes["d"] == "unpriced: native: acme/x" and notes["e"] == "no usage recorded"
    # the table: the failover call on both brains, the unpriced call named, not zero
    assert cost_main([str(root)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^c\s+native 0\.300000 \+ cascade 0\.200000\s+4\.00\s+0\.500000", text, re.M)
    assert re.search(r"^d\s+native\s+1\.00\s+-\s+unpriced: native: acme/x", text, re.M)
    # priced again with the shipped table: what the recorded usage costs at list prices
    assert cost_main([str(root), "--json", "--prices", ""]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["brains"]["cascade"]["cost"] == pytest.approx(0.06)


def test_evals_cost_refuses_bad_arguments_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cost_main([str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nowhere'} is not a directory\n"
    assert cost_main([str(tmp_path)]) == 2
    assert "no call records" in capsys.readouterr().err
    _record(tmp_path, "a", "cascade", 1.0, total=0.01, by_brain={"cascade": 0.01}, unpriced=[])
    assert cost_main([str(tmp_path), "--prices", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: price table ") and err.count("\n") == 1
