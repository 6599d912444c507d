"""The call's transcript as rows: one dict per conversation item, times on the call's timeline.

Fed by the session's own history (`AgentSession.history`: messages with their speech metrics,
tool calls and their outputs); it never touches the audio path. Replay writes these rows to
`transcript.jsonl`.

A caller turn LiveKit leaves untimed gets its times from `CallerSpeech`: LiveKit 1.8 stamps a
user message with `started_speaking_at` / `stopped_speaking_at` only when its end-of-turn
anchors agree, and a turn that barged in on the agent, or the last words of a call, often
gets neither (stop 43's orders runs: 14 caller turns of 5 sets untimed). Those rows take the
session's own VAD state changes between the previous caller turn and this one, and say so
(`"timed_by": "vad"`).

`masked_rows(rows)` is what may be written anywhere (replay's `transcript.jsonl`, reports):
every string masked (`tools.sensitive`), the caller's turns as one stream, so a card number
split over two turns is masked in both.

Owns: the transcript row format. Imports: livekit, `tools.sensitive`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession, UserStateChangedEvent, llm

from tools.sensitive import StreamMasker, mask_value


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 3)


@dataclass
class CallerSpeech:
    """The caller's speech spans, from the session's `user_state_changed` events.

    A span opens when the session's VAD decides the caller started ("speaking") and closes
    when it decides they stopped (any other state). Both decisions come a little after the
    fact (the VAD's activation frames; its minimum silence, 0.3-0.55 s here, for the end), so a
    time taken from here is that much late: good enough to place a turn on the call's
    timeline, not to measure latency (latency rows keep LiveKit's own metrics or none).
    """

    spans: list[list[float | None]] = field(default_factory=list)

    def attach(self, session: AgentSession) -> CallerSpeech:
        session.on("user_state_changed", self._on_state)
        return self

    def _on_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            self.spans.append([ev.created_at, None])
        elif self.spans and self.spans[-1][1] is None:
            self.spans[-1][1] = ev.created_at

    def between(self, after: float, before: float) -> tuple[float | None, float | None]:
        """Start of the first and end of the last span that started in (after, before]."""
        inside = [s for s in self.spans if s[0] is not None and after < s[0] <= before]
        if not inside:
            return None, None
        return inside[0][0], inside[-1][1]


def transcript_items(
    history: llm.ChatContext,
    t0: float,
    speech: CallerSpeech | None = None,
    *,
    previous_caller_turn_at: float = float("-inf"),
) -> list[dict[str, Any]]:
    """Rows of `history`'s items. With `speech`, an untimed caller turn takes the VAD spans
    since the caller turn before it (`previous_caller_turn_at` for the first one here, when
    `history` is one item of a longer call)."""
    rows: list[dict[str, Any]] = []
    last_caller_at = previous_caller_turn_at
    for item in history.items:
        if item.type == "message" and item.role in ("user", "assistant"):
            text = item.text_content or ""
            if not text.strip():
                continue
            m = item.metrics or {}
            start, end = m.get("started_speaking_at"), m.get("stopped_speaking_at")
            timed_by_vad = False
            if item.role == "user":
                if speech is not None and (start is None or end is None):
                    vad_start, vad_end = speech.between(last_caller_at, item.created_at)
                    if vad_start is not None:
                        start, end, timed_by_vad = start or vad_start, end or vad_end, True
                last_caller_at = item.created_at
            row: dict[str, Any] = {
                "role": item.role,
                "text": text,
                "start": _rel(start, t0),
                "end": _rel(end, t0),
                "interrupted": item.interrupted,
                "id": item.id,
            }
            if timed_by_vad:
                row["timed_by"] = "vad"
            rows.append(row)
        elif item.type == "function_call":
            rows.append(
                {
                    "role": "tool",
                    "type": "function_call",
                    "name": item.name,
                    "arguments": item.arguments,
                    "text": f"{item.name}({item.arguments})",
                    "call_id": item.call_id,
                    "at": _rel(item.created_at, t0),
                }
            )
        elif item.type == "function_call_output":
            rows.append(
                {
                    "role": "tool",
                    "type": "function_call_output",
                    "name": item.name,
                    "text": item.output,
                    "is_error": item.is_error,
                    "call_id": item.call_id,
                    "at": _rel(item.created_at, t0),
                }
            )
    return rows


def masked_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` safe to write: every string masked, the caller's turns masked as one stream."""
    caller = StreamMasker()
    out: list[dict[str, Any]] = []
    for row in rows:
        if row.get("role") == "user" and isinstance(row.get("text"), str):
            row = {**row, "text": caller.mask(row["text"])}
        masked = mask_value(row)
        assert isinstance(masked, dict)
        out.append(masked)
    return out
