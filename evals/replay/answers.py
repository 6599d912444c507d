"""Which agent line answered which caller turn, on a replay's timeline (`transcript.jsonl`).

A caller turn's own answer is agent speech that starts after the turn ends (less `LEAD_S`:
an endpointer may clip the tail) and before the *next* caller turn starts, and is not one of
the lines the suite says when something failed (`agents.resilience.lines`: the apology, the
goodbye of a failing call, the failover brain's "Sorry about that..."). So a later reply to a
later turn never counts for an earlier one, and an apology is reported as an apology, never
as an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agents.resilience.lines import APOLOGY, FAILOVER, FAILOVER_PENDING, GOODBYE

LEAD_S = 0.5
"""Agent speech may start this long before the caller turn's recorded end and still answer it."""
NOT_ANSWERS = frozenset(line.strip() for line in (APOLOGY, GOODBYE, FAILOVER, FAILOVER_PENDING))
"""What the suite says when something failed: heard, but no answer to what the caller said."""

Status = Literal["answered", "apologised", "unanswered"]


@dataclass(frozen=True)
class TurnAnswer:
    caller_start: float
    caller_end: float
    heard: float | None
    """Start of the first agent speech in this turn's window (an apology or filler included):
    what the caller heard first."""
    answer: dict[str, Any] | None
    """The first agent row in the window that is not a failure line."""
    apologised: bool
    """The apology (`APOLOGY`) was said in the window."""

    @property
    def status(self) -> Status:
        if self.answer is not None:
            return "answered"
        return "apologised" if self.apologised else "unanswered"

    @property
    def latency(self) -> float | None:
        """Seconds from the turn's end to what the caller heard first."""
        return None if self.heard is None else round(self.heard - self.caller_end, 3)


def turn_answers(
    rows: Iterable[dict[str, Any]], caller_turns: Sequence[tuple[float, float]]
) -> list[TurnAnswer]:
    """Each caller turn (`(start, end)` on the timeline, in order) with its own answer among
    the transcript `rows` (`role`, `start`, `text`; agent rows without a start never played)."""
    agent = sorted(
        (r for r in rows if r.get("role") == "assistant" and r.get("start") is not None),
        key=lambda r: float(r["start"]),
    )
    turns = sorted(caller_turns)
    out: list[TurnAnswer] = []
    for i, (start, end) in enumerate(turns):
        until = turns[i + 1][0] if i + 1 < len(turns) else float("inf")
        said = [r for r in agent if end - LEAD_S < float(r["start"]) < until]
        answers = [r for r in said if _words(r) and _words(r) not in NOT_ANSWERS]
        out.append(
            TurnAnswer(
                caller_start=start,
                caller_end=end,
                heard=float(said[0]["start"]) if said else None,
                answer=answers[0] if answers else None,
                apologised=any(_words(r) == APOLOGY for r in said),
            )
        )
    return out


def _words(row: dict[str, Any]) -> str:
    return str(row.get("text") or "").strip()


def caller_turns(rows: Iterable[dict[str, Any]]) -> list[tuple[float, float]]:
    """The caller's turns as the transcript has them (`user` rows with a start and an end)."""
    return sorted(
        (float(r["start"]), float(r["end"]))
        for r in rows
        if r.get("role") == "user" and r.get("start") is not None and r.get("end") is not None
    )
