"""``python -m evals.turn_detection {score,train,bench} ...``

- ``score CASES.jsonl``: P(end of turn) per case with our semantic model (``cli_score.py``);
- ``train ...``: trains the semantic model shipped in ``livekit-plugins-semantic-turn``
  (``train.py``; examples in ``examples.py``, split in ``evals/splits.py``);
- ``domains ...``: text AUC on the hand-written multi-domain sets, three STT styles, per domain
  and leave-one-domain-out (``domains_cli.py``, sets in ``multidomain.py``);
- ``speed ...``: predict p50/p95 and training time against their targets (``speed.py``);
- ``bench ...``: the audio benchmark (``bench.py``; causal scoring in ``bench_scoring.py``,
  policy sweep and operating points in ``sweep.py``).

Each subcommand is imported lazily, so one that is broken or unfinished does not stop the others.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "score": "evals.turn_detection.cli_score",
    "train": "evals.turn_detection.train",
    "bench": "evals.turn_detection.bench",
    "domains": "evals.turn_detection.domains_cli",
    "speed": "evals.turn_detection.speed",
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        if args and args[0] in ("-h", "--help"):
            print(__doc__)
            return 0
        print(
            f"usage: python -m evals.turn_detection {{{','.join(COMMANDS)}}} ...",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(COMMANDS[args[0]])
    rc = module.main(args[1:])
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
