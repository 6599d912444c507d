"""What a scored call cost, from the call record beside its recording: the `cost` and
`usage` that `meta.json` holds (`agents.side_channel.usage`) go into `report.json` as
`cost` (None when there is no record, or it holds no cost)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def cost_beside(recording: Path) -> dict[str, Any] | None:
    meta_path = recording.parent / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("cost"), dict):
        return None
    return {"source": str(meta_path), **meta["cost"], "usage": meta.get("usage") or []}
