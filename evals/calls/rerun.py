"""`python -m evals.calls replay RECORDING --out DIR [--brain NAME]`: the regression run
before shipping a brain change.

The caller channel of a recorded call is played through the agent again with the existing
replay (`evals.replay`, real time, the same call a live job builds), then the original and
the new call are both scored and shown side by side. Writes:

- `DIR/caller.wav`: the caller channel that was replayed (16 kHz PCM16; with `--telephony`
  replay carries it over its simulated SIP hop, as for a phone call);
- `DIR/replay/`: what `agent.py replay` writes (transcript.jsonl, call.ogg, summary.json);
- `DIR/original/` and `DIR/new/`: each call's `report.json` + `report.html`;
- `DIR/compare.json` / `DIR/compare.html`: metrics side by side, both transcripts turn by
  turn, and the cross-check of the new call's scored latencies against the replay's own
  `summary.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table

from .audio import RATE, CallInputError, load_stereo
from .checks import CheckFileError, CheckSet, load_checks
from .html import CSS
from .score import plain, score_call, write_call

ROWS = [
    ("caller turns answered", lambda m: f"{m['answered_turns']}/{m['caller_turns']}"),
    ("latency p50 (s)", lambda m: _s(m["latency"]["p50"])),
    ("latency p95 (s)", lambda m: _s(m["latency"]["p95"])),
    ("latency max (s)", lambda m: _s(m["latency"]["max"])),
    ("agent interruptions", lambda m: str(m["agent_interruptions"])),
    ("caller barge-ins (yielded)", lambda m: f"{m['caller_barge_ins']} ({m['barge_ins_yielded']})"),
    (
        "dead air (longest s)",
        lambda m: f"{m['dead_air']['count']} ({m['dead_air']['longest']:.1f})",
    ),
    ("overlap (s)", lambda m: f"{m['overlap']['total']:.1f}"),
    ("agent talk share", lambda m: _s(m["talk"]["agent_share"])),
]


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def cross_check(report: dict[str, Any], summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Each replay summary turn next to the scored turn with the nearest agent start."""
    rows = []
    for t in summary.get("turns", []):
        if t.get("agent_start") is None or t.get("latency") is None:
            continue
        best = min(
            report["turns"], key=lambda s: abs(s["agent_start"] - t["agent_start"]), default=None
        )
        if best is None or abs(best["agent_start"] - t["agent_start"]) > 1.0:
            rows.append({"summary": t["latency"], "scored": None, "diff": None})
            continue
        rows.append(
            {
                "summary_caller_end": t["user_end"],
                "scored_caller_end": best["caller_end"],
                "summary_agent_start": t["agent_start"],
                "scored_agent_start": best["agent_start"],
                "summary": t["latency"],
                "scored": best["latency"],
                "diff": round(best["latency"] - t["latency"], 3),
            }
        )
    return rows


def _compare_html(orig: dict[str, Any], new: dict[str, Any], xc: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td class='num'>{escape(f(orig['metrics']))}</td>"
        f"<td class='num'>{escape(f(new['metrics']))}</td></tr>"
        for label, f in ROWS
    )
    n = max(len(orig["turns"]), len(new["turns"]))
    turns = []
    for i in range(n):
        cells = []
        for r in (orig, new):
            t = r["turns"][i] if i < len(r["turns"]) else None
            cells.append(
                "<td>-</td><td>-</td>"
                if t is None
                else f"<td><b>caller:</b> {escape(t['caller_text'] or '(no words)')}<br>"
                f"<b>agent:</b> {escape(t['agent_text'] or '(no words)')}</td>"
                f"<td class='num'>{t['latency']:.2f}</td>"
            )
        turns.append(f"<tr class='turn'><td class='num'>{i + 1}</td>{''.join(cells)}</tr>")
    xrows = "".join(
        f"<tr><td class='num'>{_s(x['summary'])}</td><td class='num'>{_s(x['scored'])}</td><td class='num'>{_s(x['diff'])}</td></tr>"
        for x in xc
    )
    body = (
        "<h1>Original vs new</h1>"
        "<p><a href='original/report.html'>original timeline</a> · <a href='new/report.html'>new timeline</a></p>"
        f"<table><tr><th>metric</th><th>original</th><th>new</th></tr>{rows}</table>"
        "<h2>Turns</h2><table><tr><th>#</th><th>original</th><th>latency (s)</th><th>new</th><th>latency (s)</th></tr>"
        f"{''.join(turns)}</table>"
        "<h2>Cross-check: the new call scored vs the replay's own summary.json</h2>"
        f"<table><tr><th>summary latency (s)</th><th>scored latency (s)</th><th>difference (s)</th></tr>{xrows}</table>"
    )
    return f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>original vs new</title><style>{CSS}</style></head><body>{body}</body></html>\n"


