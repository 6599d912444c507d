"""The split record written beside a trained semantic turn model: which Taskmaster-4 dialogs it
was trained on (``train``), calibrated on (``dev``) and never saw (``test``).

The split itself is ``evals.splits.split_of``; the record is its result over the dialogs the
model was trained with, so the held-out ids are known without the dataset. The shipped model's
record is ``resources/semantic_turn_v3.splits.json`` (the weights stay in the plugin: the
plugin ships inference only); a model trained elsewhere has ``<weights stem>.splits.json``
beside its weights. The ids are Taskmaster-4 conversation ids (Google LLC, Byrne & Ganesh,
CC BY 4.0).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SHIPPED_RECORD = Path(__file__).resolve().parent / "resources" / "semantic_turn_v3.splits.json"


def splits_path(model_path: str | os.PathLike[str] | None = None) -> str:
    """The record of the model at ``model_path`` (default: the shipped model)."""
    if model_path is None:
        return str(SHIPPED_RECORD)
    root, _ = os.path.splitext(os.fspath(model_path))
    return root + ".splits.json"


def load_split(model_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The dialog split the model at ``model_path`` (default: the shipped one) was trained with.

    Returns ``{"seed": int, "scheme": str, "train": [ids], "dev": [ids], "test": [ids]}``.
    """
    with open(splits_path(model_path), encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def heldout_dialog_ids(model_path: str | os.PathLike[str] | None = None) -> list[str]:
    """Taskmaster-4 conversation ids never seen in training or calibration (the test split)."""
    return list(load_split(model_path)["test"])
