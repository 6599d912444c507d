"""`python -m evals.calls bench`: the scorer against the labelled synthetic calls.

Per call: each labelled turn matched to the scored turn with the same agent start (within
1 s); latency error = |scored latency - labelled latency|; interruption counts both ways and
each barge-in's yielded flag against the labels. Prints a table and the targets (MAE <= 50 ms,
max <= 150 ms, every interruption counted right).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .audio import load_stereo
from .labelled import build_set
from .score import ScoreOptions, score_call

MATCH_S = 1.0
MAE_TARGET, MAX_TARGET = 0.050, 0.150


def compare(report: dict[str, Any], labels: dict[str, Any]) -> dict[str, Any]:
    errors, missed = [], 0
    pred = list(report["turns"])
    for lt in labels["turns"]:
        best = min(pred, key=lambda t: abs(t["agent_start"] - lt["agent_start"]), default=None)
        if best is None or abs(best["agent_start"] - lt["agent_start"]) > MATCH_S:
            missed += 1
            continue
        pred.remove(best)
        errors.append(abs(best["latency"] - lt["latency"]))
    got_yields = [b["yielded"] for b in report["barge_ins"]]
    want_yields = [b["yielded"] for b in labels["barge_ins"]]
    return {
        "name": labels["name"],
        "format": labels["format"],
        "turns": len(labels["turns"]),
        "missed": missed,
        "extra": len(pred),
        "errors": errors,
        "interruptions": report["interruptions"],
        "want_interruptions": labels["interruptions"],
        "yields_right": got_yields == want_yields,
        "dead_air": report["metrics"]["dead_air"]["count"],
    }


def _set_files(folder: Path, rebuild: bool) -> list[Path]:
    labels = sorted(folder.glob("*.labels.json"))
    if rebuild or not labels:
        build_set(folder)
        labels = sorted(folder.glob("*.labels.json"))
    out = []
    for lab in labels:
        stem = lab.name.removesuffix(".labels.json")
        out += [p for p in folder.glob(f"{stem}.*") if not p.name.endswith(".json")]
    return out


def run_bench(args: argparse.Namespace, console: Console) -> int:
    folder = Path(args.set)
    files = _set_files(folder, args.rebuild)
    opts = ScoreOptions(stt=None)
    rows = []
    for f in files:
        labels = json.loads((folder / f"{f.stem}.labels.json").read_text())
        rows.append(compare(score_call(load_stereo(f), opts), labels))
    t = Table(title=f"labelled calls ({folder})", title_justify="left")
    for col in (
        "call",
        "turns",
        "missed/extra",
        "lat MAE ms",
        "lat max ms",
        "agent int. got/want",
        "barge-ins got/want",
        "yields",
    ):
        t.add_column(col, justify="left" if col == "call" else "right")
    all_err: list[float] = []
    int_ok = True
    for r in rows:
        e = r["errors"]
        all_err += e
        ok = (
            r["interruptions"] == r["want_interruptions"]
            and r["yields_right"]
            and not r["missed"]
            and not r["extra"]
        )
        int_ok &= ok
        t.add_row(
            r["name"],
            str(r["turns"]),
            f"{r['missed']}/{r['extra']}",
            f"{1000 * sum(e) / len(e):.0f}" if e else "-",
            f"{1000 * max(e):.0f}" if e else "-",
            f"{r['interruptions']['agent']}/{r['want_interruptions']['agent']}",
            f"{r['interruptions']['caller']}/{r['want_interruptions']['caller']}",
            "ok" if r["yields_right"] else "[red]wrong[/red]",
        )
    mae = sum(all_err) / len(all_err) if all_err else float("nan")
    mx = max(all_err) if all_err else float("nan")
    t.add_section()
    t.add_row(
        f"all ({len(rows)})",
        str(sum(r["turns"] for r in rows)),
        f"{sum(r['missed'] for r in rows)}/{sum(r['extra'] for r in rows)}",
        f"{1000 * mae:.0f}",
        f"{1000 * mx:.0f}",
        f"{sum(r['interruptions']['agent'] for r in rows)}/{sum(r['want_interruptions']['agent'] for r in rows)}",
        f"{sum(r['interruptions']['caller'] for r in rows)}/{sum(r['want_interruptions']['caller'] for r in rows)}",
        "",
    )
    console.print(t)
    met = mae <= MAE_TARGET and mx <= MAX_TARGET and int_ok
    console.print(
        f"latency error: mean {1000 * mae:.1f} ms (target <= {1000 * MAE_TARGET:.0f}), "
        f"max {1000 * mx:.1f} ms (target <= {1000 * MAX_TARGET:.0f}); "
        f"turns, interruptions and yields all right: {'yes' if int_ok else 'NO'} -> "
        f"{'targets met' if met else 'targets NOT met'}"
    )
    return 0 if met else 1