def run_rerun(args: argparse.Namespace, console: Console) -> int:
    from evals.replay import main as replay_main

    from .cli import score_options

    try:
        opts = score_options(args)
        checks = load_checks(args.checks) if args.checks else CheckSet([], {})
        original = load_stereo(args.recording)
    except (ValueError, CheckFileError, CallInputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    caller_wav = out / "caller.wav"
    sf.write(
        caller_wav,
        (np.clip(original.caller, -1, 1) * 32767).astype(np.int16),
        RATE,
        subtype="PCM_16",
    )
    replay_dir = out / "replay"
    argv = [str(caller_wav), "--out", str(replay_dir)]
    argv += ["--brain", args.brain] if args.brain else []
    argv += ["--telephony"] if args.telephony else []
    rc = replay_main(argv)
    if rc != 0:
        print(f"error: the replay failed (exit {rc}); see above", file=sys.stderr)
        return rc
    orig = score_call(
        dataclasses.replace(original, name="original"),
        opts,
        records_beside=Path(args.recording),
        checks=checks.for_call(original.name),
    )
    new_call = dataclasses.replace(load_stereo(replay_dir / "call.ogg"), name="new")
    new = score_call(
        new_call,
        opts,
        records_beside=replay_dir / "call.ogg",
        checks=checks.for_call(original.name),
    )
    write_call(orig, out)
    write_call(new, out)
    summary = json.loads((replay_dir / "summary.json").read_text())
    xc = cross_check(new, summary)
    compare = {
        "recording": str(args.recording),
        "brain": summary.get("brain"),
        "original": {"metrics": orig["metrics"], "turns": orig["turns"], "checks": orig["checks"]},
        "new": {"metrics": new["metrics"], "turns": new["turns"], "checks": new["checks"]},
        "cross_check": xc,
    }
    (out / "compare.json").write_text(
        json.dumps(compare, indent=2, ensure_ascii=False, default=plain) + "\n"
    )
    (out / "compare.html").write_text(_compare_html(orig, new, xc), encoding="utf-8")
    t = Table(title=f"original vs new (brain {summary.get('brain')})", title_justify="left")
    t.add_column("metric")
    t.add_column("original", justify="right")
    t.add_column("new", justify="right")
    for label, f in ROWS:
        t.add_row(label, f(orig["metrics"]), f(new["metrics"]))
    console.print(t)
    tt = Table(title="turns", title_justify="left", show_lines=True)
    for col in ("#", "original", "lat", "new", "lat"):
        tt.add_column(col)
    for i in range(max(len(orig["turns"]), len(new["turns"]))):
        cells: list[str] = [str(i + 1)]
        for r in (orig, new):
            if i < len(r["turns"]):
                x = r["turns"][i]
                cells += [
                    f"caller: {x['caller_text']}\nagent: {x['agent_text']}",
                    f"{x['latency']:.2f}",
                ]
            else:
                cells += ["-", "-"]
        tt.add_row(*cells)
    console.print(tt)
    console.print(
        f"wrote {out / 'compare.json'}, {out / 'compare.html'}, {out / 'original'}, {out / 'new'}"
    )
    return 1 if not (orig["passed"] and new["passed"]) else 0
