"""python -m evals.orders GOALS... [--voice V] [--telephony] [--out DIR] [--json F]"""

import sys

from .cli import main

sys.exit(main())
