"""The one Taskmaster-4 split every eval uses, and the data slice shipped in the repo.

**Split by dialog** from a seeded hash of the conversation id: ``crc32(f"{seed}:{id}") % 100``
< 80 train, < 90 dev, else test (seed 0). A dialog's split depends on nothing but its id, so it
is the same on the full dataset, on a slice and under ``--limit``. The semantic turn detector's
shipped weights were trained on this split (``evals/turn_detection/train.py``), so it must not
change: the tool-call eval's held-out set is its ``test`` split too.

The slice (``data/taskmaster4/``) is what the tests and the default evals need when the full
dataset (``../shared/data/taskmaster4``) is absent::

    python -m evals.splits slice --data ../shared/data/taskmaster4 --out data/taskmaster4
    python -m evals.splits counts [--data DIR]

Owns: the split and the slice. May import: ``tools.coffee.taskmaster4`` and, for the slice,
``evals.turn_detection``. Reads ``TASKMASTER4_DIR`` (``resolve_data_dir``, for the CLIs).

Data: Taskmaster-4 (Bill Byrne and Saravanan Ganesh, Google LLC), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from tools.coffee.taskmaster4 import ATTRIBUTION, default_data_dir, load_dialogs

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")
SEED = 0
SCHEME = "crc32(f'{seed}:{id}') % 100: <80 train, <90 dev, else test"


def split_of(dialog_id: str, seed: int = SEED) -> Split:
    """The split of one Taskmaster-4 dialog (or synthetic dialog) id."""
    h = zlib.crc32(f"{seed}:{dialog_id}".encode()) % 100
    return "train" if h < 80 else ("dev" if h < 90 else "test")


def split_ids(ids: Iterable[str], seed: int = SEED) -> dict[Split, list[str]]:
    """``{"train": [...], "dev": [...], "test": [...]}``, each sorted and without repeats."""
    out: dict[Split, list[str]] = {s: [] for s in SPLITS}
    for i in sorted(set(ids)):
        out[split_of(i, seed)].append(i)
    return out


def in_split(
    dialogs: Iterable[dict[str, Any]], split: str, seed: int = SEED
) -> list[dict[str, Any]]:
    """The raw dialogs of ``split`` (``train``, ``dev``, ``test`` or ``all``), order kept."""
    if split == "all":
        return list(dialogs)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} ({', '.join(SPLITS)}, all)")
    return [d for d in dialogs if split_of(d["conversation_id"], seed) == split]


def resolve_data_dir(arg: str | Path | None = None) -> Path:
    """The Taskmaster-4 folder an eval CLI reads: ``--data``, else ``$TASKMASTER4_DIR``, else
    ``default_data_dir()`` (the full dataset beside the checkout, else the shipped slice)."""
    if arg:
        return Path(arg)
    env = os.environ.get("TASKMASTER4_DIR", "").strip()
    return Path(env) if env else default_data_dir()


# --------------------------------------------------------------------------- the shipped slice

SLICE_FIRST = 24
"""The first dialogs in file order: what ``train --limit-dialogs N`` (N <= 24) reads."""
SLICE_TOOL_CALL_TEST = 10
"""The first test dialogs by id: what ``python -m evals.tool_calls --limit N`` (N <= 10) replays."""


def slice_ids(dialogs: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Why each dialog of the slice is in it: ``{reason: [conversation ids]}``.

    Each part is a prefix of the order its consumer reads in, so a consumer that reads no more
    than the slice holds sees exactly what it would see in the full dataset.
    """
    from evals.turn_detection.bench_dialogs import DEFAULT_N_DIALOGS, select_dialogs
    from evals.turn_detection.split_record import heldout_dialog_ids

    present = {d["conversation_id"] for d in dialogs}
    test = sorted(d["conversation_id"] for d in in_split(dialogs, "test"))
    return {
        f"`python -m evals.turn_detection train --limit-dialogs N` (N <= {SLICE_FIRST}): the "
        f"first {SLICE_FIRST} dialogs in file order": [
            d["conversation_id"] for d in dialogs[:SLICE_FIRST]
        ],
        f"`python -m evals.tool_calls --limit N` (N <= {SLICE_TOOL_CALL_TEST}): the first "
        f"{SLICE_TOOL_CALL_TEST} test-split dialogs by id": test[:SLICE_TOOL_CALL_TEST],
        f"`python -m evals.turn_detection bench` (default --n-dialogs {DEFAULT_N_DIALOGS}, "
        "--seed 0): the held-out dialogs it speaks": select_dialogs(
            heldout_dialog_ids(), DEFAULT_N_DIALOGS, 0, available=present
        ),
    }


