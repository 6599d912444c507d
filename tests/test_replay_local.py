"""`agent.py replay` of the shipped sample call on the offline brain, exactly as the README's
demo runs it: every caller turn is transcribed and answered by a reply of its own (between it
and the next caller turn, not an apology), and the three outputs are valid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from evals.replay.answers import caller_turns, turn_answers

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "coffee_call.wav"
MANIFEST = json.loads((ROOT / "samples" / "coffee_call.json").read_text())
KEY_VARS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "OPENAI_BASE_URL", "BRAIN")


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("replay")
    out = tmp / "out"
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env["ORDERS_DB"] = str(tmp / "orders.sqlite")
    proc = subprocess.run(
        [sys.executable, "agent.py", "replay", str(SAMPLE), "--out", str(out), "--brain", "local"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("transcript.jsonl", "call.ogg", "summary.json"):
        assert f"wrote {out / name}" in proc.stdout
    assert not list(out.glob(".replay-partial-*"))
    return out


@pytest.mark.slow
def test_every_caller_turn_is_transcribed_and_answered(replay: Path) -> None:
    rows = [json.loads(line) for line in (replay / "transcript.jsonl").read_text().splitlines()]
    assert all({"role", "text"} <= row.keys() for row in rows)
    assert {r["role"] for r in rows} <= {"user", "assistant", "tool"}
    users = [r for r in rows if r["role"] == "user"]
    speech = [r for r in rows if r["role"] in ("user", "assistant")]
    assert all(isinstance(r["start"], float) and r["end"] >= r["start"] for r in speech)
    # each caller turn with its own answer: agent speech after it and before the next turn,
    # never an apology
    own = {a.caller_start: a for a in turn_answers(rows, caller_turns(rows))}
    for turn in MANIFEST["caller_turns"]:
        # the caller's line is found where it was spoken on the recording's timeline
        match = [u for u in users if abs(u["start"] - turn["start"]) < 1.5]
        assert match, (turn, users)
        said = set(turn["text"].lower().replace(",", "").replace(".", "").split())
        heard = set(match[0]["text"].lower().replace(",", "").replace(".", "").split())
        assert len(said & heard) >= len(said) / 2, (turn["text"], match[0]["text"])
        # and answered, by a reply of its own
        answer = own[match[0]["start"]]
        assert answer.status == "answered", (turn["text"], answer, rows)
    assert len(users) == len(MANIFEST["caller_turns"])


@pytest.mark.slow
def test_summary_has_a_latency_row_per_turn(replay: Path) -> None:
    summary = json.loads((replay / "summary.json").read_text())
    assert summary["brain"] == "local"
    turns = summary["turns"]
    assert len(turns) == len(MANIFEST["caller_turns"])
    for t in turns:
        assert 0 < t["latency"] < 15
        assert abs(t["latency"] - (t["agent_start"] - t["user_end"])) < 0.01
        for key in ("eou_delay", "stt", "llm_ttft", "tts_ttfb"):
            assert t[key] is None or 0 <= t[key] < 15, (key, t)
        assert t["llm_ttft"] is not None and t["tts_ttfb"] is not None


@pytest.mark.slow
def test_call_recording_is_stereo_caller_left_agent_right(replay: Path) -> None:
    with av.open(str(replay / "call.ogg")) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus" and stream.codec_context.channels == 2
        pcm = np.concatenate(
            [f.to_ndarray().reshape(2, -1) if f.format.is_planar else
             f.to_ndarray().reshape(-1, 2).T for f in container.decode(stream)], axis=1
        )  # fmt: skip
        rate = stream.codec_context.sample_rate
    duration = pcm.shape[1] / rate
    assert duration >= MANIFEST["caller_turns"][-1]["end"]
    rows = [json.loads(line) for line in (replay / "transcript.jsonl").read_text().splitlines()]

    def level(channel: int, start: float, end: float) -> float:
        seg = pcm[channel, int(start * rate) : int(end * rate)]
        return float(np.abs(seg).mean()) if seg.size else 0.0

    agent_spans = [(r["start"], r["end"]) for r in rows if r["role"] == "assistant"]

    def caller_only(start: float, end: float) -> tuple[float, float]:
        """The longest stretch of [start, end] with no agent speech."""
        cuts = sorted([start, end] + [t for a, b in agent_spans for t in (a, b) if start < t < end])
        gaps = [
            (a, b) for a, b in zip(cuts, cuts[1:], strict=False)
            if not any(x < (a + b) / 2 < y for x, y in agent_spans)
        ]  # fmt: skip
        return max(gaps, key=lambda g: g[1] - g[0])

    lo, hi = max((caller_only(t["start"], t["end"]) for t in MANIFEST["caller_turns"]),
                 key=lambda g: g[1] - g[0])  # fmt: skip
    assert hi - lo > 1.0
    assert level(0, lo, hi) > 10 * max(level(1, lo, hi), 1e-4)
    first = MANIFEST["caller_turns"][0]
    answer = next(r for r in rows if r["role"] == "assistant" and r["start"] > first["end"])
    mid = (answer["start"] + answer["end"]) / 2
    assert level(1, mid - 0.5, mid + 0.5) > 10 * max(level(0, mid - 0.5, mid + 0.5), 1e-4)
