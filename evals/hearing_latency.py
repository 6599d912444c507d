"""Hearing on the offline brain, old against new: `python -m evals.hearing_latency`.

Replays a call (real time: the latency metrics are wall-clock) on the `local` brain through
the whole suite twice per run, once with the local STT as before (`LOCAL_STT_SPECULATE=off`:
LiveKit's `StreamAdapter`, Whisper after Silero's end of speech) and once with speculative
early transcription (`all`: `fasterwhisper.SpeculativeSTT`), alternating which goes first.
`--telephony` replays it as a phone call (8 kHz G.711 mu-law, the telephony variant: Whisper
base). Everything else is the same call: same brain, same engines, same process.

`--compare phone-model` (over the phone leg) alternates the phone leg's Whisper instead:
`base` against `tiny.en` (`LOCAL_PHONE_STT`), each with the speculation it gets under
`LOCAL_STT_SPECULATE` as set (default `all`: both speculated; `wideband`: base after the
end of speech, tiny.en speculated), so each variant is the phone leg as it would ship. `--compare phone-beam`
alternates the phone leg's beam width (`LOCAL_PHONE_STT_BEAM`): 5 against 1 (greedy).
`--compare phone-window` alternates the phone leg's encoder window (`LOCAL_PHONE_STT_WINDOW`):
Whisper's 30 s against 22 s.

Printed per variant, over every answered turn and over **policy turns** (the ordering policy
answered: LLM first token under 50 ms, or no LLM step) separately: caller stops -> first agent audio
(`latency`), end-of-utterance delay and the STT's transcription delay (the hearing part),
median [IQR] and p95; the new - old difference of medians with a 95 % bootstrap interval,
and the median of the paired differences (the same caller turn of the same run, matched by
when the caller stopped) with its 95 % bootstrap interval;
the background passes (started / used / dropped as stale); and, from each replay's
`call.ogg` scored by `evals.calls` (timing only), how often the agent started while the
caller was speaking. The machine's 1-minute load average is printed before the first replay
and after each pair. Run it alone: `flock /tmp/bench.lock python -m evals.hearing_latency`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from agents.brain import Caller, choose_brain
from agents.brain.local_models import prewarm_local_models
from agents.config import ConfigError, Settings, load_env
from agents.side_channel import turn_latencies
from evals.latency import Spread, median_diff_ci, paired_median_ci
from evals.replay import replay_call
from evals.replay.recording import RecordingError, load_recording
from evals.replay.telephony import from_args

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "order_call.wav"
VARIANTS = ("old", "new")
"""old = LOCAL_STT_SPECULATE=off, new = all (speculation on whichever leg is replayed)."""
COMPARISONS: dict[str, tuple[str, str]] = {
    "speculation": VARIANTS,
    "phone-model": ("base", "tiny.en"),
    "phone-beam": ("beam5", "beam1"),
    "phone-window": ("window30", "window22"),
}
"""`--compare`: the two variants, the first as the baseline (`LOCAL_PHONE_STT` values for
`phone-model`; `LOCAL_PHONE_STT_BEAM` 5 and 1 for `phone-beam`; `LOCAL_PHONE_STT_WINDOW` 30
and 22 for `phone-window`)."""
PHONE_LEG_COMPARISONS = ("phone-model", "phone-beam", "phone-window")
PAIR_WITHIN_S = 1.0
"""Two turns of the same run pair up when the caller stopped within this many seconds of
each other in both replays (the same recording: the same turn)."""
POLICY_TTFT_S = 0.05
"""A turn whose LLM first token came this fast was answered by the ordering policy; a turn
with no LLM step at all (the scripted goodbye) is a policy turn too."""
STAGES = ("latency", "eou_delay", "stt")


@dataclasses.dataclass
class Replay:
    variant: str
    turns: list[dict[str, Any]]
    speculation: dict[str, int]
    agent_started_over_caller: int
    caller_turns: int
    run: int = 0
    """Which run (pair of replays) this replay belongs to."""


def _stats_of(stt: Any) -> dict[str, int]:
    """The SpeculativeSTT's counts, wherever it sits in the session's STT."""
    seen = 0
    while stt is not None and seen < 8:
        stats = getattr(stt, "stats", None)
        if stats is not None and hasattr(stats, "passes"):
            return dataclasses.asdict(stats)
        stt = getattr(stt, "wrapped_stt", None) or getattr(stt, "inner", None)
        seen += 1
    return {}


def _talk_over(ogg: Path) -> tuple[int, int]:
    """(times the agent started while the caller spoke, caller turns), read off the audio by
    `evals.calls` (VAD on each channel, no transcripts)."""
    from evals.calls import ScoreOptions, load_stereo, score_call

    report = score_call(load_stereo(ogg), ScoreOptions(stt=None))
    metrics = report["metrics"]
    return int(metrics["agent_interruptions"]), int(metrics["caller_turns"])


def variant_settings(settings: Settings, variant: str) -> Settings:
    """The settings one variant's replay runs with (`VARIANTS` or `COMPARISONS`)."""
    if variant in COMPARISONS["phone-model"]:
        return dataclasses.replace(settings, brain="local", local_phone_stt=variant)
    if variant in COMPARISONS["phone-beam"]:
        beam = int(variant.removeprefix("beam"))
        return dataclasses.replace(settings, brain="local", local_phone_stt_beam=beam)
    if variant in COMPARISONS["phone-window"]:
        window = float(variant.removeprefix("window"))
        return dataclasses.replace(settings, brain="local", local_phone_stt_window=window)
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    return dataclasses.replace(
        settings, brain="local", local_stt_speculate="all" if variant == "new" else "off"
    )


