"""Silero VAD's start-of-speech threshold, measured: missed caller lines against false starts.

    python -m evals.vad_threshold [--thresholds 0.5,0.4,0.35] [--seeds 3] [--silence S] [--json F]

The worker's VAD (`agents.brain.assembly.silero_vad`) decides when the caller starts
speaking: it opens the STT segment and it is what barges in on the agent. A line that never
starts speech is lost whole (a whispered "Yes, please place it." in stop 42's blind22), and a
start on noise or on the agent's own voice leaking back interrupts the agent for nothing. The
threshold trades one for the other; this bench runs LiveKit's Silero plugin (the production
`VADStream`, one stream per clip) at each threshold on:

- **caller lines**: short answers and requests ("Yes.", "Make it two.") in flite and espeak-ng
  voices at the eval's speech level, the same voices 15 dB quieter, espeak-ng's two whispered
  variants, and real human speech (Debian `pocketsphinx-testdata`); each at 16 kHz and as a
  SIP bridge delivers it (8 kHz G.711 mu-law), with seeded line noise. A line is *missed* when
  no start of speech falls inside it; *start delay* is from the line's first sample to the
  start event, *end lag* from its last sample to the last end event (what the turn detector
  waits on, so a lower deactivation threshold shows up there; a line with a pause in it may
  be two segments);
- **no caller**: 30 s of line noise at -50, -45 and -40 dBFS, and the agent's own Piper voice
  leaking back 25 and 35 dB under the caller's level (a handset or an imperfect echo
  canceller) over -50 dBFS noise: every start there is false.

Prints a row per threshold, group and rate with spread over clips (median [p10-p90]), false
starts per minute (mean [min-max] over seeds), and the machine's load before and after; the
VAD ends speech after the offline brain's 0.3 s of silence unless `--silence` says otherwise.
The default threshold (0.5, `agents.brain.profiles.SILERO_ACTIVATION`) is the baseline,
measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from agents.brain.profiles import PROFILES, SILERO_ACTIVATION
from evals.orders.voices import SPEECH_RMS_DBFS, level, line_noise, parse_voice, synthesize
from evals.replay.telephony import SIP_RATE, resample, telephone_audio
from evals.stt_phone_bench import piper_16k

RATE = 16000
LINES = ("Yes.", "No.", "Yes, please place it.", "That's all.", "A latte, please.", "Make it two.")
VOICED = ("flite:kal", "flite:slt", "flite:awb", "espeak:en-us+m3", "espeak:en-gb-scotland+f2")
WHISPERED = ("espeak:en-us+whisper", "espeak:en-us+whisperf")
QUIET_DB = -15.0
"""How much quieter the "quiet" group is than the eval's speech level."""
HUMAN_DIR = Path("/usr/share/pocketsphinx/test/data")
AGENT_LINES = (
    "Hi, thanks for calling. What can I get you?",
    "Just to check: one iced oat milk latte, right?",
    "That's one latte. Shall I place the order?",
    "Sorry, I didn't catch which drink.",
)
NOISE_DB = -50.0
"""Line noise under every caller line (the eval's callers use -47 to -55 dBFS)."""
NOISE_S = 30.0
LEAD_S, TAIL_S = 0.6, 1.5
LOCAL_SILENCE = PROFILES["local"].vad_silence
"""The offline brain's VAD silence (0.3 s); `--silence 0.55` is the cloud brains'."""


@dataclass
class Clip:
    group: str
    rate: str
    pcm: np.ndarray
    sample_rate: int
    onset: int
    offset: int


@dataclass
class Outcome:
    group: str
    rate: str
    threshold: float
    clips: int = 0
    missed: int = 0
    start_delay_ms: list[float] = field(default_factory=list)
    end_lag_ms: list[float] = field(default_factory=list)


async def events(
    pcm: np.ndarray, rate: int, threshold: float, silence: float = LOCAL_SILENCE
) -> list[tuple[str, int]]:
    """(kind, sample index) of every start and end of speech the worker's VAD gives `pcm`,
    with its activation threshold at `threshold` and its end after `silence` seconds: the
    plugin's own stream, frame by frame."""
    from livekit import rtc
    from livekit.agents import vad as agents_vad

    from agents.brain.assembly import silero_vad

    stream = silero_vad(silence, threshold).stream()
    out: list[tuple[str, int]] = []

    async def read() -> None:
        async for ev in stream:
            if ev.type == agents_vad.VADEventType.START_OF_SPEECH:
                out.append(("start", round(ev.timestamp * rate)))
            elif ev.type == agents_vad.VADEventType.END_OF_SPEECH:
                out.append(("end", round(ev.timestamp * rate)))

    task = asyncio.create_task(read())
    step = rate // 100
    for i in range(0, len(pcm) - step + 1, step):
        frame = np.ascontiguousarray(pcm[i : i + step], dtype=np.int16)
        stream.push_frame(rtc.AudioFrame(frame.tobytes(), rate, 1, step))
    stream.end_input()
    await task
    return out


