"""Which Taskmaster-4 dialogs the bench speaks, and their user turns with context.

The synthetic sets use user turns of the semantic detector's *held-out* dialogs (the ``test``
split of ``evals/splits.py``, as recorded beside the shipped weights: ``split_record.py``), so
the detector is never benchmarked on dialogs it was trained on.

Data: Taskmaster-4 (Google, CC BY 4.0, Byrne & Ganesh, "PERL", arXiv:2403.10704).
"""

from __future__ import annotations

import random
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_N_DIALOGS = 6


@dataclass(frozen=True)
class DialogTurn:
    id: str  # "<conversation_id>#<utterance index>"
    text: str
    context: tuple[str, ...]


def user_turns(dialog: dict[str, Any], *, max_context: int = 3) -> list[DialogTurn]:
    """The user turns of one dialog, each with the preceding assistant turns as context."""
    out = []
    assistant: list[str] = []
    for i, u in enumerate(dialog.get("utterances", [])):
        text = " ".join(str(u.get("text", "")).split())
        if u.get("speaker") == "assistant":
            if text:
                assistant.append(text)
        elif u.get("speaker") == "user" and text:
            ctx = tuple(assistant[-max_context:]) if max_context else ()
            out.append(DialogTurn(f"{dialog['conversation_id']}#{i}", text, ctx))
    return out


def select_dialogs(
    ids: Iterable[str], n: int, seed: int, available: Container[str] | None = None
) -> list[str]:
    """``n`` of ``ids``: a seeded shuffle of the sorted ids, skipping ids not ``available``.

    The order depends on ``ids`` and ``seed`` only, so data holding the first ``k`` of it (the
    shipped slice) gives the same first ``k`` choices as the full dataset.
    """
    pool = sorted(set(ids))
    random.Random(seed).shuffle(pool)
    if available is not None:
        pool = [i for i in pool if i in available]
    return pool[:n]
