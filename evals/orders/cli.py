"""`python -m evals.orders GOALS... [--voice V] [--telephony] [--out DIR] [--json F] [--brain B]`

Runs each goal (a goal file, or a folder of them) as one simulated ordering call through the
offline agent, in real time, one after the other, and prints the per-call and total table.
Each call writes `OUT/<goal id>/{call.ogg,transcript.jsonl,result.json}`; the calls' orders
go to their own order store, `OUT/orders.sqlite`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from agents.brain import Caller, choose_brain, get_profile
from agents.brain.local_models import prewarm_local_models, wants_local_models
from agents.config import ConfigError, Settings, load_env
from agents.log import logger
from agents.side_channel import install_log_redaction
from evals.replay.telephony import LineConditions, TelephonySim

from .goals import Goal, GoalError, load_goals
from .report import table, totals
from .run import CallResult, run_goal
from .voices import Voice, VoiceError, parse_voice


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.orders",
        description="Simulated callers place orders with the offline agent; task success.",
    )
    p.add_argument("goals", nargs="+", help="goal files (.yaml/.yml/.json) or folders of them")
    p.add_argument("--voice", default="", help="every caller speaks with this voice")
    p.add_argument(
        "--telephony", action="store_true", help="every call as 8 kHz G.711 mu-law over SIP"
    )
    p.add_argument("--out", default="out/orders", help="output folder (default out/orders)")
    p.add_argument("--json", default="", help="also write the results as JSON to this file")
    p.add_argument("--brain", default="local", help="brain profile (default local)")
    return p


def _load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


async def _run_all(
    goals: list[Goal],
    voice: Voice | None,
    settings: Settings,
    *,
    telephony: bool,
    out: Path,
) -> list[CallResult]:
    results = []
    for goal in goals:
        phone = None
        if telephony or goal.telephony:
            meta = json.dumps({"brain": settings.brain}) if settings.brain else ""
            phone = TelephonySim(conditions=LineConditions(), job_metadata=meta)
        caller = Caller.from_participant(phone.caller.participant()) if phone else None
        choice = choose_brain(settings, job_metadata=phone.job_metadata if phone else "",
                              caller=caller)  # fmt: skip
        v = voice or parse_voice(goal.voice)
        print(f"call {goal.id}: {v}, {'8k-mulaw' if phone else '16k'}, brain "
              f"{choice.profile.name!r} ...", file=sys.stderr, flush=True)  # fmt: skip
        r = await run_goal(goal, v, settings, choice, out / goal.id, phone=phone)
        print(f"call {goal.id}: exact={r.score.exact} turns={r.score.turns} "
              f"ended_by={r.ended_by} ({r.duration:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip
        results.append(r)
    return results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_env()
    install_log_redaction()
    out = Path(args.out)
    try:
        goals = load_goals(args.goals)
        voice = parse_voice(args.voice) if args.voice else None
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} exists and is not a folder")
        get_profile(args.brain)
        settings = dataclasses.replace(
            Settings.from_env(),
            brain=args.brain.lower(),
            orders_db=str(out / "orders.sqlite"),
            call_records_dir="off",
        )
    except (GoalError, VoiceError, ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    load_before = _load_avg()
    try:
        probe = choose_brain(settings)
        if wants_local_models(settings, probe.profile):
            prewarm_local_models(settings)
        results = asyncio.run(_run_all(goals, voice, settings, telephony=args.telephony, out=out))
    except Exception as e:  # one line; the traceback goes to the log
        logger.exception("simulated calls failed")
        print(f"error: simulated calls failed ({type(e).__name__}: {e})", file=sys.stderr)
        return 1
    print(table(results))
    print(f"load average before / after: {load_before} / {_load_avg()} "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    if args.json:
        doc: dict[str, Any] = {
            "brain": args.brain,
            "load_before": load_before,
            "load_after": _load_avg(),
            "totals": totals(results),
            "calls": [r.as_dict() for r in results],
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0