async def _one(
    settings: Settings, variant: str, recording_path: Path, out: Path, telephony: bool, run: int
) -> Replay:
    s = dataclasses.replace(
        variant_settings(settings, variant), orders_db=str(out / "orders.sqlite")
    )
    phone = from_args(telephony=telephony, loss=0.0, jitter=0.0, seed=0, brain="local")
    caller = Caller.from_participant(phone.caller.participant()) if phone else None
    choice = choose_brain(s, job_metadata=phone.job_metadata if phone else "", caller=caller)
    ogg = out / "call.ogg"
    call, t0 = await replay_call(
        s, choice, load_recording(recording_path), ogg_path=ogg, phone=phone
    )
    turns = turn_latencies(call.session.history, t0)
    spec = _stats_of(call.session.stt)
    over, caller_turns = _talk_over(ogg)
    return Replay(variant, turns, spec, over, caller_turns, run)


def _load() -> float:
    return os.getloadavg()[0]


def is_policy(turn: dict[str, Any]) -> bool:
    ttft = turn.get("llm_ttft")
    return ttft is None or ttft < POLICY_TTFT_S


def values(replays: list[Replay], variant: str, stage: str, policy_only: bool) -> list[float]:
    out = []
    for r in replays:
        if r.variant != variant:
            continue
        for t in r.turns:
            if t.get(stage) is None or (policy_only and not is_policy(t)):
                continue
            out.append(float(t[stage]))
    return out


def paired(
    replays: list[Replay], base: str, other: str, stage: str, policy_only: bool
) -> list[tuple[float, float]]:
    """(other, base) values of the same caller turn in the same run: turns matched by when
    the caller stopped (within `PAIR_WITHIN_S`), each turn used once."""
    pairs: list[tuple[float, float]] = []
    runs = sorted({r.run for r in replays})
    for run in runs:
        a = [r for r in replays if r.run == run and r.variant == base]
        b = [r for r in replays if r.run == run and r.variant == other]
        if len(a) != 1 or len(b) != 1:
            continue

        def usable(r: Replay) -> list[dict[str, Any]]:
            return [
                t
                for t in r.turns
                if t.get(stage) is not None
                and t.get("user_end") is not None
                and not (policy_only and not is_policy(t))
            ]

        left = usable(b[0])
        for t in usable(a[0]):
            near = [u for u in left if abs(u["user_end"] - t["user_end"]) <= PAIR_WITHIN_S]
            if not near:
                continue
            u = min(near, key=lambda u: abs(u["user_end"] - t["user_end"]))
            left.remove(u)
            pairs.append((float(u[stage]), float(t[stage])))
    return pairs


def _fmt(sp: Spread | None) -> str:
    if sp is None:
        return "n/a"
    return (
        f"{sp.median * 1000:.0f} [{sp.q25 * 1000:.0f}-{sp.q75 * 1000:.0f}] p95 {sp.p95 * 1000:.0f}"
    )


def _sep(low: float, high: float) -> str:
    return "separated" if low > 0 or high < 0 else "not separated"


