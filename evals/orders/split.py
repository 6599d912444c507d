"""`python -m evals.orders.split [--seed N] [--dry-run]`: set a third of the goals aside.

Moves `round(n / 3)` goal files, drawn with `random.Random(seed)` from the sorted file names in
`goals/tuned/`, into `goals/heldout/`. Run once, before any call is run on the goals; the
held-out calls are reported but never tuned on. Refuses when `goals/heldout/` already has
goals. The shipped split was made with the default seed (20, the issue's number).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from .goals import GOAL_SUFFIXES

GOALS = Path(__file__).resolve().parent / "goals"
DEFAULT_SEED = 20


def draw_heldout(names: list[str], seed: int) -> list[str]:
    """The file names to set aside: a third (rounded), drawn reproducibly."""
    return sorted(random.Random(seed).sample(sorted(names), k=round(len(names) / 3)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.orders.split", description=__doc__)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--dry-run", action="store_true", help="print the draw, move nothing")
    args = p.parse_args(argv)
    tuned, heldout = GOALS / "tuned", GOALS / "heldout"
    if any(f.suffix in GOAL_SUFFIXES for f in heldout.glob("*")):
        print(f"error: {heldout} already holds goals; the split is made once", file=sys.stderr)
        return 2
    names = [f.name for f in tuned.iterdir() if f.suffix in GOAL_SUFFIXES]
    drawn = draw_heldout(names, args.seed)
    heldout.mkdir(exist_ok=True)
    for name in drawn:
        print(f"held out: {name}")
        if not args.dry_run:
            (tuned / name).rename(heldout / name)
    print(f"{len(drawn)} of {len(names)} goals set aside (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
