"""`python -m evals.cost CALL_RECORDS_DIR`: what a folder of call records cost, per call, per
brain and per 1,000 call minutes (a table, or `--json`), from the `usage` and `cost` each
record's `meta.json` holds (`agents.side_channel.usage`); `--prices FILE` prices the recorded
usage again with the shipped table overridden by FILE.

May import: `agents.side_channel.cost`.
"""

from .summary import CallCost, read_calls, summarise

__all__ = ["CallCost", "read_calls", "summarise"]
