"""python -m evals.tool_calls [--limit N] [--brain NAME] [--split test] [--data DIR] [--json OUT]"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from evals.splits import resolve_data_dir

from .data import load_dialogs


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m evals.tool_calls",
        description="Replay Taskmaster-4 dialogs in text mode and score the tool calls.",
    )
    p.add_argument("--limit", type=_positive, default=None, help="first N dialogs of the split")
    p.add_argument("--brain", default="cascade", help="brain whose text LLM is evaluated")
    p.add_argument("--split", default="test", choices=["test", "dev", "train", "all"],
                   help="evals/splits.py split (default test: the held-out dialogs)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write the full results here")
    p.add_argument("--menu", default="shop", choices=["shop", "dialog"],
                   help="shop: every dialog against our whole menu (default); dialog: less the "
                        "drinks the dialog's own shop did not sell (its searches found none)")  # fmt: skip
    p.add_argument("--data", type=Path, default=None,
                   help="Taskmaster-4 folder (default: $TASKMASTER4_DIR, else ../shared/data/"
                        "taskmaster4 beside the checkout, else the repo's data/taskmaster4 slice)")  # fmt: skip
    return p.parse_args(argv)


def print_table(result: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    def f(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

    t = Table(title=title)
    cols = ("api", "gold", "pred", "tp", "precision", "recall", "f1", "strict P", "strict R",
            "arg match")  # fmt: skip
    for col in cols:
        t.add_column(col, justify="left" if col == "api" else "right")
    for name, s in result["per_api"].items():
        t.add_row(name, f(s["gold"]), f(s["pred"]), f(s["tp"]), f(s["precision"]),
                  f(s["recall"]), f(s["f1"]), f(s["strict_precision"]), f(s["strict_recall"]),
                  f(s["arg_match"]))  # fmt: skip
    o = result["overall"]
    t.add_row("ALL", f(o["gold"]), f(o["pred"]), f(o["tp"]), f(o["precision"]), f(o["recall"]),
              f(o["f1"]), f(o["strict_precision"]), f(o["strict_recall"]), f(o["arg_match"]),
              style="bold")  # fmt: skip
    Console().print(t)
    Console().print(f"user turns: {o['user_turns']}, turns fully right: {f(o['turn_exact'])}")
    wrong = ", ".join(f"{k} {n}" for k, n in o.get("wrong_after", {}).items() if n)
    Console().print(f"wrong calls by the agent's reply before the turn: {wrong or 'none'}")


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    from agents.config import ConfigError, Settings, load_env

    try:
        from agents.brain import build_text_llm, get_profile
    except ImportError as e:  # pragma: no cover - agents/brains.py is the lead's module
        print(f"error: agents.brain is not available: {e}", file=sys.stderr)
        return 2
    load_env()
    try:
        settings = Settings.from_env()
        get_profile(a.brain)
        build_text_llm(a.brain, settings)  # fail fast on missing keys / unknown brain
    except (ConfigError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        dialogs = load_dialogs(a.split, resolve_data_dir(a.data))
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.limit:
        dialogs = dialogs[: a.limit]

    from tqdm import tqdm

    from .runner import run_eval

    with tqdm(total=len(dialogs), desc=f"tool calls [{a.brain}]", unit="dialog") as bar:
        result = asyncio.run(
            run_eval(
                dialogs, lambda: build_text_llm(a.brain, settings), progress=bar.update, menu=a.menu
            )  # fmt: skip
        )
    result.update({"brain": a.brain, "split": a.split, "dialogs": len(dialogs), "menu": a.menu,
                   "dataset": "Taskmaster-4 (Google LLC), CC BY 4.0"})  # fmt: skip
    print_table(result, f"Taskmaster-4 tool calls, brain={a.brain}, split={a.split}, menu={a.menu}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
