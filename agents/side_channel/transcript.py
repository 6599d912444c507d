"""The call's transcript as rows: one dict per conversation item, times on the call's timeline.

Fed by the session's own history (`AgentSession.history`: messages with their speech metrics,
tool calls and their outputs); it never touches the audio path. Replay writes these rows to
`transcript.jsonl`.

`masked_rows(rows)` is what may be written anywhere (replay's `transcript.jsonl`, reports):
every string masked (`tools.sensitive`), the caller's turns as one stream, so a card number
split over two turns is masked in both.

Owns: the transcript row format. Imports: livekit, `tools.sensitive`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from livekit.agents import llm

from tools.sensitive import StreamMasker, mask_value


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 3)


def transcript_items(history: llm.ChatContext, t0: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in history.items:
        if item.type == "message" and item.role in ("user", "assistant"):
            text = item.text_content or ""
            if not text.strip():
                continue
            m = item.metrics or {}
            rows.append(
                {
                    "role": item.role,
                    "text": text,
                    "start": _rel(m.get("started_speaking_at"), t0),
                    "end": _rel(m.get("stopped_speaking_at"), t0),
                    "interrupted": item.interrupted,
                    "id": item.id,
                }
            )
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
