"""``python -m evals.turn_detection score CASES.jsonl`` -- semantic P(end of turn) per case.

Input, one JSON object per line (blank lines are skipped; ``-`` reads stdin)::

    {"id": "c1", "context": [{"role": "assistant", "content": "How many?"}], "text": "two",
     "label": "eot"}

- ``text`` (string, required): the user's transcript so far;
- ``id`` (string or integer, optional; defaults to the line number);
- ``context`` (optional list of ``{"role", "content"}`` objects, oldest first): only assistant
  messages are used; roles must be assistant/user/system/developer;
- ``label`` (optional): ``"eot"`` (the turn is over) or ``"hold"`` (the user is still going).

Output on stdout, one line per case: ``{"id": ..., "p_eot": float}``. With labels, a summary
(AUC, accuracy / false cut-offs / held complete turns at the threshold) goes to stderr.

The whole file is validated before anything is scored: a malformed line (bad JSON, missing
``text``, wrong types, bad label) is reported on stderr as ``FILE:LINE: reason`` and the
command exits with status 2 without printing any result.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LABELS = {"eot": 1, "hold": 0}
ROLES = ("assistant", "user", "system", "developer")


class CaseError(ValueError):
    pass


@dataclass
class Case:
    id: str | int
    text: str
    context: list[str]
    label: int | None


def parse_case(line: str, lineno: int) -> Case:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise CaseError(f"invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(obj, dict):
        raise CaseError(f"expected a JSON object, got {type(obj).__name__}")
    if "text" not in obj:
        raise CaseError('missing "text"')
    text = obj["text"]
    if not isinstance(text, str):
        raise CaseError(f'"text" must be a string, got {type(text).__name__}')
    cid = obj.get("id", lineno)
    if isinstance(cid, bool) or not isinstance(cid, (str, int)):
        raise CaseError(f'"id" must be a string or an integer, got {type(cid).__name__}')
    ctx_raw = obj.get("context", [])
    if ctx_raw is None:
        ctx_raw = []
    if not isinstance(ctx_raw, list):
        raise CaseError(f'"context" must be a list, got {type(ctx_raw).__name__}')
    context: list[str] = []
    for i, m in enumerate(ctx_raw):
        if not isinstance(m, dict):
            raise CaseError(f'"context"[{i}] must be an object with "role" and "content"')
        role, content = m.get("role"), m.get("content")
        if role not in ROLES:
            raise CaseError(f'"context"[{i}].role must be one of {", ".join(ROLES)}, got {role!r}')
        if not isinstance(content, str):
            raise CaseError(f'"context"[{i}].content must be a string')
        if role == "assistant":
            context.append(content)
    label_raw = obj.get("label")
    label: int | None = None
    if label_raw is not None:
        if not isinstance(label_raw, str) or label_raw not in LABELS:
            raise CaseError(f'"label" must be "eot" or "hold", got {label_raw!r}')
        label = LABELS[label_raw]
    return Case(cid, text, context, label)


def read_cases(lines: Sequence[str], name: str) -> tuple[list[Case], list[str]]:
    cases: list[Case] = []
    errors: list[str] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            cases.append(parse_case(line, lineno))
        except CaseError as e:
            errors.append(f"{name}:{lineno}: {e}")
    return cases, errors


def auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """ROC AUC (Mann-Whitney, ties count half); None without both classes."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    if not pos or not neg:
        return None
    import numpy as np

    allv = np.asarray(pos + neg, dtype=np.float64)
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv), dtype=np.float64)
    sorted_v = allv[order]
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    r_pos = ranks[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def summary(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, Any]:
    n = len(labels)
    pred = [int(s >= threshold) for s in scores]
    neg = [p for p, y in zip(pred, labels, strict=True) if y == 0]
    pos = [p for p, y in zip(pred, labels, strict=True) if y == 1]
    a = auc(labels, scores)
    return {
        "n": n,
        "n_eot": len(pos),
        "n_hold": len(neg),
        "auc": None if a is None else round(a, 4),
        "threshold": round(threshold, 4),
        "accuracy": round(sum(p == y for p, y in zip(pred, labels, strict=True)) / n, 4),
        "false_cutoff_rate": round(sum(neg) / len(neg), 4) if neg else None,
        "held_complete_rate": round(1 - sum(pos) / len(pos), 4) if pos else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.turn_detection score",
        description="P(end of turn) per JSONL case with the semantic turn detector.",
    )
    ap.add_argument("cases", help="JSONL file, or - for stdin")
    ap.add_argument("--model", default=None, help="weights .npz (default: the shipped model)")
    ap.add_argument(
        "--threshold", type=float, default=None, help="default: the model's unlikely_threshold"
    )
    args = ap.parse_args(argv)

    name = "<stdin>" if args.cases == "-" else args.cases
    try:
        if args.cases == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(args.cases, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        print(f"{name}: cannot read: {e}", file=sys.stderr)
        return 2
    cases, errors = read_cases(lines, name)
    if errors:
        for err in errors:
            print(err, file=sys.stderr)
        print(f"{len(errors)} malformed line(s); nothing scored", file=sys.stderr)
        return 2

    from livekit.plugins.semantic_turn import SemanticTurnDetector

    det = SemanticTurnDetector(model_path=args.model, unlikely_threshold=args.threshold)
    scores: list[float] = []
    out = sys.stdout
    for c in cases:
        p = det.predict_text(c.text, c.context)
        scores.append(p)
        out.write(json.dumps({"id": c.id, "p_eot": round(p, 6)}) + "\n")
    out.flush()

    labelled = [(c.label, s) for c, s in zip(cases, scores, strict=True) if c.label is not None]
    if labelled:
        s = summary([y for y, _ in labelled], [p for _, p in labelled], det.threshold)
        print("summary " + json.dumps(s), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
