"""What a listener picks out of a sentence about an order: the menu's drinks, quantities and
option words (milk, iced, decaf, shots, add-ons). The simulated caller's ear uses it to check
the agent's read-back against its goal, and the scorer to find which drinks and options an
agent sentence states.

Matching is on words, the longest menu name first ("chai latte" is not a "latte"), with plurals
("two lattes"); it reads the agent's text, never audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from .goals import WantedItem, menu_catalogue

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
OPTION_WORDS: dict[str, tuple[str, str]] = {
    "iced": ("hot-or-iced", "Iced"),
    "hot": ("hot-or-iced", "Hot"),
    "decaf": ("caffeine", "Decaf"),
    "whole milk": ("milk-options", "Whole Milk"),
    "2% lactose free milk": ("milk-options", "2% Lactose Free Milk"),
    "lactose free milk": ("milk-options", "2% Lactose Free Milk"),
    "2% milk": ("milk-options", "2% Milk"),
    "two percent milk": ("milk-options", "2% Milk"),
    "non-fat milk": ("milk-options", "Non-fat Milk"),
    "nonfat milk": ("milk-options", "Non-fat Milk"),
    "skim milk": ("milk-options", "Non-fat Milk"),
    "oat milk": ("milk-options", "Oat Milk"),
    "almond milk": ("milk-options", "Almond Milk"),
    "no milk": ("milk-options", "No Milk"),
    "single shot": ("espresso-shots", "Single"),
    "double shot": ("espresso-shots", "Double"),
    "triple shot": ("espresso-shots", "Triple"),
    "quadruple shot": ("espresso-shots", "Quadruple"),
}
"""Spoken option words -> (attribute_id, the menu's option); "hot" not in "hot chocolate"."""


def normalize(text: str) -> str:
    """Lowercase words separated by single spaces ("Non-fat" keeps its dash, % kept)."""
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"[^a-z0-9%'\- ]+", " ", t)
    return " ".join(t.split())


@cache
def _drink_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    items = menu_catalogue()["menu_items"]
    by_length = sorted(items, key=lambda it: -len(it["name"]))
    out = []
    for it in by_length:
        name = normalize(it["name"])
        out.append((it["menu_item_id"], re.compile(rf"\b{re.escape(name)}(e?s)?\b")))
    return tuple(out)


@cache
def _addon_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    addons = sorted(menu_catalogue()["addons"], key=lambda a: -len(a["name"]))
    return tuple(
        (a["addon_id"], re.compile(rf"\b{re.escape(normalize(a['name']))}\b")) for a in addons
    )


@dataclass
class HeardItem:
    item: str
    quantity: int | None
    """None: no number word before the name."""
    options: dict[str, str] = field(default_factory=dict)
    addons: set[str] = field(default_factory=set)


def drinks_named(text: str) -> list[tuple[str, int, int]]:
    """(menu_item_id, start, end) of each drink named in `normalize(text)`, in order. A
    drink's name right after "is" or "that's" is what another drink is made of ("The
    Cortado is espresso and milk"), as a listener hears it, not a drink named."""
    t = normalize(text)
    taken = [False] * len(t)
    found: list[tuple[str, int, int]] = []
    for item_id, pattern in _drink_patterns():
        for m in pattern.finditer(t):
            if any(taken[m.start() : m.end()]):
                continue
            taken[m.start() : m.end()] = [True] * (m.end() - m.start())
            if re.search(r"\b(is|that'?s|that is)\s+$", t[: m.start()]):
                continue
            found.append((item_id, m.start(), m.end()))
    return sorted(found, key=lambda f: f[1])


