"""Taskmaster-4 dialogs as gold tool calls per user turn, by split.

The dialogs and their API-call annotations come from ``tools.coffee.taskmaster4`` (the one
reader); the held-out set is the ``test`` split of ``evals.splits`` (by dialog, the same split
the turn detector was trained on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.splits import in_split
from tools.coffee import taskmaster4


@dataclass
class GoldCall:
    name: str
    request: dict[str, Any] | None
    """None when the annotated request is not valid JSON (name still scored)."""
    response: dict[str, Any] | None = None


@dataclass
class Turn:
    speaker: str
    text: str
    calls: list[GoldCall] = field(default_factory=list)


@dataclass
class Dialog:
    conversation_id: str
    scenario: str
    turns: list[Turn]


def parse_dialog(raw: dict[str, Any]) -> Dialog:
    turns: list[Turn] = []
    for utt in raw.get("utterances", []):
        calls = [
            GoldCall(
                name=c.name,
                # show_menu takes no arguments: its missing request is an empty one
                request=c.request if c.request is not None or c.name != "show_menu" else {},
                response=c.response,
            )
            for c in taskmaster4.api_calls(utt)
        ]
        turns.append(Turn(speaker=utt.get("speaker", ""), text=utt.get("text", ""), calls=calls))
    return Dialog(
        conversation_id=raw["conversation_id"], scenario=raw.get("scenario", ""), turns=turns
    )


def load_dialogs(split: str = "test", data_dir: Path | None = None) -> list[Dialog]:
    """The dialogs of ``split`` (``test``, ``dev``, ``train`` or ``all``) sorted by id, from
    ``data_dir`` (default: ``default_data_dir()``, the full dataset or the shipped slice)."""
    raw = taskmaster4.load_dialogs(data_dir)
    chosen = in_split(raw, split)
    chosen.sort(key=lambda d: d["conversation_id"])
    return [parse_dialog(d) for d in chosen]
