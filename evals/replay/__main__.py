"""python -m evals.replay RECORDING --out DIR [--brain NAME] [--telephony [--loss P] [--jitter MS]]
(same as `agent.py replay`)."""

import sys

from .run import main

sys.exit(main())