def options_named(text: str) -> dict[str, set[str]]:
    """attribute_id -> the options the words name; "addons" -> the add-ons."""
    t = normalize(text)
    out: dict[str, set[str]] = {}
    for words in sorted(OPTION_WORDS, key=len, reverse=True):
        # longest first, each match blanked: "2% lactose free milk" is not also "2% milk"
        regex = rf"(?<![\w%-]){re.escape(words)}\b" + ("(?! chocolate)" if words == "hot" else "")
        if re.search(regex, t):
            attr, option = OPTION_WORDS[words]
            out.setdefault(attr, set()).add(option)
            t = re.sub(regex, " ", t)
    for addon_id, pattern in _addon_patterns():
        if pattern.search(t):
            out.setdefault("addons", set()).add(addon_id)
            t = pattern.sub(" ", t)
    return out


def heard_order(text: str) -> list[HeardItem]:
    """The drinks a read-back states, each with the number word before it and the option
    words between it and the next drink's number word ("one iced latte with oat milk and two
    mochas" -> latte x1 {iced, oat milk}, mocha x2)."""
    t = normalize(text)
    named = drinks_named(t)
    heard: list[HeardItem] = []
    prev_end = 0
    for i, (item_id, start, end) in enumerate(named):
        before = t[prev_end:start].split()
        quantity = None
        head_words: list[str] = []
        for k in range(len(before) - 1, -1, -1):
            if before[k] in NUMBER_WORDS:
                quantity = NUMBER_WORDS[before[k]]
                head_words = before[k + 1 :]
                break
        next_start = named[i + 1][1] if i + 1 < len(named) else len(t)
        tail = t[end:next_start].split()
        # the next drink's number word (and what follows it) belongs to the next drink
        for k in range(len(tail) - 1, -1, -1):
            if tail[k] in NUMBER_WORDS and i + 1 < len(named):
                tail = tail[:k]
                break
        found = options_named(" ".join([*head_words, *tail]))
        addons = found.pop("addons", set())
        options = {attr: sorted(opts)[0] for attr, opts in found.items()}
        heard.append(HeardItem(item_id, quantity, options, addons))
        prev_end = end
    return heard


def merged(items: list[HeardItem] | tuple[WantedItem, ...]) -> dict[tuple[object, ...], int]:
    """Quantities per (item, options, add-ons): two lines of one latte = two lattes."""
    out: dict[tuple[object, ...], int] = {}
    for it in items:
        key = (it.item, tuple(sorted(it.options.items())), tuple(sorted(it.addons)))
        out[key] = out.get(key, 0) + (it.quantity or 1)
    return out


def read_back_matches(text: str, want: tuple[WantedItem, ...]) -> bool:
    """The sentence states exactly the wanted order: every drink with its quantity, options
    (iced, decaf, milk, shots) and add-ons, and nothing else."""
    return merged(heard_order(text)) == merged(want) if want else not drinks_named(text)


def say_order(want: tuple[WantedItem, ...]) -> str:
    """The wanted order in a caller's words: "one iced latte with oat milk and a mocha"."""
    menu = menu_catalogue()
    names = {it["menu_item_id"]: it["name"].lower() for it in menu["menu_items"]}
    counts = {v: k for k, v in NUMBER_WORDS.items() if k not in ("a", "an")}
    phrases = []
    for w in want:
        head = [counts.get(w.quantity, str(w.quantity))]
        head += [w.options[a].lower() for a in ("hot-or-iced", "caffeine") if a in w.options]
        name = names[w.item] + ("s" if w.quantity > 1 and not names[w.item].endswith("s") else "")
        extras = []
        if "milk-options" in w.options:
            extras.append(w.options["milk-options"].lower())
        if "espresso-shots" in w.options:
            extras.append(f"a {w.options['espresso-shots'].lower()} shot")
        extras += [addon_name(a).lower() for a in w.addons]
        tail = f" with {' and '.join(extras)}" if extras else ""
        phrases.append(" ".join([*head, name]) + tail)
    if len(phrases) > 1:
        return ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return phrases[0] if phrases else "nothing"


def addon_name(addon_id: str) -> str:
    """The menu's name of an add-on ("Hazelnut Sweetener")."""
    return next(a["name"] for a in menu_catalogue()["addons"] if a["addon_id"] == addon_id)
