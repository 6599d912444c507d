"""Which prompt should the offline ears give Whisper? Every line of the orders eval's goal
files, in its goal's own voice and noise, heard by one leg's Whisper with each prompt:

- **shipped**: `agents.brain.factories.local_stt_prompt`, the menu as a caller orders it
  ("Can I get one Americano, two Cappuccinos, ... or a Wild Strawberry, with oat milk ...?");
- **menu list**: the prompt it replaced, the menu's names as a bare comma list;
- **none**: no prompt.

    python -m evals.prompt_bench [--phone] [--exclude SET,SET] [--only SET,SET]

Wideband (the default): the 16 kHz goals' lines through the wideband leg's first Whisper
(tiny.en, beam 5). `--phone`: every goal's lines as a phone caller's (8 kHz G.711 mu-law,
`evals.replay.telephony`) through the phone leg's Whisper (base when installed). Each
Whisper is built as the brain's factory builds it (beam, encoder window), the prompt aside.

Scored as `python -m evals.second_listen` scores (`reading`: a line is **read as written**
when the ordering policy reads the heard words as it reads the goal's own), context-free (no
agent question before the line). Also counted: **list echoes**, heard text shaped like a
bare list of drink names (`understanding.reads_like_the_menu_list`), which the policy checks
before adding. Prints a table per goal set and in total, seconds per line (median [IQR], p95)
and the load average before and after. Run it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.second_listen import (
    add_set_arguments,
    chosen_sets,
    goal_lines,
    hear_line,
    load_line,
    reading,
    spread_text,
)

PROMPTS = ("shipped", "menu list", "none")


def menu_list_prompt() -> str:
    """The prompt the shipped one replaced (stop 41): the menu's names, comma separated."""
    from agents.brain.guided.understanding import load_menu

    names = ", ".join(it["name"] for it in load_menu().items.values())
    return f"A phone order at a coffee bar: {names}, oat milk, almond milk, decaf, iced."


def prompt_text(name: str) -> str | None:
    from agents.brain.factories import local_stt_prompt

    return {"shipped": local_stt_prompt(), "menu list": menu_list_prompt(), "none": None}[name]


@dataclass
class Tally:
    lines: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROMPTS, 0))
    echoes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROMPTS, 0))
    seconds: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PROMPTS})


def _engines(phone: bool) -> tuple[str, dict[str, Any]]:
    from agents.brain.factories import leg_whisper, local_whisper_model
    from agents.config import Settings

    s = Settings.from_env(dict(os.environ))
    model = local_whisper_model(s, telephony=phone)
    engines = {p: leg_whisper(s, phone, prompt_text(p)) for p in PROMPTS}
    return (Path(model).name if model else "tiny.en"), engines


async def run(sets: Sequence[str], phone: bool) -> int:
    from agents.brain.guided.understanding import load_menu, reads_like_the_menu_list

    menu = load_menu()
    whisper, engines = _engines(phone)
    for e in engines.values():
        e.prewarm()
    lines = goal_lines(sets, phone)
    rate = 8000 if phone else 16000
    load_before = os.getloadavg()
    tallies: dict[str, Tally] = {}
    total = Tally()
    for line in lines:
        want = reading(line.text)
        for t in (tallies.setdefault(line.set, Tally()), total):
            t.lines += 1
        for name, engine in engines.items():
            text, took = await hear_line(engine, line.audio, rate)
            right, echo = reading(text) == want, reads_like_the_menu_list(text, menu)
            for t in (tallies[line.set], total):
                t.right[name] += right
                t.echoes[name] += echo
                t.seconds[name].append(took)
    load_after = os.getloadavg()
    leg = "phone (8 kHz mu-law)" if phone else "wideband (16 kHz)"
    print(f"{leg} leg, Whisper {whisper}: lines read as written (list echoes)")
    print(f"| goal set | lines | {' | '.join(PROMPTS)} |")
    print("|---|---|" + "---|" * len(PROMPTS))
    for name, t in [*sorted(tallies.items()), ("all", total)]:
        cells = " | ".join(f"{t.right[p]} ({t.echoes[p]})" for p in PROMPTS)
        print(f"| {name} | {t.lines} | {cells} |")
    print()
    print("| prompt | seconds per line: median [IQR], p95 |")
    print("|---|---|")
    for p in PROMPTS:
        print(f"| {p} | {spread_text(total.seconds[p])} |")
    print()
    print(load_line(load_before, load_after))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.prompt_bench", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--phone", action="store_true", help="every line as a phone caller's")
    add_set_arguments(ap)
    args = ap.parse_args(argv)
    return asyncio.run(run(chosen_sets(ap, args), args.phone))


if __name__ == "__main__":
    sys.exit(main())
