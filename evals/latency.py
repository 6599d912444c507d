"""Latency benchmark of the offline pipeline: `python -m evals.latency [--runs N]`.

Replays the sample call (in real time: the latency metrics are wall-clock) on the `local`
brain through the whole suite (brain selection, coffee agent, tool runtime, order store,
semantic turn detector, the guided ordering policy), and through a bare `AgentSession` with
the same engines (same Whisper, local GGUF model, Piper, Silero VAD and turn detector; the same
instructions; the raw model answering every turn; no tools and none of the suite's layers). Both runs happen in this process, alternating, so the ratio
compares like with like on whatever machine runs it.

Prints per-stage p50/p95 (end-of-utterance delay, STT, LLM time to first token, TTS time to
first byte, caller-stop-to-agent-start latency) for both, and suite / bare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from agents.brain import build_brain, choose_brain
from agents.brain.local_models import prewarm_local_models
from agents.config import ConfigError, Settings, load_env
from agents.side_channel import turn_latencies
from evals.replay import play_into_session, run_replay
from evals.replay.recording import RecordingError, load_recording

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "coffee_call.wav"
STAGES = ("latency", "eou_delay", "stt", "llm_ttft", "tts_ttfb")


async def _bare_run(settings: Settings, recording_path: Path, tmp: Path) -> list[dict[str, Any]]:
    from livekit.agents import Agent, AgentSession

    from tools.coffee import COFFEE_INSTRUCTIONS

    choice = choose_brain(dataclasses.replace(settings, brain="local"))
    brain = build_brain(choice.profile, settings)
    kwargs = brain.session_kwargs()
    # the bare baseline: the same engines with the raw local model answering every turn
    # (the suite's guided ordering policy is one of the layers it leaves out)
    kwargs["llm"] = getattr(brain.llm, "fallback", brain.llm)
    session: AgentSession = AgentSession(**kwargs)
    agent = Agent(instructions=COFFEE_INSTRUCTIONS)
    t0 = await play_into_session(
        session, agent, load_recording(recording_path), ogg_path=tmp / "bare.ogg"
    )
    return turn_latencies(session.history, t0)


async def _suite_run(settings: Settings, recording_path: Path, tmp: Path) -> list[dict[str, Any]]:
    s = dataclasses.replace(settings, brain="local", orders_db=str(tmp / "orders.sqlite"))
    result = await run_replay(load_recording(recording_path), tmp / "suite", s, choose_brain(s))
    return list(result.summary["turns"])


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summarize(turns: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for stage in STAGES:
        vals = [float(t[stage]) for t in turns if t.get(stage) is not None]
        out[stage] = {"p50": _pct(vals, 50), "p95": _pct(vals, 95), "n": float(len(vals))}
    return out


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 1000:.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.latency", description=__doc__)
    p.add_argument("--runs", type=int, default=1, help="replays per variant (default 1)")
    p.add_argument("--recording", type=Path, default=SAMPLE)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be >= 1")
    load_env()
    try:
        settings = Settings.from_env()
        load_recording(args.recording)  # fail now, with the loader's one-line reason
    except (ConfigError, RecordingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    prewarm_local_models(settings)  # as the worker's prewarm: loads happen before any call
    suite: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs}: bare AgentSession...", file=sys.stderr)
            bare += asyncio.run(_bare_run(settings, args.recording, tmp))
            print(f"run {i + 1}/{args.runs}: suite (local brain)...", file=sys.stderr)
            suite += asyncio.run(_suite_run(settings, args.recording, tmp))
    s_sum, b_sum = summarize(suite), summarize(bare)
    table = Table(title=f"Local brain latency, {args.recording.name}, {args.runs} run(s) each (ms)")
    for col in ("stage", "bare p50", "bare p95", "suite p50", "suite p95", "suite/bare p50"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for stage in STAGES:
        b, s = b_sum[stage], s_sum[stage]
        table.add_row(
            stage,
            _fmt(b["p50"]),
            _fmt(b["p95"]),
            _fmt(s["p50"]),
            _fmt(s["p95"]),
            _ratio(s["p50"], b["p50"]),
        )
    Console().print(table)
    print(f"turns answered: bare {len(bare)}, suite {len(suite)}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"bare": b_sum, "suite": s_sum, "bare_turns": bare, "suite_turns": suite}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
