"""`python -m evals.cost CALL_RECORDS_DIR [--json] [--prices FILE]`: the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agents.side_channel.cost import PriceTableError, load_prices

from .summary import CostInputError, read_calls, summarise, table


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.cost",
        description="What a folder of call records cost: per call, per brain, per 1,000 call "
        "minutes (from each record's meta.json).",
    )
    p.add_argument("records", help="a CALL_RECORDS_DIR (folders <call id>/meta.json)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--prices",
        default=None,
        metavar="FILE",
        help="price the recorded usage again: the shipped table overridden by FILE "
        "(default: the cost each record was priced at)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        prices = load_prices(args.prices) if args.prices is not None else None
        summary = summarise(read_calls(Path(args.records), prices))
    except (CostInputError, PriceTableError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2) if args.json else table(summary))
    return 0
