"""Does the wideband leg's second listen help? The offline brain's 16 kHz ears three ways, on
every line of the orders eval's 16 kHz goal files, each in its goal's own voice and noise:

- **tiny.en**: the first Whisper alone (`LOCAL_STT_SECOND_LISTEN=off`);
- **base**: Whisper base alone, on every turn;
- **second listen**: what ships (`agents.brain.second_listen.SecondListenSTT`, built by the
  brain's own factory): tiny.en, and base again on the turns whose words the ordering policy
  cannot place (`heard_doubtfully`), its words used when they place.

    python -m evals.second_listen [--exclude SET,SET] [--only SET,SET] [--verbose]

Scored as the policy reads a line: a line is **read as written** when `understand()` gives
the heard text the same drinks (item, number, options, add-ons), acts, question and
off-topic flag as the goal's own words. Context-free (no agent question before the line),
so it is harder than a call, where the agent's last words are in Whisper's prompt. Prints
the lines read as written per goal set and in total, the share heard twice, and seconds
per line (median [IQR], p95), with the load average before and after. Run it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

from evals.latency import Spread

GOALS = Path(__file__).resolve().parent / "orders" / "goals"
RATE = 16000
SEED = 7


@dataclass
class Line:
    set: str
    id: str
    text: str
    audio: np.ndarray


@dataclass
class Tally:
    lines: int = 0
    right: dict[str, int] = field(default_factory=lambda: {"tiny": 0, "base": 0, "second": 0})
    seconds: dict[str, list[float]] = field(
        default_factory=lambda: {"tiny": [], "base": [], "second": []}
    )
    twice: int = 0


def reading(text: str) -> tuple[Any, ...]:
    """How the ordering policy reads a line: its drinks, acts, question and off-topic flag."""
    from agents.brain.guided.understanding import understand

    turn = understand(text)
    drinks = sorted(
        (d.menu_item_id, d.quantity, tuple(sorted(d.attributes.items())), tuple(sorted(d.addons)))
        for d in turn.drinks
    )
    return (drinks, sorted(turn.acts), turn.question, turn.off_topic)


def goal_lines(sets: Sequence[str]) -> list[Line]:
    """Every line of the 16 kHz goals in `sets`, in its goal's voice, levelled, with its line
    noise (seeded), with 0.25 s of silence before and 0.5 s after."""
    from evals.orders.goals import load_goals
    from evals.orders.voices import parse_voice, speech_for

    rng = np.random.default_rng(SEED)
    pad = np.zeros(RATE // 4, np.int16)
    out = []
    for name in sets:
        for goal in load_goals([str(GOALS / name)]):
            if goal.telephony:
                continue
            for i, line in enumerate(goal.lines):
                pcm = speech_for(
                    line.say, parse_voice(goal.voice), RATE, noise_db=goal.noise_db, rng=rng
                )
                audio = np.concatenate([pad, pcm, pad, pad])
                out.append(Line(name, f"{goal.id}/{i}", line.say, audio))
    return out


async def _heard(engine: Any, audio: np.ndarray) -> tuple[str, float]:
    frame = rtc.AudioFrame(audio.astype(np.int16).tobytes(), RATE, 1, len(audio))
    started = time.perf_counter()
    event = await engine.recognize(buffer=frame)
    return (event.alternatives[0].text if event.alternatives else ""), time.perf_counter() - started


def _spread(xs: list[float]) -> str:
    sp = Spread.of(xs)
    if sp is None:
        return "-"
    return f"{sp.median:.2f} [{sp.q25:.2f}-{sp.q75:.2f}] p95 {sp.p95:.2f}"


async def run(sets: Sequence[str], verbose: bool) -> int:
    from agents.brain.factories import _local_stt
    from agents.brain.second_listen import SecondListenSTT
    from agents.config import Settings

    shipped = _local_stt(Settings.from_env(dict(os.environ)), telephony=False)
    if not isinstance(shipped, SecondListenSTT):
        print(
            "the wideband leg has no second listen here: install Whisper base "
            "(python scripts/install_models.py) and leave LOCAL_STT_SECOND_LISTEN unset",
            file=sys.stderr,
        )
        return 2
    engines = {"tiny": shipped.inner, "base": shipped.second, "second": shipped}
    for e in engines.values():
        e.prewarm()
    lines = goal_lines(sets)
    load_before = os.getloadavg()
    tallies: dict[str, Tally] = {}
    for line in lines:
        tally = tallies.setdefault(line.set, Tally())
        tally.lines += 1
        want = reading(line.text)
        listens = shipped.listens
        for name, engine in engines.items():
            text, took = await _heard(engine, line.audio)
            tally.seconds[name].append(took)
            tally.right[name] += reading(text) == want
            if verbose:
                print(f"{line.id} {name}: {text!r}", file=sys.stderr)
        tally.twice += shipped.listens - listens
    load_after = os.getloadavg()
    total = Tally()
    for t in tallies.values():
        total.lines += t.lines
        total.twice += t.twice
        for k in total.right:
            total.right[k] += t.right[k]
            total.seconds[k] += t.seconds[k]
    print("| goal set | lines | read as written: tiny.en | base | second listen | heard twice |")
    print("|---|---|---|---|---|---|")
    for name, t in [*tallies.items(), ("all", total)]:
        r = t.right
        print(f"| {name} | {t.lines} | {r['tiny']} | {r['base']} | {r['second']} | {t.twice} |")
    print()
    print("| engine | seconds per line: median [IQR], p95 |")
    print("|---|---|")
    for k, label in (("tiny", "tiny.en"), ("base", "base"), ("second", "second listen")):
        print(f"| {label} | {_spread(total.seconds[k])} |")
    print()
    fmt = " ".join(f"{x:.2f}" for x in load_before)
    print(f"load average before / after: {fmt} / {' '.join(f'{x:.2f}' for x in load_after)} "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.second_listen", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--exclude", default="", help="goal sets to leave out (held out)")
    ap.add_argument("--only", default="", help="only these goal sets")
    ap.add_argument("--verbose", action="store_true", help="print each line as heard")
    args = ap.parse_args(argv)
    known = sorted(d.name for d in GOALS.iterdir() if d.is_dir())
    only = [s for s in args.only.split(",") if s] or known
    exclude = {s for s in args.exclude.split(",") if s}
    unknown = (set(only) | exclude) - set(known)
    if unknown:
        ap.error(f"unknown goal set(s): {', '.join(sorted(unknown))} (have: {', '.join(known)})")
    return asyncio.run(run([s for s in only if s not in exclude], args.verbose))


if __name__ == "__main__":
    raise SystemExit(main())
