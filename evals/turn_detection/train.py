"""``python -m evals.turn_detection train ...`` == ``python -m livekit.plugins.semantic_turn.train ...``

Trains the semantic end-of-turn model on Taskmaster-4 (CC BY 4.0, Google LLC). Example::

    python -m evals.turn_detection train --data ../shared/data/taskmaster4 \
        --out plugins/livekit-plugins-semantic-turn/livekit/plugins/semantic_turn/resources/semantic_turn_v1.npz
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from livekit.plugins.semantic_turn.train import main as train_main

    return train_main(argv)


if __name__ == "__main__":
    sys.exit(main())
