"""Build the labelled set of synthetic stereo calls that `python -m evals.calls bench` scores.

Reproducible and offline: Piper joe, espeak-ng voices and real LibriVox speech from Debian's
pocketsphinx-testdata, placed at known offsets (ordinary answers, agent interruptions, caller
barge-ins the agent yields to or talks through, long silences), written as 16 kHz PCM WAV,
8 kHz mu-law WAV and Opus/OGG with a `<call>.labels.json` beside each (see
`evals/calls/labelled.py`). The same seed gives the same labels.

    .venv/bin/python scripts/make_labelled_calls.py [--out out/labelled-calls] [--calls 9] [--seed 11]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.calls.labelled import build_set  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "out" / "labelled-calls"))
    p.add_argument("--calls", type=int, default=9)
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args()
    if args.calls < 1:
        print("error: --calls must be >= 1", file=sys.stderr)
        return 2
    for path in build_set(Path(args.out), n_calls=args.calls, seed=args.seed):
        print(f"wrote {path} (+ {path.stem}.labels.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
