"""Entry point (thin: it only dispatches).

python agent.py dev | start | console [--text] | connect ...   LiveKit's worker CLI
python agent.py replay RECORDING --out DIR [--brain NAME]      offline call replay
python agent.py token --room NAME [--identity ID] [--brain NAME] [--ttl 6h]
                                                               join token for the playground
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "replay":
        from evals.replay import main as replay_main

        sys.exit(replay_main(sys.argv[2:]))

    if len(sys.argv) > 1 and sys.argv[1] == "token":
        from agents.join_token import main as token_main

        sys.exit(token_main(sys.argv[2:]))

    # before LiveKit (and prometheus_client) is imported: its metrics then reach /metrics
    from agents.prometheus_dir import use_multiprocess_dir

    use_multiprocess_dir()
    from agents.worker import main as worker_main

    worker_main()


if __name__ == "__main__":
    main()
