"""`report.json` for one scored call: the schema (documented in `SCHEMA` and the README) and
the function that fills it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .audio import CallAudio
from .records import ToolCall
from .stats import distribution
from .transcribe import Word
from .turns import AGENT, CALLER, TurnTaking
from .vad import Segment

SCHEMA = "evals.calls/report/v1"


def _text_between(words: list[Word], start: float, end: float) -> str:
    return " ".join(w.text for w in words if start <= (w.start + w.end) / 2 <= end)


def _talk(segs: list[Segment]) -> float:
    return round(sum(s.duration for s in segs), 3)


def build_report(
    call: CallAudio,
    segments: dict[str, list[Segment]],
    words: dict[str, list[Word]],
    texts: dict[str, list[str]],
    tt: TurnTaking,
    *,
    options: dict[str, Any],
    tools: list[ToolCall] | None,
    tools_source: str | None,
) -> dict[str, Any]:
    speech = sorted(
        (
            {"channel": ch, "start": s.start, "end": s.end, "text": texts[ch][i]}
            for ch in (CALLER, AGENT)
            for i, s in enumerate(segments[ch])
        ),
        key=lambda r: (r["start"], r["channel"]),
    )
    turns = []
    for r in tt.responses:
        ct, at = tt.caller_turns[r.caller_turn], tt.agent_turns[r.agent_turn]
        turns.append(
            {
                "caller_start": r.caller_start,
                "caller_end": r.caller_end,
                "agent_start": r.agent_start,
                "agent_end": at.end,
                "latency": r.latency,
                "agent_interrupted": any(i.at == r.agent_start for i in tt.agent_interruptions),
                "caller_text": _text_between(words[CALLER], ct.start, ct.end),
                "agent_text": _text_between(words[AGENT], at.start, at.end),
            }
        )
    latencies = [r.latency for r in tt.responses]
    caller_talk, agent_talk = _talk(segments[CALLER]), _talk(segments[AGENT])
    talk_total = caller_talk + agent_talk
    yielded = sum(1 for b in tt.barge_ins if b.yielded)
    return {
        "schema": SCHEMA,
        "name": call.name,
        "duration": round(call.duration, 3),
        "sources": [asdict(s) for s in call.sources],
        "options": options,
        "speech": speech,
        "words": [
            {"channel": ch, "start": w.start, "end": w.end, "text": w.text}
            for ch in (CALLER, AGENT)
            for w in words[ch]
        ],
        "turns": turns,
        "unanswered": [
            {
                "caller_start": t.start,
                "caller_end": t.end,
                "caller_text": _text_between(words[CALLER], t.start, t.end),
            }
            for t in tt.unanswered
        ],
        "interruptions": {"agent": len(tt.agent_interruptions), "caller": len(tt.barge_ins)},
        "agent_interruptions": [
            {"at": i.at, "caller_end": i.caller_end} for i in tt.agent_interruptions
        ],
        "barge_ins": [
            {
                "at": b.at,
                "agent_stopped": b.agent_stopped,
                "yield_after": b.yield_after,
                "yielded": b.yielded,
            }
            for b in tt.barge_ins
        ],
        "dead_air": [
            {"start": g.start, "end": g.end, "duration": g.duration, "waiting_on": g.waiting_on}
            for g in tt.dead_air
        ],
        "overlaps": [{"start": o.start, "end": o.end} for o in tt.overlaps],
        "tools": None
        if tools is None
        else {
            "source": tools_source,
            "calls": [{"name": t.name, "at": t.at, "arguments": t.arguments} for t in tools],
        },
        "metrics": {
            "latency": distribution(latencies),
            "caller_turns": len(tt.caller_turns),
            "agent_turns": len(tt.agent_turns),
            "answered_turns": len(turns),
            "agent_interruptions": len(tt.agent_interruptions),
            "caller_barge_ins": len(tt.barge_ins),
            "barge_ins_yielded": yielded,
            "dead_air": {
                "count": len(tt.dead_air),
                "total": round(sum(g.duration for g in tt.dead_air), 3),
                "longest": max((g.duration for g in tt.dead_air), default=0.0),
            },
            "overlap": {
                "count": len(tt.overlaps),
                "total": round(sum(o.duration for o in tt.overlaps), 3),
            },
            "talk": {
                "caller_s": caller_talk,
                "agent_s": agent_talk,
                "agent_share": round(agent_talk / talk_total, 3) if talk_total else None,
            },
        },
        "checks": [],
        "passed": True,
    }
