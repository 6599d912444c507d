"""`python -m evals.latency`: bad arguments are rejected before replaying anything; the
figures it prints (medians, spread, whether the variants are separated) are computed right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "args,message",
    [
        (["--runs", "0"], "--runs must be >= 1"),
        (["--recording", "/nonexistent/call.wav"], "no such file"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "evals.latency", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr


def _turns(latencies: list[float]) -> list[dict[str, float | None]]:
    return [{"latency": v, "stt": None} for v in latencies]


def test_medians_spread_and_separation_of_the_variants() -> None:
    from evals.latency import compare, render_markdown

    suite = _turns([1.2, 1.25, 1.3, 1.22, 1.28, 1.31, 1.19, 1.27, 1.24, 1.3, 1.26, 1.23])
    bare = _turns([2.9, 3.4, 2.7, 8.6, 3.1, 3.3, 2.8, 3.0, 3.6, 2.95, 3.2, 7.9])
    by_stage = {c.stage: c for c in compare(suite, bare)}
    lat = by_stage["latency"]
    assert lat.suite is not None and lat.bare is not None
    assert (lat.suite.n, lat.bare.n) == (12, 12)
    assert lat.suite.median == pytest.approx(1.255)
    assert lat.bare.q25 < lat.bare.median < lat.bare.q75 <= lat.bare.p95
    assert lat.diff_ci is not None and lat.diff_ci[1] < 0 and lat.separated is True
    assert lat.ratio == pytest.approx(1.255 / lat.bare.median)
    # a stage no turn measured is reported as such, not as zero
    stt = by_stage["stt"]
    assert stt.suite is None and stt.bare is None and stt.separated is None
    table = render_markdown(list(by_stage.values()), "t")
    assert "| latency | 12/12 | 3150 [2938-3450] |" in table and "(separated)" in table
    assert "bare lacks: the greeting" in table


def test_overlapping_variants_are_not_called_separated() -> None:
    from evals.latency import compare

    same = [1.0, 1.4, 0.9, 1.2, 1.1, 1.3, 1.05, 1.25]
    lat = compare(_turns(same), _turns(list(reversed(same))))[0]
    assert lat.diff_ci is not None and lat.diff_ci[0] < 0 < lat.diff_ci[1]
    assert lat.separated is False
    # two turns a side are the least a spread needs; one gives no interval
    assert compare(_turns([1.0]), _turns([2.0, 2.1]))[0].diff_ci is None


@pytest.mark.slow
def test_the_cascade_bench_runs_a_short_call_and_prints_its_table() -> None:
    """`--cascade` on the first 14 s of the sample call (its first caller turn), once per
    variant: both sessions answer through the loopback providers and the table, the added
    latency, the CPU per call-second and the load are printed."""
    proc = subprocess.run(
        [sys.executable, "-m", "evals.latency", "--cascade", "--runs", "1", "--seconds", "14",
         "--markdown"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "Cascade overhead, coffee_call.wav, first 14 s, 1 call(s) per variant" in out
    assert "| latency | 1/1 |" in out  # one answered turn each
    assert "turns answered: bare 1, suite 1" in out
    assert "added latency per turn:" in out
    assert "| bare | 1 |" in out and "| suite | 1 |" in out  # CPU per call-second rows
    assert "load average (1 min) before the first call and after each pair:" in out


def test_a_cascade_recording_without_its_words_is_a_clear_error(tmp_path: Path) -> None:
    import shutil

    wav = tmp_path / "call.wav"
    shutil.copy(ROOT / "samples" / "coffee_call.wav", wav)
    proc = subprocess.run(
        [sys.executable, "-m", "evals.latency", "--cascade", "--recording", str(wav)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "call.json is missing" in proc.stderr


def test_paired_turns_isolate_what_the_suite_adds() -> None:
    """Turns that differ a lot among themselves (a tool round trip or none) but by a steady
    80 ms between the variants: unpaired, the medians' interval spans 0; paired, it does not."""
    from evals.cascade_latency import CallFigures, CascadeRun
    from evals.latency import compare, paired_median_ci

    words = ["a mocha", "a cappuccino", "that's all"]
    base = [1.30, 1.35, 0.90]
    bare_calls, suite_calls = [], []
    for k in range(7):
        jitter = [0.01 * ((k * 3 + i) % 5) for i in range(3)]
        bare = [
            {"user_text": w, "latency": b + j} for w, b, j in zip(words, base, jitter, strict=True)
        ]
        suite = [
            {"user_text": w, "latency": b + j + 0.08}
            for w, b, j in zip(words, base, jitter, strict=True)
        ]
        bare_calls.append(CallFigures(bare, 40.0, 4.0))
        suite_calls.append(CallFigures(suite, 40.0, 4.0))
    # one bare call missed its last turn: that turn has no pair
    bare_calls[0].turns = bare_calls[0].turns[:2]
    run = CascadeRun(suite=suite_calls, bare=bare_calls, load=[])
    pairs = run.paired("latency")
    assert len(pairs) == 20
    result = paired_median_ci(pairs)
    assert result is not None
    median, low, high = result
    assert median == pytest.approx(0.08) and 0 < low <= median <= high
    unpaired = compare(run.turns("suite"), run.turns("bare"))[0]
    assert unpaired.diff_ci is not None and unpaired.diff_ci[0] < 0 < unpaired.diff_ci[1]
    assert paired_median_ci(pairs[:1]) is None
    assert run.cpu("suite") == [0.1] * 7
