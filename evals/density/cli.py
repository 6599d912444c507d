"""`python -m evals.density --sessions 1,5,10,25,50 [--seconds 25] [--no-record] [--processes P]
[--json PATH]`

For each N: a fresh worker process carries N concurrent cascade calls (one thread + event
loop per call, as LiveKit's thread executor runs jobs) against the loopback providers, which
run in a process of their own; prints one table row per N.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from rich.console import Console

from evals.replay.recording import Recording, RecordingError, load_recording

from .providers import ProviderProcess
from .report import DensityRow, build_row, render
from .timing import PacingProbe
from .worker import run_worker_processes

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_RECORDING = ROOT / "samples" / "coffee_call.wav"
FALLBACK_TRANSCRIPTS = ["Hi, I'd like a large mocha, please.", "That's everything, thank you."]


def parse_sessions(raw: str) -> list[int]:
    """`1,5,10` -> [1, 5, 10]; raises ValueError with a one-line message."""
    try:
        values = [int(p) for p in raw.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"--sessions {raw!r}: expected comma-separated whole numbers") from None
    if not values or any(v < 1 for v in values):
        raise ValueError(f"--sessions {raw!r}: expected numbers >= 1, e.g. 1,5,10,25,50")
    return sorted(set(values))


@dataclasses.dataclass(frozen=True)
class CallerScript:
    recording: Recording
    transcripts: list[str]
    """What the loopback Deepgram "hears", utterance after utterance."""
    turns_per_call: int
    """Caller turns inside the played part of the recording (0: unknown, no manifest)."""


def load_caller(path: Path, seconds: float) -> CallerScript:
    rec = load_recording(path)
    if seconds <= 0:
        raise ValueError(f"--seconds {seconds}: must be positive")
    seconds = min(seconds, rec.duration)
    rec = dataclasses.replace(rec, pcm=rec.pcm[: int(seconds * rec.sample_rate)])
    manifest = path.with_suffix(".json")
    if not manifest.is_file():
        return CallerScript(rec, FALLBACK_TRANSCRIPTS, 0)
    turns = json.loads(manifest.read_text())["caller_turns"]
    played = [t for t in turns if t["end"] <= seconds]
    return CallerScript(rec, [t["text"] for t in turns], len(played))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.density",
        description="Concurrent cascade calls in one worker process against loopback providers.",
    )
    p.add_argument("--sessions", default="1,5,10,25,50", help="call counts to measure (N)")
    p.add_argument(
        "--seconds", type=float, default=25.0, help="seconds of the caller recording per call"
    )
    p.add_argument("--recording", default=str(DEFAULT_RECORDING), help="caller recording")
    p.add_argument("--stagger", type=float, default=0.1, help="seconds between two calls' arrivals")
    p.add_argument(
        "--no-record",
        action="store_true",
        help="no call records and no stereo recording (the worker records calls by default)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes sharing each N (1 = all calls in one process)",
    )
    p.add_argument("--json", default="", help="also write the rows to this JSON file")
    return p


def run(
    sessions: list[int],
    caller: CallerScript,
    *,
    record: bool,
    stagger: float,
    processes: int = 1,
    console: Console | None = None,
) -> list[DensityRow]:
    console = console or Console(stderr=True)
    rows: list[DensityRow] = []
    single_peak: int | None = None
    with ProviderProcess(caller.transcripts) as providers:
        assert providers.urls is not None
        for n in sessions:
            console.log(f"{n} concurrent call(s)...")
            before = providers.cpu_seconds()
            with PacingProbe() as probe:
                m = run_worker_processes(
                    n,
                    providers.urls,
                    caller.recording,
                    processes=processes,
                    record=record,
                    stagger=stagger,
                )
            provider_cpu = providers.cpu_seconds() - before
            if m.processes == 1 and n == 1:
                single_peak = m.peak_rss
            if m.local_modules:
                raise RuntimeError(
                    f"the worker loaded local engines ({', '.join(m.local_modules)}) "
                    "with LOCAL_FALLBACK=off"
                )
            rows.append(
                build_row(
                    m,
                    probe=probe.lateness,
                    provider_cpu=provider_cpu,
                    turns_per_call=caller.turns_per_call,
                    load_avg=os.getloadavg()[0],
                    single_peak_rss=single_peak if m.processes == 1 else None,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sessions = parse_sessions(args.sessions)
        if args.stagger < 0:
            raise ValueError(f"--stagger {args.stagger}: must not be negative")
        if args.processes < 1:
            raise ValueError(f"--processes {args.processes}: must be at least 1")
        caller = load_caller(Path(args.recording), args.seconds)
    except (ValueError, RecordingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    record = not args.no_record
    rows = run(sessions, caller, record=record, stagger=args.stagger, processes=args.processes)
    where = (
        "one worker process"
        if args.processes == 1
        else f"{args.processes} worker processes (calls split evenly)"
    )
    title = (
        f"{caller.recording.duration:.0f} s cascade calls in {where} "
        f"(thread per call), loopback providers in another; "
        f"{'records + stereo audio on' if record else 'no recording'}; "
        f"{os.cpu_count()} CPUs"
    )
    render(rows, title=title)
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
    return 0
