"""The per-call and total table of a simulated-caller run, and its JSON."""

from __future__ import annotations

from statistics import median
from typing import Any

from .run import CallResult

COLUMNS = (
    ("goal", 28), ("voice", 16), ("rate", 8), ("exact", 5), ("turns", 5), ("hangup", 6),
    ("ungr", 4), ("lat pol", 7), ("lat mod", 7), ("ended", 7),
)  # fmt: skip


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _median(xs: list[float]) -> float | None:
    return round(median(xs), 3) if xs else None


def totals(results: list[CallResult]) -> dict[str, Any]:
    lat = {
        kind: [
            t.latency
            for r in results
            for t in r.score.latencies
            if t.model == (kind == "model") and t.latency is not None
        ]
        for kind in ("policy", "model")
    }
    exact = sum(r.score.exact for r in results)
    return {
        "calls": len(results),
        "exact": exact,
        "exact_rate": round(exact / len(results), 3) if results else None,
        "turns": sum(r.score.turns for r in results),
        "premature_hangups": sum(r.score.premature_hangup for r in results),
        "ungrounded": sum(len(r.score.ungrounded) for r in results),
        "latency_policy_median": _median(lat["policy"]),
        "latency_policy_turns": len(lat["policy"]),
        "latency_model_median": _median(lat["model"]),
        "latency_model_turns": len(lat["model"]),
    }


def _row(cells: list[str]) -> str:
    return "  ".join(c[:w].ljust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True))


def table(results: list[CallResult]) -> str:
    lines = [_row([name for name, _ in COLUMNS])]
    for r in results:
        s = r.score
        lines.append(
            _row(
                [
                    r.goal.id,
                    r.voice,
                    "8k-mulaw" if r.telephony else "16k",
                    "yes" if s.exact else "NO",
                    str(s.turns),
                    "YES" if s.premature_hangup else "no",
                    str(len(s.ungrounded)),
                    _s(s.latency_median(model=False)),
                    _s(s.latency_median(model=True)),
                    r.ended_by,
                ]
            )  # fmt: skip
        )
    t = totals(results)
    lines.append(
        _row(
            [
                "TOTAL",
                "",
                "",
                f"{t['exact']}/{t['calls']}",
                str(t["turns"]),
                str(t["premature_hangups"]),
                str(t["ungrounded"]),
                _s(t["latency_policy_median"]),
                _s(t["latency_model_median"]),
                "",
            ]
        )  # fmt: skip
    )
    lines.append(
        f"exact final order: {t['exact']}/{t['calls']}; premature hang-ups: "
        f"{t['premature_hangups']}; ungrounded statements: {t['ungrounded']}; median latency: "
        f"policy {_s(t['latency_policy_median'])} s over {t['latency_policy_turns']} turns, "
        f"model {_s(t['latency_model_median'])} s over {t['latency_model_turns']} turns"
    )
    return "\n".join(lines)
