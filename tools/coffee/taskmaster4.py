"""The one Taskmaster-4 reader: where the data is, the raw dialogs, and their API-call annotations.

The coffee domain *is* Taskmaster-4's coffee domain, so its reader lives with the domain: the
menu builder (``tools/coffee/build_menu.py``) and every eval read the dataset through here. This
module imports nothing from ``agents/`` or ``evals/``.

- ``default_data_dir()``: the full dataset beside the checkout (``../shared/data/taskmaster4``)
  when it is there, else the slice shipped in the repo (``data/taskmaster4/``). It does not read
  ``TASKMASTER4_DIR``: command lines take ``--data`` (and may read that variable themselves).
- ``load_dialogs(data_dir, limit)``: the raw dialog dicts of ``data_*.json``, in file order.
- ``api_calls(utterance)``: the API calls annotated on a user turn, with their request and
  response parsed (``parse_annotation_json`` repairs the doubled-quote quirk of a few of them).

Owns: reading Taskmaster-4 (location, dialogs, annotations) and its ``ATTRIBUTION``. May import:
the standard library only; never ``agents`` or ``evals``. Reads no environment variables.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ATTRIBUTION = (
    "Taskmaster-4 by Bill Byrne and Saravanan Ganesh, Google LLC, CC BY 4.0 "
    '(https://creativecommons.org/licenses/by/4.0/), paper "PERL: Parameter Efficient '
    'Reinforcement Learning from Human Feedback" (arXiv:2403.10704, '
    "https://arxiv.org/abs/2403.10704)"
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FULL_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "taskmaster4"
"""The full dataset (3,710 dialogs) beside the checkout."""
SLICE_DATA_DIR = REPO_ROOT / "data" / "taskmaster4"
"""The slice shipped in the repo (see its README.md; ``python -m evals.splits slice`` makes it)."""
DATA_GLOB = "data_*.json"

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
"""The APIs annotated in the coffee dialogs."""


def data_files(data_dir: Path) -> list[Path]:
    """The dataset files of ``data_dir`` in load order (``data_00.json``, ``data_01.json``...)."""
    return sorted(Path(data_dir).glob(DATA_GLOB))


def default_data_dir(full: Path = FULL_DATA_DIR, shipped: Path = SLICE_DATA_DIR) -> Path:
    """``full`` if it holds the dataset's files, else the ``shipped`` slice."""
    return Path(full) if data_files(full) else Path(shipped)


def load_dialogs(
    data_dir: Path | str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Raw dialogs (``conversation_id``, ``scenario``, ``instructions``, ``utterances``...) of
    ``data_dir/data_*.json`` (default: ``default_data_dir()``), file by file in file order.

    Raises ``FileNotFoundError`` naming the folder when it holds no data files, and ``OSError``
    naming the file when one cannot be read or is not a JSON list of dialogs.
    """
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    files = data_files(folder)
    if not files:
        raise FileNotFoundError(
            f"no Taskmaster-4 {DATA_GLOB} under {folder} (pass --data DIR or set TASKMASTER4_DIR)"
        )
    out: list[dict[str, Any]] = []
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise OSError(f"cannot read Taskmaster-4 file {f}: {e}") from e
        if not isinstance(data, list) or not all(
            isinstance(d, dict) and "conversation_id" in d for d in data
        ):
            raise OSError(f"{f}: expected a JSON list of Taskmaster-4 dialogs")
        out.extend(data)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


# --------------------------------------------------------------------------- API calls

_DOUBLED_QUOTES = re.compile(r'""([^"]*)""')


def parse_annotation_json(text: str | None) -> Any:
    """A request/response annotation as JSON; None when empty or not valid JSON.

    A few annotations double-quote a value (``{"menu_item_id": ""mocha-6452""}``): that one
    pattern is repaired before giving up.
    """
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        try:
            return json.loads(_DOUBLED_QUOTES.sub(r'"\1"', text))
        except ValueError:
            return None


@dataclass(frozen=True)
class ApiCall:
    """One annotated call: ``api_call_N`` + ``request`` paired with ``api_response_N`` +
    ``response`` (same ``N``)."""

    index: int  # the N of the annotation contexts
    name: str
    request: dict[str, Any] | None  # None when absent (show_menu) or not a JSON object
    response: dict[str, Any] | None


def api_calls(utterance: dict[str, Any]) -> list[ApiCall]:
    """The API calls annotated on one utterance, in call order (by ``N``)."""
    groups: dict[str, dict[str, Any]] = {}
    for a in utterance.get("annotations") or []:
        key = str(a.get("context", "")).rsplit("_", 1)[-1]
        groups.setdefault(key, {})[str(a.get("name", ""))] = a.get("value")
    out = []
    for key, g in groups.items():
        name = g.get("api_call") or g.get("api_response")
        if not name:
            continue
        req = parse_annotation_json(g.get("request"))
        resp = parse_annotation_json(g.get("response"))
        out.append(
            ApiCall(
                index=int(key) if key.isdigit() else 0,
                name=str(name),
                request=req if isinstance(req, dict) else None,
                response=resp if isinstance(resp, dict) else None,
            )
        )
    out.sort(key=lambda c: c.index)  # stable: equal indices keep annotation order
    return out
