"""`python -m evals.calls score|replay|bench`: the command line."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .audio import CallInputError, safe_name
from .checks import CheckFileError, CheckSet, load_checks
from .inputs import call_inputs, unique_name
from .score import ScoreOptions, score_call, write_call
from .summary import build_summary, call_row, error_row, print_table, write_summary
from .transcribe import SttOptions
from .turns import TurnOptions
from .vad import VadOptions


def _narrowband_model() -> str | None:
    """The installed Whisper base (what the telephony brain hears phone audio with), if any."""
    from agents.brain.model_files import LOCAL_STT_DIR, installed_model
    from agents.config import ConfigError, Settings

    try:
        path = installed_model(Settings.from_env().models_dir, LOCAL_STT_DIR)
    except ConfigError:
        return None
    return str(path) if path else None


def add_score_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-stt", action="store_true", help="timings only, no transcripts (fast)")
    p.add_argument(
        "--stt-model",
        default=None,
        help="CTranslate2 Whisper folder (default: tiny.en; Whisper base for <= 8 kHz when installed)",
    )
    p.add_argument("--stt-prompt", default=None, help="Whisper initial prompt (domain words)")
    p.add_argument(
        "--dead-air",
        type=float,
        default=TurnOptions.dead_air,
        help="seconds of silence on both sides that count as dead air (default %(default)s)",
    )
    p.add_argument(
        "--yield-window",
        type=float,
        default=TurnOptions.yield_window,
        help="seconds an agent may keep talking over a barge-in and still count as yielding (default %(default)s)",
    )
    p.add_argument(
        "--hold-gap",
        type=float,
        default=TurnOptions.hold_gap,
        help="a pause this short keeps the speaker's turn (default %(default)s)",
    )


def score_options(args: argparse.Namespace) -> ScoreOptions:
    for flag in ("dead_air", "yield_window", "hold_gap"):
        if getattr(args, flag) < 0:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 0")
    stt = None if args.no_stt else SttOptions(model=args.stt_model, prompt=args.stt_prompt)
    return ScoreOptions(
        vad=VadOptions(),
        turns=TurnOptions(
            hold_gap=args.hold_gap, yield_window=args.yield_window, dead_air=args.dead_air
        ),
        stt=stt,
        narrowband_stt_model=None if (args.no_stt or args.stt_model) else _narrowband_model(),
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.calls",
        description="Score recorded calls: turn-taking metrics, transcripts, checks, HTML timelines.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score recorded calls")
    s.add_argument(
        "recordings", nargs="*", help="stereo recordings (0 = caller, 1 = agent) or folders of them"
    )
    s.add_argument("--caller", help="the caller's own track (with --agent)")
    s.add_argument("--agent", help="the agent's own track (with --caller)")
    s.add_argument(
        "--agent-offset",
        type=float,
        default=0.0,
        help="seconds the agent's track started after the caller's (negative: before)",
    )
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--checks", help="YAML assertions; exit 1 when one fails")
    add_score_options(s)
    r = sub.add_parser(
        "replay", help="rerun a recorded call's caller through the agent and compare"
    )
    r.add_argument("recording", help="stereo recording (0 = caller, 1 = agent)")
    r.add_argument("--out", required=True)
    r.add_argument("--brain", default="", help="brain profile for the new run")
    r.add_argument("--checks", help="YAML assertions applied to both calls")
    r.add_argument(
        "--telephony",
        action="store_true",
        help="replay as a phone call (replay's simulated SIP hop, 8 kHz mu-law both ways)",
    )
    add_score_options(r)
    b = sub.add_parser("bench", help="accuracy on the labelled synthetic calls")
    b.add_argument(
        "--set", default="out/labelled-calls", help="labelled set folder (built if missing)"
    )
    b.add_argument("--rebuild", action="store_true", help="rebuild the labelled set first")
    return p


def run_score(args: argparse.Namespace, console: Console) -> int:
    if bool(args.caller) != bool(args.agent):
        print("error: --caller and --agent go together", file=sys.stderr)
        return 2
    if not args.recordings and not args.caller:
        print(
            "error: nothing to score: give recordings, folders, or --caller FILE --agent FILE",
            file=sys.stderr,
        )
        return 2
    try:
        opts = score_options(args)
        checks = load_checks(args.checks) if args.checks else CheckSet([], {})
    except (ValueError, CheckFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} exists and is not a folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    inputs = call_inputs(args.recordings, args.caller, args.agent, args.agent_offset)
    rows, taken, bad = [], set[str](), 0
    progress = Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("", total=len(inputs))
        for ci in inputs:
            progress.update(task, description=ci.label)
            try:
                call = ci.load()
            except CallInputError as e:
                progress.console.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
                rows.append(error_row(safe_name(Path(ci.records).stem), ci.label, str(e)))
                bad += 1
                progress.advance(task)
                continue
            call = dataclasses.replace(call, name=unique_name(call.name, taken))
            report = score_call(
                call, opts, records_beside=ci.records, checks=checks.for_call(call.name)
            )
            write_call(report, out)
            rows.append(call_row(report, ci.label))
            progress.advance(task)
    summary = build_summary(rows)
    write_summary(summary, out)
    print_table(summary, console)
    for r in rows:
        if "error" not in r and not r["passed"]:
            report_path = out / r["name"] / "report.json"
            console.print(
                f"[red]checks failed[/red]: {r['name']} ({r['checks_failed']}; see {report_path})"
            )
    console.print(
        f"wrote {out / 'summary.json'}, {out / 'summary.html'} and {len(rows) - bad} call report(s)"
    )
    if bad:
        return 2
    return 1 if summary["across"]["checks_failed"] else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    if args.command == "score":
        return run_score(args, console)
    if args.command == "replay":
        from .rerun import run_rerun

        return run_rerun(args, console)
    from .bench import run_bench

    return run_bench(args, console)
