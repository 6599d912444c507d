"""Tool calls from the call records beside a recording, for the checks `tool_called` /
`tool_not_called`.

Read from the recording's folder: `transcript.jsonl` (what `agent.py replay` and the call
records write: rows with `role: "tool"`, `type: "function_call"`, `name`, `arguments`, `at`),
else `events.jsonl` (the call records' `{"t", "at", "kind": "tool_call", "name", "status"}`
rows; any row whose `kind`/`type`/`event` names a tool call and carries `name` or `tool`). No records there: None (a tool check then fails, saying so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    name: str
    at: float | None
    arguments: Any


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _from_transcript(path: Path) -> list[ToolCall]:
    return [
        ToolCall(str(r["name"]), r.get("at"), r.get("arguments"))
        for r in _rows(path)
        if r.get("role") == "tool" and r.get("type") == "function_call" and r.get("name")
    ]


def _is_tool_event(r: dict[str, Any]) -> bool:
    kind = str(r.get("kind") or r.get("type") or r.get("event") or "")
    return "tool" in kind or kind == "function_call"


def _from_events(path: Path) -> list[ToolCall]:
    out = []
    for r in _rows(path):
        name = r.get("name") or r.get("tool")
        if _is_tool_event(r) and isinstance(name, str) and "output" not in str(r.get("type")):
            at = r.get("t") if isinstance(r.get("t"), (int, float)) else r.get("at")
            out.append(
                ToolCall(name, at if isinstance(at, (int, float)) else None, r.get("arguments"))
            )
    return out


def tool_calls_beside(recording: Path) -> tuple[list[ToolCall] | None, str | None]:
    """The tool calls recorded beside `recording`, and the file they came from."""
    folder = recording.parent
    transcript, events = folder / "transcript.jsonl", folder / "events.jsonl"
    if transcript.is_file():
        calls = _from_transcript(transcript)
        if calls or not events.is_file():
            return calls, str(transcript)
    if events.is_file():
        return _from_events(events), str(events)
    return None, None
