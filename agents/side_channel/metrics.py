"""Per-turn latency, read off the session's history: caller stops -> agent starts speaking,
with the stage breakdown LiveKit records on each message (`ChatMessage.metrics`).

Owns: the turn-latency row format. Imports: livekit and `transcript` (its time helper).
"""

from __future__ import annotations

from typing import Any

from livekit.agents import llm

from .transcript import _rel


def _r(v: Any) -> float | None:
    return None if v is None else round(float(v), 3)


def turn_latencies(history: llm.ChatContext, t0: float) -> list[dict[str, Any]]:
    """One row per caller turn that got a spoken answer: the first assistant message after
    the user's message (tool calls in between count towards the latency)."""
    turns: list[dict[str, Any]] = []
    pending_user: llm.ChatMessage | None = None
    for item in history.items:
        if item.type != "message":
            continue
        if item.role == "user":
            pending_user = item
        elif item.role == "assistant" and pending_user is not None:
            um, am = pending_user.metrics or {}, item.metrics or {}
            user_end = um.get("stopped_speaking_at")
            agent_start = am.get("started_speaking_at")
            turns.append(
                {
                    "user_text": pending_user.text_content,
                    "user_end": _rel(user_end, t0),
                    "agent_start": _rel(agent_start, t0),
                    "latency": (
                        round(agent_start - user_end, 3)
                        if user_end is not None and agent_start is not None
                        else None
                    ),
                    "eou_delay": _r(um.get("end_of_turn_delay")),
                    "stt": _r(um.get("transcription_delay")),
                    "llm_ttft": _r(am.get("llm_node_ttft")),
                    "tts_ttfb": _r(am.get("tts_node_ttfb")),
                }
            )
            pending_user = None
    return turns
