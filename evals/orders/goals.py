"""Goal files: what one simulated caller wants and how it talks (YAML or JSON).

    id: iced-oat-latte                # unique name of the call ([a-z0-9-])
    voice: flite:slt                  # see `evals.orders.voices`; never the agent's Piper voice
    rate: 16k                         # or 8k-mulaw (carried over the simulated SIP hop)
    noise_db: -50                     # white line noise, dBFS RMS (-80..-20), or off
    over_greeting: 0.8                # optional: first line starts 0.8 s into the greeting
    want:                             # the exact final order ([] = the caller orders nothing)
      - item: latte                   # a menu_item_id of tools/coffee/data/menu.json
        quantity: 1
        options: {hot-or-iced: Iced, milk-options: Oat Milk}
        addons: [vanilla-sweetener]
    lines:                            # the requests, in order (a string, or say + gap)
      - say: Hi, can I get a latte please?
      - {say: Make it iced with oat milk., gap: 0.4}
    answers:                          # replies to the agent's questions, first match wins
      - {when: "right\\?", order: match, say: "Yes."}
      - {when: "right\\?", order: mismatch, say: "No, a latte."}
    misunderstood: No, that's not it.  # then the last request again, or the whole order
    done: That's everything.
    confirm: Yes, please place it.
    goodbye: Thanks, bye.

The caller answers a "..., right?" that names drinks with "Yes." when its ear agrees and
with its repair when not, unless an `answers` rule matched first.
`gap` is how long the caller waits after the agent's audio ends before it speaks
(default 0.7 s; negative: it starts that long before the agent's last words end).
Every field is checked against the menu when the file is loaded; a bad file raises
`GoalError` with one line naming the file, the field and what is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tools.coffee.menu import MENU_JSON

from .voices import VoiceError, parse_voice

RATES = ("16k", "8k-mulaw")
ORDER_CONDITIONS = ("any", "match", "mismatch")
GAP_RANGE = (-1.5, 3.0)
NOISE_RANGE = (-80.0, -20.0)
DEFAULT_GAP = 0.7
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
GOAL_SUFFIXES = (".yaml", ".yml", ".json")

_TOP_KEYS = {
    "id", "voice", "rate", "noise_db", "over_greeting", "seed", "want", "lines", "answers",
    "misunderstood", "done", "confirm", "goodbye", "max_repairs",
}  # fmt: skip


class GoalError(ValueError):
    """A goal file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class WantedItem:
    item: str
    """menu_item_id"""
    quantity: int = 1
    options: dict[str, str] = field(default_factory=dict)
    """attribute_id -> the menu's option, e.g. {"milk-options": "Oat Milk"}"""
    addons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Line:
    say: str
    gap: float = DEFAULT_GAP


@dataclass(frozen=True)
class Answer:
    when: re.Pattern[str]
    say: str
    order: str = "any"
    """Only when the caller's ear finds the agent's words `match` its goal, or `mismatch`."""
    gap: float = DEFAULT_GAP


@dataclass(frozen=True)
class Goal:
    id: str
    voice: str
    want: tuple[WantedItem, ...]
    lines: tuple[Line, ...]
    rate: str = "16k"
    noise_db: float | None = -50.0
    """None: no noise."""
    over_greeting: float | None = None
    seed: int = 0
    answers: tuple[Answer, ...] = ()
    misunderstood: str = "No, that's not right."
    done: str = "That's everything."
    confirm: str = "Yes, please place it."
    goodbye: str = "Thanks, bye."
    max_repairs: int = 2
    path: Path | None = None

    @property
    def telephony(self) -> bool:
        return self.rate == "8k-mulaw"


@cache
def menu_catalogue() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(MENU_JSON).read_text(encoding="utf-8"))
    return data


