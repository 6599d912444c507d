"""`summary.json` / `summary.html` across the scored calls, and the terminal table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .html import render_summary
from .privacy import masked_summary
from .score import plain
from .stats import distribution

SCHEMA = "evals.calls/summary/v1"


def call_row(report: dict[str, Any], source: str) -> dict[str, Any]:
    failed = sum(1 for c in report["checks"] if not c["passed"])
    return {
        "name": report["name"],
        "recording": source,
        "duration": report["duration"],
        "metrics": report["metrics"],
        "latencies": [t["latency"] for t in report["turns"]],
        "checks": len(report["checks"]),
        "checks_failed": failed,
        "passed": report["passed"],
    }


def error_row(name: str, source: str, error: str) -> dict[str, Any]:
    return {"name": name, "recording": source, "error": error}


def build_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [r for r in rows if "error" not in r]
    latencies = [v for r in scored for v in r["latencies"]]
    m = [r["metrics"] for r in scored]
    return {
        "schema": SCHEMA,
        "calls": rows,
        "across": {
            "calls": len(scored),
            "errors": len(rows) - len(scored),
            "latency": distribution(latencies),
            "caller_turns": sum(x["caller_turns"] for x in m),
            "answered_turns": sum(x["answered_turns"] for x in m),
            "agent_interruptions": sum(x["agent_interruptions"] for x in m),
            "caller_barge_ins": sum(x["caller_barge_ins"] for x in m),
            "barge_ins_yielded": sum(x["barge_ins_yielded"] for x in m),
            "dead_air": sum(x["dead_air"]["count"] for x in m),
            "checks_failed": sum(r["checks_failed"] for r in scored),
        },
    }


def write_summary(summary: dict[str, Any], out_dir: Path) -> None:
    summary = masked_summary(summary)  # what the files may show (evals.calls.privacy)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, default=plain) + "\n"
    )
    (out_dir / "summary.html").write_text(render_summary(summary), encoding="utf-8")


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def print_table(summary: dict[str, Any], console: Console) -> None:
    t = Table(title="recorded calls", title_justify="left")
    for col in (
        "call",
        "dur s",
        "answered",
        "lat p50",
        "lat p95",
        "agent int.",
        "barge-ins (yielded)",
        "dead air",
        "checks",
    ):
        t.add_column(col, justify="left" if col == "call" else "right")
    for r in summary["calls"]:
        if "error" in r:
            t.add_row(r["name"], "[red]error[/red]", "", "", "", "", "", "", "")
            continue
        m = r["metrics"]
        checks = (
            "-"
            if not r["checks"]
            else (
                "[green]pass[/green]" if r["passed"] else f"[red]{r['checks_failed']} failed[/red]"
            )
        )
        t.add_row(
            r["name"],
            f"{r['duration']:.1f}",
            f"{m['answered_turns']}/{m['caller_turns']}",
            _s(m["latency"]["p50"]),
            _s(m["latency"]["p95"]),
            str(m["agent_interruptions"]),
            f"{m['caller_barge_ins']} ({m['barge_ins_yielded']})",
            str(m["dead_air"]["count"]),
            checks,
        )
    a = summary["across"]
    t.add_section()
    t.add_row(
        f"all ({a['calls']})",
        "",
        f"{a['answered_turns']}/{a['caller_turns']}",
        _s(a["latency"]["p50"]),
        _s(a["latency"]["p95"]),
        str(a["agent_interruptions"]),
        f"{a['caller_barge_ins']} ({a['barge_ins_yielded']})",
        str(a["dead_air"]),
        "-" if not a["checks_failed"] else f"[red]{a['checks_failed']} failed[/red]",
    )
    console.print(t)
