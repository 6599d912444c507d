"""Latency benchmark of the offline pipeline: `python -m evals.latency [--runs N]`.

Replays a call (in real time: the latency metrics are wall-clock) on the `local` brain through
the whole suite (brain selection, coffee agent with its greeting, tool runtime, order store,
semantic turn detector, the guided ordering policy, the model's prompt prefilled in prewarm),
and through a bare `AgentSession` with the same engines (same Whisper, local GGUF model, Piper,
Silero VAD and turn detector; the same instructions). The bare variant lacks: the greeting
(its caller speaks into silence), the tools and the ordering policy (the raw model answers
every turn), and the prompt warm-up (its first turn pays llama.cpp's cold prefill). Both
variants run in this process, alternating, so the comparison is made on one machine under
one load.

Per stage (caller-stop-to-agent-start latency, end-of-utterance delay, STT, LLM time to first
token, TTS time to first byte) it prints, for each variant, the median over every answered
turn with its interquartile range and p5-p95, the suite / bare ratio of medians, and a 95 %
bootstrap interval of the difference of medians (suite - bare): when that interval excludes
0 the variants are separated at this number of turns; when it does not, run more `--runs`.
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
SAMPLE = ROOT / "samples" / "order_call.wav"
"""Four caller turns, each answered with tool calls by the suite."""
CASCADE_SAMPLE = ROOT / "samples" / "coffee_call.wav"
"""`--cascade`'s default: three caller turns, their words in coffee_call.json."""
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


BOOTSTRAP_RESAMPLES = 2000
BARE_LACKS = (
    "bare lacks: the greeting (the caller speaks into silence), the tools and the ordering "
    "policy (the raw model answers every turn), the prompt warm-up (turn 1 pays a cold prefill)"
)


