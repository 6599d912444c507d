"""python -m evals.calls score|replay|bench (see `cli`)."""

import sys

from .cli import main

sys.exit(main())
