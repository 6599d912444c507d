"""``python -m evals.turn_detection speed``: the semantic detector's speed targets, measured (not
asserted in unit tests, where a busy box would make them flaky).

- predict: p50/p95 ms of one ``predict_text`` on one core over the multi-domain dev set in the
  three STT styles, for the shipped model and the first release (v1, the baseline measured in
  the same run), with the ratio; target p95 <= 10 ms;
- ``--train``: wall time of ``train --limit-dialogs 200`` (what the reproducibility test runs);
  target < 60 s.

    python -m evals.turn_detection speed [--model PATH] [--repeat 3] [--train --data DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from .domains_cli import BASELINE_V1
from .multidomain import STYLES, load_set, render

P95_TARGET_MS = 10.0
TRAIN_TARGET_S = 60.0


def predict_times_ms(model_path: str | None, repeat: int) -> np.ndarray:
    from livekit.plugins.semantic_turn import SemanticTurnDetector

    det = SemanticTurnDetector(model_path=model_path)
    views = [(render(c.text, s, c.label), c.context) for c in load_set("dev") for s in STYLES]
    det.predict_text(*views[0])  # warm
    out = []
    for _ in range(repeat):
        for text, ctx in views:
            t = time.perf_counter()
            det.predict_text(text, ctx)
            out.append((time.perf_counter() - t) * 1000.0)
    return np.asarray(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.turn_detection speed",
                                 description=__doc__.split("\n\n")[0])  # fmt: skip
    ap.add_argument("--model", default=None, help="weights .npz (default: the shipped model)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the dev views (default 3)")
    ap.add_argument("--train", action="store_true", help="also time a 200-dialog training run")
    ap.add_argument("--data", default=None, help="Taskmaster-4 folder, for --train")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        print("error: --repeat must be >= 1", file=sys.stderr)
        return 2
    if args.model and not os.path.isfile(args.model):
        print(f"error: no model file {args.model}", file=sys.stderr)
        return 2
    if args.train and not args.data:
        print("error: --train needs --data", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    base = predict_times_ms(str(BASELINE_V1), args.repeat)
    ours = predict_times_ms(args.model, args.repeat)
    print(f"{'model':<24} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p95 / v1':>9}  target p95 <= "
          f"{P95_TARGET_MS:g} ms")  # fmt: skip
    for name, t in (("v1 (baseline)", base), (args.model or "shipped", ours)):
        p50, p95 = np.percentile(t, 50), np.percentile(t, 95)
        ok = "met" if p95 <= P95_TARGET_MS else "NOT met"
        print(f"{os.path.basename(name):<24} {len(t):>6} {p50:>8.3f} {p95:>8.3f} "
              f"{p95 / np.percentile(base, 95):>8.2f}x  {ok}")  # fmt: skip
    if args.train:
        from . import train

        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            rc = train.main(["--data", args.data, "--out", os.path.join(tmp, "m.npz"),
                             "--limit-dialogs", "200", "--seed", "0", "--C", "0.3"])  # fmt: skip
            dt = time.perf_counter() - t0
        if rc != 0:
            print(f"error: training failed (exit {rc})", file=sys.stderr)
            return 1
        ok = "met" if dt < TRAIN_TARGET_S else "NOT met"
        print(f"train --limit-dialogs 200: {dt:.1f} s (target < {TRAIN_TARGET_S:g} s: {ok})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
