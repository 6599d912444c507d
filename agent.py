"""Entry point (thin: it only dispatches).

python agent.py dev | start | console [--text] | connect ...   LiveKit's worker CLI
python agent.py replay RECORDING --out DIR [--brain NAME]      offline call replay
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "replay":
        from evals.replay import main as replay_main

        sys.exit(replay_main(sys.argv[2:]))

    from agents.worker import main as worker_main

    worker_main()


if __name__ == "__main__":
    main()