def _voiced(pcm: np.ndarray) -> np.ndarray:
    """`pcm` without the silence a synthesizer or a recording has before and after the words
    (under 2 % of the peak), so delays count from the first word."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 0.02 * np.abs(pcm.astype(np.int32)).max())
    return pcm[loud[0] : loud[-1] + 1] if len(loud) else pcm


def _on_line(pcm: np.ndarray, native: int, rate: str, db: float, rng: np.random.Generator) -> Clip:
    """A caller line levelled `db` dBFS, between stretches of line noise, at 16 kHz or as the
    SIP bridge delivers it."""
    speech = _voiced(level(resample(pcm, native, RATE), db)).astype(np.float64)
    lead, tail = int(LEAD_S * RATE), int(TAIL_S * RATE)
    x = np.concatenate([np.zeros(lead), speech, np.zeros(tail)])
    x = np.clip(x + line_noise(len(x), NOISE_DB, rng), -32768, 32767).astype(np.int16)
    if rate == "16k":
        return Clip("", rate, x, RATE, lead, lead + len(speech))
    scale = SIP_RATE / RATE
    return Clip(
        "",
        rate,
        telephone_audio(x, RATE),
        SIP_RATE,
        round(lead * scale),
        round((lead + len(speech)) * scale),
    )


def human_lines(limit: int) -> list[tuple[np.ndarray, int]]:
    """Real recorded speech from `pocketsphinx-testdata` (empty where it is not installed)."""
    import soundfile as sf

    paths = sorted(HUMAN_DIR.glob("*/*.wav"))[:limit] if HUMAN_DIR.is_dir() else []
    out = []
    for p in paths:
        data, native = sf.read(p, dtype="int16", always_2d=True)
        out.append((np.ascontiguousarray(data[:, 0]), int(native)))
    return out


def caller_clips(seeds: int, humans: int) -> list[Clip]:
    """Every caller line of the bench, in each group and rate, once per seed."""
    voiced = [synthesize(t, parse_voice(v)) for v in VOICED for t in LINES]
    whispered = [synthesize(t, parse_voice(v)) for v in WHISPERED for t in LINES]
    groups: list[tuple[str, list[tuple[np.ndarray, int]], float]] = [
        ("voiced", voiced, SPEECH_RMS_DBFS),
        ("quiet", voiced, SPEECH_RMS_DBFS + QUIET_DB),  # the same lines, synthesised once
        ("whispered", whispered, SPEECH_RMS_DBFS),
        ("human", human_lines(humans), SPEECH_RMS_DBFS),
    ]
    clips = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        for name, lines, db in groups:
            for pcm, native in lines:
                for rate in ("16k", "8k-mulaw"):
                    c = _on_line(pcm, native, rate, db, rng)
                    c.group = name
                    clips.append(c)
    return clips


def empty_clips(seeds: int) -> list[Clip]:
    """Audio with no caller in it: line noise at three levels, and the agent's own voice
    leaking back under line noise."""
    n = int(NOISE_S * RATE)
    agent = np.concatenate(
        [
            np.concatenate([piper_16k(t).astype(np.float64), np.zeros(RATE // 2)])
            for t in AGENT_LINES
        ]
    )
    agent = level(agent.astype(np.int16), SPEECH_RMS_DBFS).astype(np.float64)
    reps = int(np.ceil(n / len(agent)))
    agent = np.tile(agent, reps)[:n]
    clips = []
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        for db in (-50.0, -45.0, -40.0):
            x = np.clip(line_noise(n, db, rng), -32768, 32767).astype(np.int16)
            clips.append(Clip(f"noise {db:.0f} dBFS", "16k", x, RATE, 0, 0))
        for below in (35.0, 25.0):
            leak = agent * 10 ** (-below / 20) + line_noise(n, NOISE_DB, rng)
            x = np.clip(leak, -32768, 32767).astype(np.int16)
            clips.append(Clip(f"agent echo -{below:.0f} dB", "16k", x, RATE, 0, 0))
    return clips


def _pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def _spread(xs: Sequence[float]) -> str:
    if not xs:
        return "-"
    return f"{statistics.median(xs):.0f} [{_pct(xs, 10):.0f}-{_pct(xs, 90):.0f}]"


async def score_callers(clips: Sequence[Clip], threshold: float, silence: float) -> list[Outcome]:
    by: dict[tuple[str, str], Outcome] = {}
    for c in clips:
        o = by.setdefault((c.group, c.rate), Outcome(c.group, c.rate, threshold))
        evs = await events(c.pcm, c.sample_rate, threshold, silence)
        ms = 1000 / c.sample_rate
        starts = [i for k, i in evs if k == "start" and c.onset - 0.1 * c.sample_rate <= i]
        starts = [i for i in starts if i <= c.offset + 0.3 * c.sample_rate]
        o.clips += 1
        if not starts:
            o.missed += 1
            continue
        o.start_delay_ms.append((starts[0] - c.onset) * ms)
        ends = [i for k, i in evs if k == "end" and i > starts[0]]
        if ends:  # the last end: when the caller is done for the VAD (a line may pause)
            o.end_lag_ms.append((ends[-1] - c.offset) * ms)
    return list(by.values())


async def score_empty(
    clips: Sequence[Clip], threshold: float, silence: float
) -> dict[str, list[float]]:
    """False starts per minute, per kind of empty audio, one figure per seed."""
    out: dict[str, list[float]] = {}
    for c in clips:
        evs = await events(c.pcm, c.sample_rate, threshold, silence)
        starts = sum(1 for k, _ in evs if k == "start")
        out.setdefault(c.group, []).append(starts * 60 * c.sample_rate / len(c.pcm))
    return out


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def run(thresholds: Sequence[float], seeds: int, humans: int, silence: float) -> dict:
    load_before = _load()
    callers, empty = caller_clips(seeds, humans), empty_clips(seeds)
    rows: list[dict] = []
    for thr in thresholds:
        outcomes = await score_callers(callers, thr, silence)
        false = await score_empty(empty, thr, silence)
        rows.append(
            {
                "threshold": thr,
                "callers": [
                    {
                        **asdict(o),
                        "start_delay": _spread(o.start_delay_ms),
                        "end_lag": _spread(o.end_lag_ms),
                    }
                    for o in outcomes
                ],
                "false_starts_per_min": false,
            }
        )
    return {"load_before": load_before, "load_after": _load(), "seeds": seeds,
            "silence": silence, "rows": rows}  # fmt: skip


def print_table(result: dict) -> None:
    print(
        f"load average before: {result['load_before']}, after: {result['load_after']}; "
        f"{result['seeds']} noise seeds; VAD silence {result['silence']} s; baseline = threshold {SILERO_ACTIVATION}"
    )
    print()
    print("| threshold | group | rate | missed | start delay ms | end lag ms |")
    print("|---|---|---|---|---|---|")
    for row in result["rows"]:
        for o in row["callers"]:
            print(
                f"| {row['threshold']} | {o['group']} | {o['rate']} | "
                f"{o['missed']}/{o['clips']} | {o['start_delay']} | {o['end_lag']} |"
            )
    print()
    kinds = list(result["rows"][0]["false_starts_per_min"])
    print("| threshold | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for row in result["rows"]:
        cells = []
        for k in kinds:
            xs = row["false_starts_per_min"][k]
            cells.append(f"{statistics.mean(xs):.1f} [{min(xs):.1f}-{max(xs):.1f}]")
        print(f"| {row['threshold']} | " + " | ".join(cells) + " |")
    print("\n(false starts per minute: mean [min-max] over seeds)")


def _thresholds(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"thresholds: numbers separated by commas, got {text!r}"
        ) from None
    if not values or any(not 0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds: each between 0 and 1, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.vad_threshold", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--thresholds", type=_thresholds, default=[0.5, 0.4, 0.35, 0.3])
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds (default 3)")
    parser.add_argument("--humans", type=int, default=12, help="real recorded lines (default 12)")
    parser.add_argument(
        "--silence", type=float, default=LOCAL_SILENCE,
        help=f"the VAD's min_silence_duration (default {LOCAL_SILENCE}: the offline brain's)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.humans < 0 or not 0 < args.silence <= 5:
        parser.error("--seeds must be 1 or more, --humans 0 or more, --silence in (0, 5] s")
    result = asyncio.run(run(args.thresholds, args.seeds, args.humans, args.silence))
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
