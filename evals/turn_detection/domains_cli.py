"""``python -m evals.turn_detection domains``: text end-of-turn AUC on the hand-written
multi-domain sets (``multidomain.py``), in three STT styles, per domain and leave-one-domain-out.

    python -m evals.turn_detection domains [--set dev|test] [--model PATH ...]
        [--detectors ours,v1,smollm2] [--lodo-dir DIR] [--json-out FILE]

- ``ours``: the shipped semantic model (or each ``--model`` given);
- ``v1``: the coffee-only model of the first release (``resources/baselines/``), for reference;
- ``v2``: the second release (multi-domain templates, no n-gram features), for reference;
- ``smollm2``: SmolLM2-135M zero-shot P(``<|im_end|>``) (needs llama-cpp-python and the GGUF);
- ``--lodo-dir DIR``: leave-one-domain-out: the cases of domain ``D`` are scored by
  ``DIR/<D>.npz``, a model trained without the templated exchanges of ``D``
  (``train --exclude-domains D``; ``--train-lodo`` trains the missing ones first).

Figures: AUC (ties half), and at the model's own threshold the false cut-off rate (holds
scored >= threshold) and the held-complete rate (complete turns scored below it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .multidomain import STYLES, Case, SetFormatError, auc, domains, load_set, render

BASELINES = Path(__file__).resolve().parent / "resources" / "baselines"
BASELINE_V1 = BASELINES / "semantic_turn_v1.npz"
BASELINE_V2 = BASELINES / "semantic_turn_v2.npz"
DETECTOR_NAMES = ("ours", "v1", "v2", "smollm2")

Scorer = Callable[[str, Sequence[str]], float]


def _semantic(path: str | None) -> tuple[Scorer, float]:
    from livekit.plugins.semantic_turn import SemanticTurnDetector

    det = SemanticTurnDetector(model_path=path)
    return det.predict_text, det.threshold


def _smollm2() -> Scorer:
    from .detectors import SmolLM2ZeroShot, View

    d = SmolLM2ZeroShot()
    d.load()
    empty = np.zeros(0, dtype=np.float32)

    def score(text: str, context: Sequence[str]) -> float:
        v = View(t=0.0, audio=empty, text=text, n_words=len(text.split()),
                 context=tuple(context), silence_s=0.0)  # fmt: skip
        return d.predict(v)

    return score


def figures(cases: Sequence[Case], scores: Sequence[float], threshold: float | None) -> dict:
    y = np.asarray([c.label for c in cases])
    p = np.asarray(scores, dtype=np.float64)
    out: dict[str, Any] = {"n": len(cases), "auc": round(auc(y.tolist(), p.tolist()), 4)}
    if threshold is not None:
        out["false_cutoff"] = round(float(np.mean(p[y == 0] >= threshold)), 4)
        out["held_complete"] = round(float(np.mean(p[y == 1] < threshold)), 4)
    return out


def evaluate(
    cases: Sequence[Case], scorer: Scorer, threshold: float | None
) -> dict[str, dict[str, Any]]:
    """``{style: {"all": figures, "domains": {domain: auc}}}``."""
    out: dict[str, dict[str, Any]] = {}
    for style in STYLES:
        scores = [scorer(render(c.text, style, c.label), c.context) for c in cases]
        per = {
            d: round(
                auc(
                    [c.label for c in cases if c.domain == d],
                    [s for c, s in zip(cases, scores, strict=True) if c.domain == d],
                ),
                4,
            )
            for d in domains(cases)
        }
        out[style] = {"all": figures(cases, scores, threshold), "domains": per}
    return out


def evaluate_lodo(cases: Sequence[Case], lodo_dir: str) -> dict[str, dict[str, Any]]:
    """Each domain's cases scored by the model trained without that domain's templates."""
    scored: dict[str, list[float]] = {s: [] for s in STYLES}
    thresholds = []
    order: list[Case] = []
    for d in domains(cases):
        path = os.path.join(lodo_dir, f"{d.replace(' ', '_')}.npz")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no leave-one-domain-out model for {d!r}: {path}")
        scorer, thr = _semantic(path)
        thresholds.append(thr)
        sub = [c for c in cases if c.domain == d]
        order.extend(sub)
        for style in STYLES:
            scored[style].extend(scorer(render(c.text, style, c.label), c.context) for c in sub)
    thr = float(np.median(thresholds))
    out: dict[str, dict[str, Any]] = {}
    for style in STYLES:
        per = {
            d: round(
                auc(
                    [c.label for c in order if c.domain == d],
                    [s for c, s in zip(order, scored[style], strict=True) if c.domain == d],
                ),
                4,
            )
            for d in domains(order)
        }
        out[style] = {"all": figures(order, scored[style], thr), "domains": per}
    return out


def train_lodo(cases: Sequence[Case], lodo_dir: str, data: str, extra: Sequence[str]) -> None:
    from . import train

    os.makedirs(lodo_dir, exist_ok=True)
    for d in domains(cases):
        path = os.path.join(lodo_dir, f"{d.replace(' ', '_')}.npz")
        if os.path.exists(path):
            continue
        t0 = time.monotonic()
        rc = train.main(["--data", data, "--out", path, "--exclude-domains", d, *extra])
        if rc != 0:
            raise RuntimeError(f"training without {d!r} failed (exit {rc})")
        print(f"[domains] trained without {d} in {time.monotonic() - t0:.0f}s", file=sys.stderr)


def _print(name: str, res: dict[str, dict[str, Any]]) -> None:
    row = "  ".join(
        f"{s}: AUC {r['all']['auc']:.3f}"
        + (
            f" fc {100 * r['all']['false_cutoff']:.1f}% held {100 * r['all']['held_complete']:.1f}%"
            if "false_cutoff" in r["all"]
            else ""
        )
        for s, r in res.items()
    )
    print(f"{name:<28} {row}")
    worst = {s: min(r["domains"].items(), key=lambda kv: kv[1]) for s, r in res.items()}
    print(
        " " * 29 + "worst domain: " + ", ".join(f"{s} {d} {a:.3f}" for s, (d, a) in worst.items())
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.turn_detection domains",
                                 description=__doc__.split("\n\n")[0])  # fmt: skip
    ap.add_argument("--set", choices=("dev", "test"), default="dev")
    ap.add_argument("--set-file", default=None, help="score another file in the same format")
    ap.add_argument("--model", action="append", default=[], help="weights .npz (repeatable)")
    ap.add_argument("--detectors", default="ours,v1",
                    help=f"comma list of {', '.join(DETECTOR_NAMES)} (default ours,v1)")  # fmt: skip
    ap.add_argument("--lodo-dir", default=None, help="leave-one-domain-out models, <domain>.npz")
    ap.add_argument("--train-lodo", action="store_true",
                    help="train the missing leave-one-domain-out models first (needs --data)")  # fmt: skip
    ap.add_argument("--data", default=None, help="Taskmaster-4 folder, for --train-lodo")
    ap.add_argument("--train-args", default="", help="extra train arguments for --train-lodo")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args(argv)
    dets = [d.strip() for d in args.detectors.split(",") if d.strip()]
    bad = [d for d in dets if d not in DETECTOR_NAMES]
    if bad:
        print(f"error: unknown detector(s): {', '.join(bad)} (choose from "
              f"{', '.join(DETECTOR_NAMES)})", file=sys.stderr)  # fmt: skip
        return 2
    try:
        cases = load_set(args.set, args.set_file)
    except (OSError, SetFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.train_lodo and (not args.lodo_dir or not args.data):
        print("error: --train-lodo needs --lodo-dir and --data", file=sys.stderr)
        return 2
    for m in args.model:
        if not os.path.isfile(m):
            print(f"error: no model file {m}", file=sys.stderr)
            return 2
    n_eot = sum(c.label for c in cases)
    print(f"{args.set_file or args.set}: {len(cases)} cases ({n_eot} complete, "
          f"{len(cases) - n_eot} cut), {len(domains(cases))} domains")  # fmt: skip
    results: dict[str, Any] = {"set": args.set_file or args.set, "n": len(cases),
                               "domains": domains(cases), "detectors": {}}  # fmt: skip
    for name in dets:
        if name == "ours":
            for m in args.model or [None]:
                scorer, thr = _semantic(m)
                label = "ours" + (f" ({os.path.basename(m)})" if m else "")
                results["detectors"][label] = res = evaluate(cases, scorer, thr)
                _print(label, res)
        elif name in ("v1", "v2"):
            label = "v1 (coffee only)" if name == "v1" else "v2 (no n-gram)"
            scorer, thr = _semantic(str(BASELINE_V1 if name == "v1" else BASELINE_V2))
            results["detectors"][label] = res = evaluate(cases, scorer, thr)
            _print(label, res)
        else:
            try:
                scorer = _smollm2()
            except Exception as e:
                print(f"smollm2: n/a: {e}", file=sys.stderr)
                continue
            results["detectors"]["smollm2-zeroshot"] = res = evaluate(cases, scorer, None)
            _print("smollm2-zeroshot", res)
    if args.lodo_dir:
        if args.train_lodo:
            train_lodo(cases, args.lodo_dir, args.data, args.train_args.split())
        try:
            res = evaluate_lodo(cases, args.lodo_dir)
        except FileNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        results["detectors"]["ours leave-one-domain-out"] = res
        _print("ours leave-one-domain-out", res)
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
