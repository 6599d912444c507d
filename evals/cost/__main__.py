"""python -m evals.cost CALL_RECORDS_DIR [--json] [--prices FILE] (see `cli`)."""

import sys

from .cli import main

sys.exit(main())
