"""Does a leg's second listen help? The offline brain's ears three ways, on the lines of the
orders eval's goal files, each in its goal's own voice and noise:

- **first**: the leg's first Whisper alone (wideband: tiny.en; phone: base);
- **second**: the second listen's Whisper alone, on every turn (wideband: base);
- **second listen**: what ships (`agents.brain.second_listen.SecondListenSTT`, built by the
  brain's own factory): the first Whisper, and the second again on the turns whose words the
  ordering policy cannot place (`heard_doubtfully`), its words used when they place.

    python -m evals.second_listen [--phone] [--exclude SET,SET] [--only SET,SET] [--verbose]

Wideband (the default): every line of the 16 kHz goal files, at 16 kHz, through the wideband
leg the brain's factory builds. `--phone`: every line of every goal file as a phone caller's
(8 kHz G.711 mu-law, `evals.replay.telephony`), through the phone leg's Whisper base; the
phone leg ships no second listen (this bench is why: README, "The offline brain"), so the
second is the candidate, tiny.en with the menu prompt, wrapped as the wideband leg's is.
The last column counts the lines whose words came from the second listen, and how many of
those were read as written: words that place are not always the right words.

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
    right: dict[str, int] = field(default_factory=lambda: {"first": 0, "second": 0, "both": 0})
    seconds: dict[str, list[float]] = field(
        default_factory=lambda: {"first": [], "second": [], "both": []}
    )
    twice: int = 0
    replaced: int = 0
    """Lines whose words came from the second listen..."""
    replaced_right: int = 0
    """... and of those, the lines read as written."""


def reading(text: str) -> tuple[Any, ...]:
    """How the ordering policy reads a line: its drinks, acts, question and off-topic flag."""
    from agents.brain.guided.understanding import understand

    turn = understand(text)
    drinks = sorted(
        (d.menu_item_id, d.quantity, tuple(sorted(d.attributes.items())), tuple(sorted(d.addons)))
        for d in turn.drinks
    )
    return (drinks, sorted(turn.acts), turn.question, turn.off_topic)


def goal_lines(sets: Sequence[str], phone: bool = False) -> list[Line]:
    """The lines of the goals in `sets` (wideband: the 16 kHz goals; `phone`: every goal, as
    8 kHz G.711 mu-law), in the goal's voice, levelled, with its line noise (seeded), with
    0.25 s of silence before and 0.5 s after."""
    from evals.orders.goals import load_goals
    from evals.orders.voices import parse_voice, speech_for
    from evals.replay.telephony import telephone_audio

    rng = np.random.default_rng(SEED)
    pad = np.zeros(RATE // 4, np.int16)
    out = []
    for name in sets:
        for goal in load_goals([str(GOALS / name)]):
            if goal.telephony and not phone:
                continue
            for i, line in enumerate(goal.lines):
                pcm = speech_for(
                    line.say, parse_voice(goal.voice), RATE, noise_db=goal.noise_db, rng=rng
                )
                audio = np.concatenate([pad, pcm, pad, pad])
                if phone:
                    audio = telephone_audio(audio, RATE)
                out.append(Line(name, f"{goal.id}/{i}", line.say, audio))
    return out


async def hear_line(engine: Any, audio: np.ndarray, rate: int) -> tuple[str, float]:
    frame = rtc.AudioFrame(audio.astype(np.int16).tobytes(), rate, 1, len(audio))
    started = time.perf_counter()
    event = await engine.recognize(buffer=frame)
    return (event.alternatives[0].text if event.alternatives else ""), time.perf_counter() - started


def _engine_name(engine: Any, base: Path | None) -> str:
    """ "base" or "tiny.en": which Whisper an engine is (its model directory)."""
    model = Path(engine.options.model).resolve()  # the models folder may be a link
    return "base" if base is not None and model == base.resolve() else "tiny.en"


def load_line(before: Sequence[float], after: Sequence[float]) -> str:
    """ "load average before / after: 0.71 0.61 0.72 / 1.69 1.63 1.25 (2 CPUs)" """
    b, a = (" ".join(f"{x:.2f}" for x in la) for la in (before, after))
    return f"load average before / after: {b} / {a} ({os.cpu_count()} CPUs)"


def spread_text(xs: list[float]) -> str:
    sp = Spread.of(xs)
    if sp is None:
        return "-"
    return f"{sp.median:.2f} [{sp.q25:.2f}-{sp.q75:.2f}] p95 {sp.p95:.2f}"


async def run(sets: Sequence[str], verbose: bool, phone: bool = False) -> int:
    from agents.brain.factories import (
        LOCAL_STT_DIR,
        WIDEBAND_BEAM,
        _local_stt,
        _menu_whisper,
        installed_model,
    )
    from agents.brain.guided.understanding import heard_doubtfully
    from agents.brain.second_listen import SecondListenSTT
    from agents.config import Settings
    from agents.phone_digits import PhoneDigitsSTT

    settings = Settings.from_env(dict(os.environ))
    leg = _local_stt(settings, telephony=phone)
    if isinstance(leg, PhoneDigitsSTT):
        leg = leg.inner
    if phone and not isinstance(leg, SecondListenSTT):
        # the phone leg ships none: measure the candidate, tiny.en after Whisper base
        second = _menu_whisper(None, beam_size=WIDEBAND_BEAM, window=settings.local_stt_window)
        leg = SecondListenSTT(leg, second, heard_doubtfully)
    if not isinstance(leg, SecondListenSTT):
        print(
            "the wideband leg has no second listen here: install Whisper base "
            "(python scripts/install_models.py) and leave LOCAL_STT_SECOND_LISTEN unset",
            file=sys.stderr,
        )
        return 2
    base = installed_model(settings.models_dir, LOCAL_STT_DIR)
    names = {
        "first": _engine_name(leg.inner, base),
        "second": _engine_name(leg.second, base),
        "both": "second listen",
    }
    engines = {"first": leg.inner, "second": leg.second, "both": leg}
    rate = 8000 if phone else RATE
    for e in engines.values():
        e.prewarm()
    lines = goal_lines(sets, phone)
    load_before = os.getloadavg()
    tallies: dict[str, Tally] = {}
    for line in lines:
        tally = tallies.setdefault(line.set, Tally())
        tally.lines += 1
        want = reading(line.text)
        listens, replaced = leg.listens, leg.replaced
        right: dict[str, bool] = {}
        for name, engine in engines.items():
            text, took = await hear_line(engine, line.audio, rate)
            tally.seconds[name].append(took)
            right[name] = reading(text) == want
            tally.right[name] += right[name]
            if verbose:
                print(f"{line.id} {name}: {text!r}", file=sys.stderr)
        tally.twice += leg.listens - listens
        if leg.replaced > replaced:
            tally.replaced += 1
            tally.replaced_right += right["both"]
    load_after = os.getloadavg()
    total = Tally()
    for t in tallies.values():
        total.lines += t.lines
        total.twice += t.twice
        total.replaced += t.replaced
        total.replaced_right += t.replaced_right
        for k in total.right:
            total.right[k] += t.right[k]
            total.seconds[k] += t.seconds[k]
    where = "phone (8 kHz mu-law)" if phone else "wideband (16 kHz)"
    print(f"{where} leg: first {names['first']}, second {names['second']}")
    print(f"| goal set | lines | read as written: {names['first']} | {names['second']} "
          "| second listen | heard twice | second words used (read as written) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, t in [*tallies.items(), ("all", total)]:
        r = t.right
        print(f"| {name} | {t.lines} | {r['first']} | {r['second']} | {r['both']} | {t.twice} "
              f"| {t.replaced} ({t.replaced_right}) |")  # fmt: skip
    print()
    print("| engine | seconds per line: median [IQR], p95 |")
    print("|---|---|")
    for k, label in names.items():
        print(f"| {label} | {spread_text(total.seconds[k])} |")
    print()
    print(load_line(load_before, load_after))
    return 0


def add_set_arguments(ap: argparse.ArgumentParser) -> None:
    """`--exclude` and `--only`: which goal sets a bench over goal lines hears."""
    ap.add_argument("--exclude", default="", help="goal sets to leave out (held out)")
    ap.add_argument("--only", default="", help="only these goal sets")


def chosen_sets(ap: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The goal sets `--only` and `--exclude` leave; a set that does not exist, or none
    left, is a usage error (exit 2)."""
    known = sorted(d.name for d in GOALS.iterdir() if d.is_dir())
    only = [s for s in args.only.split(",") if s] or known
    exclude = {s for s in args.exclude.split(",") if s}
    unknown = (set(only) | exclude) - set(known)
    if unknown:
        ap.error(f"unknown goal set(s): {', '.join(sorted(unknown))} (have: {', '.join(known)})")
    sets = [s for s in only if s not in exclude]
    if not sets:
        ap.error("no goal set left to hear")
    return sets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.second_listen", description=__doc__.split("\n")[0]
    )
    add_set_arguments(ap)
    ap.add_argument("--verbose", action="store_true", help="print each line as heard")
    ap.add_argument(
        "--phone", action="store_true", help="every goal line as a phone caller's, the phone leg"
    )
    args = ap.parse_args(argv)
    return asyncio.run(run(chosen_sets(ap, args), args.verbose, args.phone))


if __name__ == "__main__":
    raise SystemExit(main())