def _fail(where: str, message: str) -> GoalError:
    return GoalError(f"{where}: {message}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"must be non-empty text, got {value!r}")
    if "\n" in value.strip():
        raise _fail(where, "must be one line of text")
    return " ".join(value.split())


def _number(value: Any, where: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"must be a number, got {value!r}")
    if not lo <= float(value) <= hi:
        raise _fail(where, f"{value} is outside {lo:g}..{hi:g}")
    return float(value)


def _integer(value: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise _fail(where, f"{value} is outside {lo}..{hi}")
    return value


def _mapping(value: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"must be a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise _fail(where, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(value))
    if missing:
        raise _fail(where, f"missing field {missing[0]!r}")
    return value


def _wanted(value: Any, where: str) -> WantedItem:
    if isinstance(value, str):
        value = {"item": value}
    spec = _mapping(value, where, {"item", "quantity", "options", "addons"}, {"item"})
    menu = menu_catalogue()
    items = {it["menu_item_id"]: it for it in menu["menu_items"]}
    item_id = spec["item"]
    if item_id not in items:
        raise _fail(f"{where}.item", f"{item_id!r} is not a menu_item_id of the menu")
    item = items[item_id]
    quantity = _integer(spec.get("quantity", 1), f"{where}.quantity", 1, 20)
    options_in = spec.get("options") or {}
    if not isinstance(options_in, dict):
        raise _fail(f"{where}.options", "must be a mapping of attribute_id: option")
    attributes = {a["attribute_id"]: a for a in menu["attributes"]}
    options: dict[str, str] = {}
    for attr_id, option in options_in.items():
        if attr_id not in item["attributes"]:
            allowed = ", ".join(item["attributes"]) or "none"
            raise _fail(
                f"{where}.options",
                f"{attr_id!r} is not an attribute of {item_id} (it has: {allowed})",
            )
        choices = {str(o).lower(): str(o) for o in attributes[attr_id]["options"]}
        if not isinstance(option, str) or option.lower() not in choices:
            raise _fail(
                f"{where}.options.{attr_id}",
                f"{option!r} is not one of: {', '.join(choices.values())}",
            )
        options[attr_id] = choices[option.lower()]
    addons_in = spec.get("addons") or []
    if not isinstance(addons_in, list):
        raise _fail(f"{where}.addons", "must be a list of addon_ids")
    for addon in addons_in:
        if addon not in item["addons"]:
            allowed = ", ".join(item["addons"]) or "none"
            raise _fail(
                f"{where}.addons", f"{addon!r} is not an add-on of {item_id} (it has: {allowed})"
            )
    return WantedItem(item_id, quantity, options, tuple(sorted(set(addons_in))))


def _line(value: Any, where: str) -> Line:
    if isinstance(value, str):
        return Line(_text(value, where))
    spec = _mapping(value, where, {"say", "gap"}, {"say"})
    gap = _number(spec.get("gap", DEFAULT_GAP), f"{where}.gap", *GAP_RANGE)
    return Line(_text(spec["say"], f"{where}.say"), gap)


def _answer(value: Any, where: str) -> Answer:
    spec = _mapping(value, where, {"when", "say", "order", "gap"}, {"when", "say"})
    pattern = _text(spec["when"], f"{where}.when")
    try:
        when = re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise _fail(f"{where}.when", f"not a regular expression ({e})") from None
    order = spec.get("order", "any")
    if order not in ORDER_CONDITIONS:
        raise _fail(f"{where}.order", f"{order!r} is not one of: {', '.join(ORDER_CONDITIONS)}")
    gap = _number(spec.get("gap", DEFAULT_GAP), f"{where}.gap", *GAP_RANGE)
    return Answer(when, _text(spec["say"], f"{where}.say"), order, gap)


def _list(value: Any, where: str, *, allow_empty: bool) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, f"must be a list, got {type(value).__name__}")
    if not value and not allow_empty:
        raise _fail(where, "must not be empty")
    return value


def parse_goal(data: Any, where: str = "goal", *, path: Path | None = None) -> Goal:
    """A goal from a parsed YAML/JSON document; `where` prefixes every error."""
    spec = _mapping(data, where, _TOP_KEYS, {"id", "voice", "want", "lines"})
    goal_id = spec["id"]
    if not isinstance(goal_id, str) or not ID_PATTERN.match(goal_id):
        raise _fail(f"{where}: id", f"{goal_id!r} must be lowercase letters, digits and dashes")
    voice = _text(spec["voice"], f"{where}: voice")
    try:
        parse_voice(voice)
    except VoiceError as e:
        raise _fail(f"{where}: voice", str(e)) from None
    rate = spec.get("rate", "16k")
    if rate not in RATES:
        raise _fail(f"{where}: rate", f"{rate!r} is not one of: {', '.join(RATES)}")
    noise_in = spec.get("noise_db", -50)
    noise = None if noise_in == "off" else _number(noise_in, f"{where}: noise_db", *NOISE_RANGE)
    over = spec.get("over_greeting")
    over_greeting = None if over is None else _number(over, f"{where}: over_greeting", 0.0, 6.0)
    want = tuple(
        _wanted(w, f"{where}: want[{i}]")
        for i, w in enumerate(_list(spec["want"], f"{where}: want", allow_empty=True))
    )
    lines = tuple(
        _line(x, f"{where}: lines[{i}]")
        for i, x in enumerate(_list(spec["lines"], f"{where}: lines", allow_empty=False))
    )
    answers = tuple(
        _answer(a, f"{where}: answers[{i}]")
        for i, a in enumerate(_list(spec.get("answers", []), f"{where}: answers", allow_empty=True))
    )
    words = {
        k: _text(spec[k], f"{where}: {k}")
        for k in ("misunderstood", "done", "confirm", "goodbye")
        if k in spec
    }
    return Goal(
        id=goal_id,
        voice=voice,
        want=want,
        lines=lines,
        rate=rate,
        noise_db=noise,
        over_greeting=over_greeting,
        seed=_integer(spec.get("seed", 0), f"{where}: seed", 0, 2**31 - 1),
        answers=answers,
        max_repairs=_integer(spec.get("max_repairs", 2), f"{where}: max_repairs", 0, 5),
        path=path,
        **words,
    )


def load_goal(path: str | Path) -> Goal:
    p = Path(path)
    if p.suffix.lower() not in GOAL_SUFFIXES:
        raise GoalError(f"{p}: a goal file ends in {', '.join(GOAL_SUFFIXES)}")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise GoalError(f"{p}: cannot read ({e.strerror or e})") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GoalError(f"{p}: not valid {p.suffix[1:].upper()} ({first})") from None
    return parse_goal(data, str(p), path=p)


def load_goals(paths: list[str]) -> list[Goal]:
    """Goal files, and folders of them (sorted by name); ids must be unique."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in GOAL_SUFFIXES)
            if not found:
                raise GoalError(f"{p}: no goal files (*.yaml, *.yml, *.json) in this folder")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise GoalError(f"{p}: no such file or folder")
    goals = [load_goal(f) for f in files]
    seen: dict[str, Path | None] = {}
    for g in goals:
        if g.id in seen:
            raise GoalError(f"{g.path}: id {g.id!r} is already used by {seen[g.id]}")
        seen[g.id] = g.path
    return goals