@dataclasses.dataclass(frozen=True)
class Spread:
    """One stage of one variant over every answered turn (seconds)."""

    n: int
    median: float
    q25: float
    q75: float
    p5: float
    p95: float

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        if not values:
            return None
        q = np.percentile(values, [50, 25, 75, 5, 95])
        return cls(len(values), *(float(x) for x in q))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Suite against bare for one stage: both spreads and the difference of medians."""

    stage: str
    bare: Spread | None
    suite: Spread | None
    diff_ci: tuple[float, float] | None
    """95 % bootstrap interval of median(suite) - median(bare), seconds."""

    @property
    def separated(self) -> bool | None:
        if self.diff_ci is None:
            return None
        low, high = self.diff_ci
        return low > 0 or high < 0

    @property
    def ratio(self) -> float | None:
        if self.bare is None or self.suite is None or self.bare.median <= 0:
            return None
        return self.suite.median / self.bare.median


def stage_values(turns: list[dict[str, Any]], stage: str) -> list[float]:
    return [float(t[stage]) for t in turns if t.get(stage) is not None]


def median_diff_ci(
    suite: list[float], bare: list[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float] | None:
    """95 % percentile-bootstrap interval of median(suite) - median(bare) (fixed seed, so the
    same turns always print the same interval); None when either side has under 2 turns."""
    if len(suite) < 2 or len(bare) < 2:
        return None
    rng = np.random.default_rng(seed)
    s, b = np.asarray(suite), np.asarray(bare)
    s_med = np.median(rng.choice(s, size=(resamples, len(s))), axis=1)
    b_med = np.median(rng.choice(b, size=(resamples, len(b))), axis=1)
    low, high = np.percentile(s_med - b_med, [2.5, 97.5])
    return float(low), float(high)


def paired_median_ci(
    pairs: list[tuple[float, float]], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float, float] | None:
    """Median of the per-pair differences (suite - bare) and its 95 % percentile-bootstrap
    interval (fixed seed); None under 2 pairs. Pairing the same turn of the same call takes
    out what varies from turn to turn (a tool round trip or none) and leaves the suite."""
    if len(pairs) < 2:
        return None
    d = np.asarray([s - b for s, b in pairs])
    rng = np.random.default_rng(seed)
    meds = np.median(rng.choice(d, size=(resamples, len(d))), axis=1)
    low, high = np.percentile(meds, [2.5, 97.5])
    return float(np.median(d)), float(low), float(high)


def compare(suite: list[dict[str, Any]], bare: list[dict[str, Any]]) -> list[Comparison]:
    out = []
    for stage in STAGES:
        s, b = stage_values(suite, stage), stage_values(bare, stage)
        out.append(Comparison(stage, Spread.of(b), Spread.of(s), median_diff_ci(s, b)))
    return out


def _ms(v: float) -> str:
    return f"{v * 1000:.0f}"


def _median_iqr(sp: Spread | None) -> str:
    return "n/a" if sp is None else f"{_ms(sp.median)} [{_ms(sp.q25)}-{_ms(sp.q75)}]"


def _p5_p95(sp: Spread | None) -> str:
    return "n/a" if sp is None else f"{_ms(sp.p5)}-{_ms(sp.p95)}"


def _ci(c: Comparison) -> str:
    if c.diff_ci is None:
        return "n/a"
    verdict = "separated" if c.separated else "not separated"
    return f"{_ms(c.diff_ci[0])} to {_ms(c.diff_ci[1])} ({verdict})"


def render(comparisons: list[Comparison], title: str, caption: str = BARE_LACKS) -> Table:
    table = Table(title=title, caption=caption)
    columns = (
        "stage", "n bare/suite", "bare median [IQR]", "bare p5-p95", "suite median [IQR]",
        "suite p5-p95", "suite/bare", "suite-bare 95% CI",
    )  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col == "stage" else "right")
    for c in comparisons:
        n = f"{c.bare.n if c.bare else 0}/{c.suite.n if c.suite else 0}"
        ratio = "n/a" if c.ratio is None else f"{c.ratio:.2f}x"
        table.add_row(
            c.stage, n, _median_iqr(c.bare), _p5_p95(c.bare), _median_iqr(c.suite),
            _p5_p95(c.suite), ratio, _ci(c),
        )  # fmt: skip
    return table


def render_markdown(comparisons: list[Comparison], title: str, caption: str = BARE_LACKS) -> str:
    """The same figures as `render`, as a Markdown table (what the README quotes)."""
    rows = [
        f"{title}\n",
        "| stage | n bare/suite | bare median [IQR] | bare p5-p95 | suite median [IQR] "
        "| suite p5-p95 | suite/bare | suite-bare 95% CI |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        n = f"{c.bare.n if c.bare else 0}/{c.suite.n if c.suite else 0}"
        ratio = "n/a" if c.ratio is None else f"{c.ratio:.2f}x"
        cells = (
            c.stage, n, _median_iqr(c.bare), _p5_p95(c.bare), _median_iqr(c.suite),
            _p5_p95(c.suite), ratio, _ci(c),
        )  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    rows.append(f"\n{caption}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.latency", description=__doc__)
    p.add_argument(
        "--runs", type=int, default=5, help="replays per variant (default 5: 20 turns each on "
        "samples/order_call.wav)",
    )  # fmt: skip
    p.add_argument(
        "--recording",
        type=Path,
        help=f"default {SAMPLE.name} (--cascade: "
        f"{CASCADE_SAMPLE.name}, which needs its .json of the caller's words)",
    )
    p.add_argument("--json", type=Path, help="also write every turn and the figures here")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument(
        "--cascade",
        action="store_true",
        help="the suite's overhead on the cloud "
        "cascade (loopback Deepgram/OpenAI/Cartesia with realistic delays) against "
        "a bare AgentSession on the same plugins",
    )
    p.add_argument(
        "--model-turns",
        action="store_true",
        help="the offline brain's model-answered turns end to end: small-talk callers "
        "(flite/espeak-ng) replayed through the suite, --compare's feature on/off "
        "alternating; --runs is the number of calls (6 lines each)",
    )
    p.add_argument(
        "--compare",
        choices=("ack", "prefill"),
        default="ack",
        help="--model-turns: alternate the spoken acknowledgement of a slow model turn "
        "(default) or the prompt prefill, on and off",
    )
    p.add_argument("--lines", type=int, help="--model-turns: small-talk lines per call")
    p.add_argument("--keep", type=Path, help="--model-turns, --cascade: keep the calls' audio here")
    p.add_argument(
        "--gate",
        choices=("words", "sentences"),
        default="words",
        help="--model-turns / --cascade: the guardrail gate streams number-free words (as "
        "deployed) or holds whole sentences (as before issue 22)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        help="play only the recording's first SECONDS (a short call, for CI)",
    )
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be >= 1")
    if args.seconds is not None and args.seconds <= 0:
        p.error("--seconds must be > 0")
    if args.cascade:
        return cascade_main(args)
    if args.model_turns:
        from .model_turns import main as model_turns_main

        return model_turns_main(args)
    args.recording = args.recording or SAMPLE
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
            suite += asyncio.run(_suite_run(settings, args.recording, tmp / f"suite-{i}"))
    comparisons = compare(suite, bare)
    title = (
        f"Local brain latency, {args.recording.name}, {args.runs} run(s) per variant (ms; "
        "median [IQR] over answered turns)"
    )
    if args.markdown:
        print(render_markdown(comparisons, title))
    else:
        Console(width=200).print(render(comparisons, title))
    print(f"turns answered: bare {len(bare)}, suite {len(suite)}")
    if args.json:
        figures = {c.stage: dataclasses.asdict(c) | {"separated": c.separated} for c in comparisons}
        args.json.write_text(
            json.dumps({"figures": figures, "bare_turns": bare, "suite_turns": suite}, indent=2)
        )
    return 0


CASCADE_LACKS = (
    "bare: the same plugin objects, VAD, turn detector, instructions, greeting and tools (their "
    "bodies called directly) on a plain AgentSession; suite: the call as a live job builds it "
    "(chains, tool runtime, turn guard, guardrail gate, records, watchdogs, metrics)"
)


def _cpu_row(name: str, values: list[float]) -> str:
    sp = Spread.of(values)
    if sp is None:
        return f"| {name} | 0 | n/a | n/a |"
    return (
        f"| {name} | {sp.n} | {sp.median * 100:.1f} [{sp.q25 * 100:.1f}-{sp.q75 * 100:.1f}] "
        f"| {sp.p5 * 100:.1f}-{sp.p95 * 100:.1f} |"
    )


def cascade_main(args: argparse.Namespace) -> int:
    from .cascade_latency import run_cascade

    recording = args.recording or CASCADE_SAMPLE
    try:
        load_recording(recording)
        result = run_cascade(
            recording,
            args.runs,
            seconds=args.seconds,
            log=lambda m: print(m, file=sys.stderr),
            keep=args.keep,
        )
    except (RecordingError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    suite, bare = result.turns("suite"), result.turns("bare")
    comparisons = compare(suite, bare)
    span = f", first {args.seconds:g} s" if args.seconds else ""
    title = (
        f"Cascade overhead, {recording.name}{span}, {args.runs} call(s) per variant, "
        "loopback providers (ms; median [IQR] over answered turns)"
    )
    if args.markdown:
        print(render_markdown(comparisons, title, CASCADE_LACKS))
    else:
        Console(width=200).print(render(comparisons, title, CASCADE_LACKS))
    print(f"turns answered: bare {len(bare)}, suite {len(suite)}")
    latency = next(c for c in comparisons if c.stage == "latency")
    if latency.bare and latency.suite:
        added = (latency.suite.median - latency.bare.median) * 1000
        pct = 100 * (latency.suite.median / latency.bare.median - 1)
        ci = _ci(latency)
        print(f"added latency per turn: {added:+.0f} ms ({pct:+.1f} %), 95% CI {ci}")
    pairs = result.paired("latency")
    paired = paired_median_ci(pairs)
    if paired is not None:
        med, low, high = (v * 1000 for v in paired)
        print(
            f"paired by call and turn ({len(pairs)} pairs): suite - bare median {med:+.0f} ms, "
            f"95% CI {low:+.0f} to {high:+.0f} ms"
        )
    cpu_s, cpu_b = result.cpu("suite"), result.cpu("bare")
    print("\n| worker CPU per call-second (%) | calls | median [IQR] | p5-p95 |")
    print("|---|---|---|---|")
    print(_cpu_row("bare", cpu_b))
    print(_cpu_row("suite", cpu_s))
    if cpu_s and cpu_b and np.median(cpu_b) > 0:
        print(f"suite/bare CPU: {np.median(cpu_s) / np.median(cpu_b):.2f}x (medians)")
    loads = ", ".join(f"{a:.2f}" for a, _, _ in result.load)
    print(f"load average (1 min) before the first call and after each pair: {loads}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "figures": {c.stage: dataclasses.asdict(c) for c in comparisons},
                    "suite_turns": suite,
                    "bare_turns": bare,
                    "cpu_per_call_second": {"suite": cpu_s, "bare": cpu_b},
                    "latency_pairs": pairs,
                    "load": result.load,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