def table(replays: list[Replay], title: str, variants: tuple[str, str] = VARIANTS) -> str:
    a, b = variants
    rows = [
        title,
        "",
        f"| turns | stage | n {a}/{b} | {a} median [IQR] p95 | {b} median [IQR] p95 | "
        f"{b}-{a} 95% CI | paired {b}-{a} median (95% CI, pairs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, policy_only in (("policy", True), ("all", False)):
        for stage in STAGES:
            old = values(replays, a, stage, policy_only)
            new = values(replays, b, stage, policy_only)
            so, sn = Spread.of(old), Spread.of(new)
            ci = median_diff_ci(new, old)
            ci_s = (
                "n/a"
                if ci is None
                else (f"{ci[0] * 1000:+.0f} to {ci[1] * 1000:+.0f} ({_sep(*ci)})")
            )
            pairs = paired(replays, a, b, stage, policy_only)
            pci = paired_median_ci(pairs)
            pci_s = (
                "n/a"
                if pci is None
                else (
                    f"{pci[0] * 1000:+.0f} ({pci[1] * 1000:+.0f} to {pci[2] * 1000:+.0f}, "
                    f"{len(pairs)}; {_sep(pci[1], pci[2])})"
                )
            )
            rows.append(
                f"| {label} | {stage} | {len(old)}/{len(new)} | {_fmt(so)} | {_fmt(sn)} | {ci_s} "
                f"| {pci_s} |"
            )
    for variant in variants:
        mine = [r for r in replays if r.variant == variant]
        over = sum(r.agent_started_over_caller for r in mine)
        answered = sum(1 for r in mine for t in r.turns if t.get("latency") is not None)
        spec: dict[str, int] = {}
        for r in mine:
            for k, v in r.speculation.items():
                spec[k] = spec.get(k, 0) + v
        spec_s = (
            f"segments {spec.get('segments', 0)}, background passes {spec.get('passes', 0)}, "
            f"used {spec.get('used', 0)}, dropped stale {spec.get('stale', 0)}"
            if spec
            else "no background passes (StreamAdapter)"
        )
        rows.append(
            f"\n{variant}: {len(mine)} replays, {answered} turns answered; agent started while "
            f"the caller spoke: {over}; {spec_s}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.hearing_latency", description=__doc__)
    p.add_argument("--runs", type=int, default=5, help="replays per variant (default 5)")
    p.add_argument("--recording", type=Path, default=SAMPLE, help=f"default {SAMPLE.name}")
    p.add_argument("--telephony", action="store_true", help="over the simulated phone leg")
    p.add_argument(
        "--compare",
        choices=tuple(COMPARISONS),
        default="speculation",
        help="speculation: old (StreamAdapter) against new (SpeculativeSTT), default; "
        "phone-model: the phone leg's Whisper, base against tiny.en; phone-beam: the phone "
        "leg's beam width, 5 against 1; phone-window: the phone leg's encoder window, 30 s "
        "against 22 s (all three imply --telephony)",
    )
    p.add_argument("--json", type=Path, help="also write every turn here")
    p.add_argument(
        "--from-json", type=Path, help="print the tables of an earlier run's --json; replay nothing"
    )
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be >= 1")
    variants = COMPARISONS[args.compare]
    telephony = args.telephony or args.compare in PHONE_LEG_COMPARISONS
    if args.from_json:
        data = json.loads(args.from_json.read_text())
        earlier = [Replay(**r) for r in data["replays"]]
        variants = COMPARISONS[data.get("compare", "speculation")]
        print(table(earlier, f"Hearing, from {args.from_json.name} (ms)", variants))
        print(
            "load average (1 min) before the first replay and after each pair: "
            + ", ".join(f"{x:.2f}" for x in data["load"])
        )
        return 0
    load_env()
    try:
        settings = Settings.from_env()
        load_recording(args.recording)
    except (ConfigError, RecordingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    prewarm_local_models(settings)  # both Whispers, the LLM, Piper: before any call
    loads = [_load()]
    replays: list[Replay] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        for i in range(args.runs):
            order = variants if i % 2 == 0 else variants[::-1]
            for variant in order:
                print(f"run {i + 1}/{args.runs}: {variant}...", file=sys.stderr)
                out = tmp / f"{variant}-{i}"
                out.mkdir()
                replays.append(
                    asyncio.run(_one(settings, variant, args.recording, out, telephony, i))
                )
            loads.append(_load())
    if args.compare == "phone-model":
        leg = "phone leg (8 kHz mu-law)"
        what = (
            "base = LOCAL_PHONE_STT=base, tiny.en = LOCAL_PHONE_STT=tiny.en, "
            f"LOCAL_STT_SPECULATE={settings.local_stt_speculate}"
        )
    elif args.compare == "phone-beam":
        leg = f"phone leg (8 kHz mu-law, Whisper {settings.local_phone_stt})"
        what = "beam5 / beam1 = LOCAL_PHONE_STT_BEAM=5 / 1"
    elif args.compare == "phone-window":
        leg = f"phone leg (8 kHz mu-law, Whisper {settings.local_phone_stt})"
        what = (
            "window30 / window22 = LOCAL_PHONE_STT_WINDOW=30 / 22, "
            f"LOCAL_STT_SPECULATE={settings.local_stt_speculate}"
        )
    else:
        model = settings.local_phone_stt if telephony else "tiny.en"
        leg = f"phone leg (8 kHz mu-law, Whisper {model})" if telephony else "16 kHz (tiny.en)"
        what = "old = StreamAdapter, new = SpeculativeSTT"
    title = f"Hearing, {args.recording.name}, {leg}, {args.runs} replay(s) per variant, {what} (ms)"
    print(table(replays, title, variants))
    print(
        "load average (1 min) before the first replay and after each pair: "
        + ", ".join(f"{x:.2f}" for x in loads)
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "compare": args.compare,
                    "replays": [dataclasses.asdict(r) for r in replays],
                    "load": loads,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
