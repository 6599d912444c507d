"""Call records -> what each call cost, and the sums per brain and per 1,000 call minutes.

A call's cost is what its `meta.json` says (`cost.total`, priced by the worker when the call
ended), or, with a price table given, its recorded `usage` priced again. A call with an
unpriced engine, or no usage recorded (a record from before costs, or a call killed before
it ended), has no cost: it is listed with the reason and left out of every sum, never
counted as zero.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.side_channel.cost import PriceTable


class CostInputError(ValueError):
    """Records that cannot be summarised together; the message is one line."""


@dataclass(frozen=True)
class CallCost:
    call_id: str
    brain: str
    """The brain the call started on (`meta.json` `brain`): the call's row in the per-brain sums."""
    minutes: float | None
    cost: float | None
    """None: not priced (see `note`)."""
    currency: str | None = None
    by_brain: dict[str, float | None] = field(default_factory=dict)
    """Each brain the call used and what it was charged (a failed-over call: two)."""
    note: str = ""

    @property
    def priced(self) -> bool:
        return self.cost is not None and self.minutes is not None


def _call_cost(meta: dict[str, Any], prices: PriceTable | None) -> CallCost:
    call_id = str(meta.get("call_id") or "?")
    brain = str(meta.get("brain") or "?")
    dur = meta.get("duration_s")
    minutes = float(dur) / 60 if isinstance(dur, (int, float)) else None
    usage, recorded = meta.get("usage"), meta.get("cost")
    if not isinstance(usage, list) or not isinstance(recorded, dict):
        return CallCost(call_id, brain, minutes, None, note="no usage recorded")
    if minutes is None:
        return CallCost(call_id, brain, None, None, note="the call has no end (duration)")
    if prices is None:
        total = recorded.get("total")
        by_brain = dict(recorded.get("by_brain") or {})
        currency = recorded.get("currency")
        unpriced = list(recorded.get("unpriced") or [])
    else:
        by_brain, unpriced, currency = {}, [], prices.currency
        for row in usage:
            b = str(row.get("brain") or brain)
            ec = prices.price(str(row["provider"]), str(row["model"]), row.get("usage") or {})
            if ec.cost is None:
                unpriced.append(f"{b}: {row['provider']}/{row['model']}")
            so_far = by_brain.get(b, 0.0)
            by_brain[b] = None if ec.cost is None or so_far is None else so_far + ec.cost
        total = None if unpriced else sum(c or 0.0 for c in by_brain.values())
    if total is None:
        note = "unpriced: " + ", ".join(unpriced) if unpriced else "not priced"
        return CallCost(call_id, brain, minutes, None, currency, by_brain, note)
    return CallCost(call_id, brain, minutes, float(total), currency, by_brain)


def read_calls(root: Path, prices: PriceTable | None = None) -> list[CallCost]:
    """Every call record under `root` (a folder holding `meta.json`), oldest first."""
    if not root.is_dir():
        raise CostInputError(f"{root} is not a directory")
    calls = []
    for meta_path in sorted(root.glob("*/meta.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            calls.append(
                CallCost(meta_path.parent.name, "?", None, None, note=f"meta.json unreadable ({e})")
            )
            continue
        if not isinstance(meta, dict):
            calls.append(CallCost(meta_path.parent.name, "?", None, None, note="meta.json bad"))
            continue
        calls.append(_call_cost(meta, prices))
    if not calls:
        raise CostInputError(f"no call records (<call id>/meta.json) under {root}")
    return calls


def _group(calls: list[CallCost]) -> dict[str, Any]:
    priced = [c for c in calls if c.priced]
    minutes = sum(c.minutes or 0.0 for c in priced)
    cost = sum(c.cost or 0.0 for c in priced)
    return {
        "calls": len(calls),
        "priced_calls": len(priced),
        "minutes": round(minutes, 3),
        "cost": round(cost, 6),
        "per_call": round(cost / len(priced), 6) if priced else None,
        "per_1000_minutes": round(cost / minutes * 1000, 4) if minutes else None,
    }


def summarise(calls: list[CallCost]) -> dict[str, Any]:
    """Per call, per brain (the brain a call started on) and in all; sums over priced calls."""
    currencies = sorted({c.currency for c in calls if c.priced and c.currency})
    if len(currencies) > 1:
        raise CostInputError(
            f"the records are priced in {', '.join(currencies)}: give --prices to price them alike"
        )
    brains = sorted({c.brain for c in calls})
    return {
        "currency": currencies[0] if currencies else None,
        "calls": [asdict(c) for c in calls],
        "brains": {b: _group([c for c in calls if c.brain == b]) for b in brains},
        "total": _group(calls),
    }


def _money(v: float | None, currency: str | None) -> str:
    return "-" if v is None else f"{v:.6f}"


def table(summary: dict[str, Any]) -> str:
    """The summary as plain-text tables."""
    cur = summary["currency"] or ""
    lines = [f"{'call':<28} {'brain':<36} {'min':>7} {'cost ' + cur:>12}  note"]
    for c in summary["calls"]:
        used = (
            " + ".join(
                f"{b} {_money(v, cur)}" if len(c["by_brain"]) > 1 else b
                for b, v in c["by_brain"].items()
            )
            or c["brain"]
        )
        minutes = "-" if c["minutes"] is None else f"{c['minutes']:.2f}"
        lines.append(
            f"{c['call_id']:<28} {used:<36} {minutes:>7} {_money(c['cost'], cur):>12}  {c['note']}"
        )
    lines.append("")
    lines.append(
        f"{'brain':<22} {'calls':>5} {'priced':>6} {'minutes':>9} {'cost':>10} "
        f"{'per call':>10} {'per 1,000 min':>14}"
    )
    rows = [*summary["brains"].items(), ("all", summary["total"])]
    for name, g in rows:
        lines.append(
            f"{name:<22} {g['calls']:>5} {g['priced_calls']:>6} {g['minutes']:>9.2f} "
            f"{g['cost']:>10.6f} {_money(g['per_call'], cur):>10} "
            f"{'-' if g['per_1000_minutes'] is None else format(g['per_1000_minutes'], '.2f'):>14}"
        )
    lines.append(f"(currency: {cur or 'none'}; sums over priced calls only)")
    return "\n".join(lines)
