"""Taskmaster-4 dialogs as gold tool calls per user turn, and a persisted split by dialog."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.config import taskmaster4_dir

DATA_DIR = taskmaster4_dir()
SPLIT_FILE = Path(__file__).resolve().parent / "split.json"
SPLIT_SEED = 20240314
TEST_FRACTION = 0.1
API_NAMES = (
    "get_menu_items",
    "show_menu",
    "get_addons",
    "add_order_item",
    "update_order_item",
    "update_order",
    "get_order_details",
    "finish_order",
)


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


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        # a few annotations double-quote ids (`""mocha-6452""`): repair that one pattern
        try:
            return json.loads(re.sub(r'""([^"]*)""', r'"\1"', text))
        except ValueError:
            return None


def parse_dialog(raw: dict[str, Any]) -> Dialog:
    turns: list[Turn] = []
    for utt in raw.get("utterances", []):
        calls: dict[str, GoldCall] = {}
        order: list[str] = []
        for a in utt.get("annotations", []):
            key = str(a.get("context", "")).rsplit("_", 1)[-1]
            if a.get("name") == "api_call":
                calls[key] = GoldCall(name=a.get("value", ""), request=None)
                order.append(key)
        for a in utt.get("annotations", []):
            key = str(a.get("context", "")).rsplit("_", 1)[-1]
            if key not in calls:
                continue
            if a.get("name") == "request":
                req = _loads(a.get("value"))
                calls[key].request = req if isinstance(req, dict) else None
            elif a.get("name") == "response":
                resp = _loads(a.get("value"))
                calls[key].response = resp if isinstance(resp, dict) else None
        for c in calls.values():
            if c.name == "show_menu" and c.request is None:
                c.request = {}
        ordered = sorted(order, key=lambda k: int(k) if k.isdigit() else 0)
        turns.append(
            Turn(
                speaker=utt.get("speaker", ""),
                text=utt.get("text", ""),
                calls=[calls[k] for k in ordered],
            )  # fmt: skip
        )
    return Dialog(
        conversation_id=raw["conversation_id"], scenario=raw.get("scenario", ""), turns=turns
    )


def load_raw(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in sorted(data_dir.glob("data_0*.json")):
        out.extend(json.loads(f.read_text()))
    if not out:
        raise FileNotFoundError(f"no Taskmaster-4 data_0*.json under {data_dir}")
    return out


def make_split(
    ids: list[str], *, seed: int = SPLIT_SEED, fraction: float = TEST_FRACTION
) -> dict[str, Any]:
    shuffled = sorted(set(ids))
    random.Random(seed).shuffle(shuffled)
    n_test = max(1, round(len(shuffled) * fraction))
    return {
        "seed": seed,
        "fraction": fraction,
        "dialogs": len(shuffled),
        "test": sorted(shuffled[:n_test]),
        "note": "Split by dialog (conversation_id). Taskmaster-4, Google LLC, CC BY 4.0.",
    }


def load_split(ids: list[str], path: Path = SPLIT_FILE) -> dict[str, Any]:
    """The persisted split; created (deterministically) on first use."""
    if path.exists():
        return json.loads(path.read_text())
    split = make_split(ids)
    path.write_text(json.dumps(split, indent=0) + "\n")
    return split


def load_dialogs(split: str = "test", data_dir: Path = DATA_DIR) -> list[Dialog]:
    raw = load_raw(data_dir)
    ids = [d["conversation_id"] for d in raw]
    sp = load_split(ids)
    test = set(sp["test"])
    if split == "test":
        chosen = [d for d in raw if d["conversation_id"] in test]
    elif split == "train":
        chosen = [d for d in raw if d["conversation_id"] not in test]
    elif split == "all":
        chosen = raw
    else:
        raise ValueError(f"unknown split {split!r} (test, train, all)")
    chosen.sort(key=lambda d: d["conversation_id"])
    return [parse_dialog(d) for d in chosen]