SLICE_COMMAND = (
    "python -m evals.splits slice --data ../shared/data/taskmaster4 --out data/taskmaster4"
)


def write_slice(dialogs: Sequence[dict[str, Any]], out: Path) -> dict[str, list[str]]:
    """Write the slice under ``out``: ``data_00.json`` (the chosen dialogs, unchanged, in the
    dataset's order and file layout) and ``README.md``; returns ``slice_ids``."""
    parts = slice_ids(dialogs)
    keep = {i for ids in parts.values() for i in ids}
    chosen = [d for d in dialogs if d["conversation_id"] in keep]
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("data_*.json"):
        old.unlink()
    # the dataset's own layout: 4-space indent, ASCII, no final newline
    (out / "data_00.json").write_text(json.dumps(chosen, indent=4), encoding="utf-8")
    (out / "README.md").write_text(_slice_readme(parts, chosen, len(dialogs)), encoding="utf-8")
    return parts


def _slice_readme(
    parts: dict[str, list[str]], chosen: Sequence[dict[str, Any]], n_full: int
) -> str:
    counts = _counts(chosen)
    lines = [
        "# Taskmaster-4: the slice shipped in this repo",
        "",
        f"{len(chosen)} of the {n_full:,} coffee-ordering dialogs of Taskmaster-4, unchanged and in",
        "the original file format (`data_00.json`: a JSON list of dialogs, as in the dataset's",
        "`data_0*.json`), so that the tests and the default evals run in a clone without the full",
        "dataset (`../shared/data/taskmaster4`, which `tools.coffee.taskmaster4.default_data_dir()`",
        "prefers when it is there). Figures from the slice are smoke tests, not results.",
        "",
        "## Attribution and license",
        "",
        f"{ATTRIBUTION}.",
        "This is the work of Bill Byrne and Saravanan Ganesh from Google LLC, made available under",
        "the Creative Commons Attribution 4.0 License (https://creativecommons.org/licenses/by/4.0/).",
        "Changes made: a selection of whole dialogs (listed below); nothing inside a dialog is",
        "changed.",
        "",
        "## Which dialogs, and why",
        "",
        "Each part is the head of the order its consumer reads in, so a consumer that reads no",
        "more than the slice holds sees exactly what it sees in the full dataset. Split of the",
        f"slice (`evals/splits.py`): {counts['train']} train, {counts['dev']} dev, "
        f"{counts['test']} test.",
        "",
    ]
    for reason, ids in parts.items():
        lines += [f"- {reason}: {len(ids)}", *[f"  - `{i}`" for i in ids]]
    lines += ["", "## Regenerate", "", "```", SLICE_COMMAND, "```", ""]
    return "\n".join(lines)


def _counts(dialogs: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {s: len(in_split(dialogs, s)) for s in SPLITS} | {"all": len(dialogs)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.splits", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sl = sub.add_parser("slice", help="write the repo's Taskmaster-4 slice")
    sl.add_argument("--data", default=None, help="the full dataset (default: see resolve_data_dir)")
    sl.add_argument("--out", type=Path, required=True, help="e.g. data/taskmaster4")
    co = sub.add_parser("counts", help="dialogs per split")
    co.add_argument("--data", default=None)
    a = ap.parse_args(argv)
    data = resolve_data_dir(a.data)
    try:
        dialogs = load_dialogs(data)
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.cmd == "counts":
        print(json.dumps({"data": str(data), **_counts(dialogs)}))
        return 0
    out = cast(Path, a.out)
    if out.resolve() == data.resolve():
        print("error: --out must not be the folder the slice is read from", file=sys.stderr)
        return 2
    parts = write_slice(dialogs, out)
    n = len({i for ids in parts.values() for i in ids})
    size = sum(f.stat().st_size for f in out.glob("data_*.json"))
    print(f"wrote {out}/data_00.json: {n} of {len(dialogs)} dialogs, {size} bytes")
    for reason, ids in parts.items():
        print(f"  {reason}: {len(ids)}")
    print(f"  attribution: {ATTRIBUTION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
