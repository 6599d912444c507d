"""Personal numbers in text: payment cards (with the expiry date and security code said next to
them), SSN-like and phone numbers, written as digits (grouped by spaces, any dash, underscores,
dots, colons, slashes...) or spoken as number words ("four one one one ...").

`find_sensitive(text)` returns each one's span, kind and last four digits; `mask(text)`
replaces them for records and logs (`[card ending 1111]`). Nothing here keeps the number.

A number is found across a few words and sentence ends ("4111 1111. And then 1111 1111."),
and across pieces of text: `mask_pieces([turn1, turn2])` masks a card that a caller split over
two turns, and `StreamMasker` does it turn by turn for a record written as it goes.
`trailing_digits(text)` says how many digits end a text still unmasked, so the TTS sentence
gate can hold such a sentence back until the next one decides.

Why hand-written patterns and not a library such as `phonenumbers`: masking needs recall
without knowing the caller's country (a validating parser drops numbers its region's plan
rejects, e.g. `07911 123456` parsed as a US number), spoken number words, and card numbers
split over sentences; a superset by length (10-15 digits = a phone number) masks more and
is a few microseconds a sentence.

Owns: what counts as a personal number. Imports: the standard library only (the order store
masks free text with it, and `tools/` may not import `agents/`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

SensitiveKind = Literal["card", "ssn", "phone", "number", "expiry", "cvv"]

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5",
    "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
_WORDS = sorted([*_DIGIT_WORDS, *_TEENS, *_TENS, *_REPEAT], key=len, reverse=True)
_TOKEN = r"(?:\+?\d+|\b(?:" + "|".join(_WORDS) + r")\b)"
# inside one number: whitespace (no-break too), every dash and minus sign, underscores, dots,
# commas, colons, slashes, brackets, and the word "and"
_SEP_CHARS = r"\s\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d_.,:/()*"
_SEP = r"(?:[" + _SEP_CHARS + r"]|\band\b)*"
_RUN = re.compile(r"(?<!\d)" + _TOKEN + r"(?:" + _SEP + _TOKEN + r")*", re.IGNORECASE)
_TOKENS = re.compile(_TOKEN, re.IGNORECASE)
_SSN = re.compile(r"^\d{3}[\s\-]\d{2}[\s\-]\d{4}$")
# prices ("4.50") and clock times ("10:30") are never part of a personal number: they are
# blanked before runs are found, so a menu read out is not one long "number"
_NOT_A_NUMBER = re.compile(r"(?<![\d.])\d+\.\d{1,2}(?![\d])|(?<![\d:])\d{1,2}:\d{2}(?![\d:])")
_BLANK = "#"
_WORD = re.compile(r"[^\W\d_]+")
_CARD_WORDS = re.compile(
    r"\b(?:cvv2?|cvc2?|csc|security code|card code|verification code|exp(?:iry|iration)?"
    r"(?: date)?|expires?|expiring|valid (?:thru|through|until))\b",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(r"^\s*\d{1,2}\s*[/\-_.]\s*\d{2,4}\s*$")
_MAX_GAP_WORDS = 4
"""Words that may stand between two pieces of one card number ("and then", "the rest is")."""
_NEAR_CARD_WORDS = 6
"""An expiry or security code this many words or fewer from a card is masked with it."""
HOLD_DIGITS = 3
"""A text that ends in this many unmasked digits or more may continue in the next piece."""


@dataclass(frozen=True)
class SensitiveNumber:
    kind: SensitiveKind
    start: int
    end: int
    last4: str

    def masked(self) -> str:
        """How records and logs show it: the kind and the last four digits only."""
        if self.kind in ("expiry", "cvv"):
            return f"[{self.kind}]"
        return f"[{self.kind} ending {self.last4}]"

    def spoken(self) -> str:
        """What the agent may say instead: the last four digits, one by one."""
        if self.kind in ("expiry", "cvv"):
            return "withheld"
        return f"ending in {' '.join(self.last4)}"


@dataclass(frozen=True)
class _Run:
    start: int
    end: int
    text: str
    digits: str
    spoken: bool


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _run_digits(run: str) -> tuple[str, bool]:
    """The digits a run spells, and whether it used number words."""
    out: list[str] = []
    words = False
    repeat = 1
    tokens = [t.lower() for t in _TOKENS.findall(run)]
    i = 0
    while i < len(tokens):
        tok = tokens[i].lstrip("+")
        if tok.isdigit():
            out.append(tok * repeat)
        else:
            words = True
            if tok in _REPEAT:
                repeat = _REPEAT[tok]
                i += 1
                continue
            if tok in _TENS:
                nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
                if nxt in _DIGIT_WORDS and nxt not in ("zero", "oh", "o"):
                    out.append((_TENS[tok] + _DIGIT_WORDS[nxt]) * repeat)
                    i += 1
                else:
                    out.append((_TENS[tok] + "0") * repeat)
            elif tok in _TEENS:
                out.append(_TEENS[tok] * repeat)
            else:
                out.append(_DIGIT_WORDS[tok] * repeat)
        repeat = 1
        i += 1
    return "".join(out), words


_CARD_SIZES = (16, 15, 19, 18, 17, 14, 13)
"""Card lengths, the usual first, for a card inside a longer run."""


def _classify(run: str, digits: str, spoken: bool) -> tuple[SensitiveKind, str] | None:
    """The kind of number a run is and the last four digits to show, or None."""
    n = len(digits)
    if 13 <= n <= 19 and luhn_ok(digits):
        return "card", digits[-4:]
    if n == 9 and (_SSN.match(run.strip()) or spoken):
        return "ssn", digits[-4:]
    if 10 <= n <= 15 or (run.lstrip().startswith("+") and n >= 8):
        # E.164 allows 15 digits; national forms ("07911 123456", "555 867 5309") are 10-11
        return "phone", digits[-4:]
    if n > 19:
        # a card inside a longer run (a card number said twice, or followed by its expiry)
        for start in range(0, n - 12):
            for size in _CARD_SIZES:
                card = digits[start : start + size]
                if len(card) == size and luhn_ok(card):
                    return "card", card[-4:]
    if n > 15:
        # no card (a digit misheard?) but too long to be anything harmless
        return "number", digits[-4:]
    return None


def _shadow(text: str) -> str:
    """`text` with prices and clock times blanked (same length, so spans stay the same)."""
    return _NOT_A_NUMBER.sub(lambda m: _BLANK * len(m.group(0)), text)


_AND_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s,]*\band\s+(?=\+?\d)", re.IGNORECASE)
"""Written numbers joined by "and" are two numbers ("orders 100001 and 100002"); spoken
ones may be one ("five five five and eight six seven ...")."""


def _runs(text: str) -> list[_Run]:
    out: list[_Run] = []
    for m in _RUN.finditer(_shadow(text)):
        at = m.start()
        for part in _AND_BETWEEN_DIGITS.split(text[m.start() : m.end()]):
            start, at = text.index(part, at), text.index(part, at) + len(part)
            digits, spoken = _run_digits(part)
            if not digits:
                continue
            # an opening bracket before the number belongs to it: "(555) 867-5309"
            if start > 0 and text[start - 1] == "(" and ")" in part:
                start, part = start - 1, "(" + part
            # trailing separators belong to the sentence, not to the number
            end = start + len(part.rstrip(" -.,/(:_"))
            out.append(_Run(start, end, text[start:end], digits, spoken))
    return out


def _gap_words(text: str, a: int, b: int) -> int | None:
    """Words between two runs, or None if the gap holds a blanked price or time."""
    gap = text[a:b]
    if _BLANK in _shadow(gap) or len(gap) > 60:
        return None
    return len(_WORD.findall(gap))


def find_sensitive(text: str) -> list[SensitiveNumber]:
    runs = _runs(text)
    found: list[SensitiveNumber] = []
    taken = [False] * len(runs)
    for i, r in enumerate(runs):
        if len(r.digits) < 9:
            continue
        kind = _classify(r.text, r.digits, r.spoken)
        if kind is not None:
            taken[i] = True
            found.append(SensitiveNumber(kind[0], r.start, r.end, kind[1]))
    # a card number in pieces a few words apart: "4111 1111. And then 1111 1111."
    i = 0
    while i < len(runs):
        best = -1
        digits = runs[i].digits
        j = i
        while not taken[j] and len(runs[j].digits) >= HOLD_DIGITS and len(digits) <= 19:
            if len(digits) >= 13 and luhn_ok(digits) and j > i:
                best = j
            if j + 1 >= len(runs) or taken[j + 1] or len(runs[j + 1].digits) < HOLD_DIGITS:
                break
            words = _gap_words(text, runs[j].end, runs[j + 1].start)
            if words is None or words > _MAX_GAP_WORDS:
                break
            j += 1
            digits += runs[j].digits
        if best >= 0:
            joined = "".join(r.digits for r in runs[i : best + 1])
            found.append(SensitiveNumber("card", runs[i].start, runs[best].end, joined[-4:]))
            for k in range(i, best + 1):
                taken[k] = True
            i = best + 1
        else:
            i += 1
    found += _card_details(text, runs, taken, found)
    return sorted(found, key=lambda s: s.start)


def _card_details(
    text: str, runs: list[_Run], taken: list[bool], found: list[SensitiveNumber]
) -> list[SensitiveNumber]:
    """Expiry dates and security codes: after a card word ("cvv", "expires"), or a few words
    from a card number."""
    cards = [s for s in found if s.kind == "card"]
    out: list[SensitiveNumber] = []
    for i, r in enumerate(runs):
        if taken[i] or not HOLD_DIGITS <= len(r.digits) <= 6:
            continue
        before = text[max(0, r.start - 40) : r.start]
        keywords = list(_CARD_WORDS.finditer(before))
        keyword = keywords[-1] if keywords else None  # the nearest one counts
        near_word = keyword is not None and len(_WORD.findall(before[keyword.end() :])) <= 2
        near_card = any(_near(text, c, r) for c in cards)
        if not (near_word or near_card):
            continue
        expiry = _DATE_LIKE.match(r.text) or (
            keyword is not None and keyword.group(0).lower().startswith(("exp", "valid"))
        )
        out.append(SensitiveNumber("expiry" if expiry else "cvv", r.start, r.end, ""))
    return out


def _near(text: str, card: SensitiveNumber, run: _Run) -> bool:
    a, b = (card.end, run.start) if card.end <= run.start else (run.end, card.start)
    words = _gap_words(text, a, b) if a <= b else None
    return words is not None and words <= _NEAR_CARD_WORDS


def mask(text: str) -> str:
    """`text` with every personal number replaced by its masked form."""
    for s in reversed(find_sensitive(text)):
        text = text[: s.start] + s.masked() + text[s.end :]
    return text


def mask_pieces(pieces: Sequence[str]) -> list[str]:
    """`mask` over pieces of one stream (a caller's consecutive turns): a number that starts
    in one piece and ends in the next is masked in both."""
    if len(pieces) < 2:
        return [mask(p) for p in pieces]
    joined = "\n".join(pieces)
    bounds: list[tuple[int, int]] = []
    at = 0
    for p in pieces:
        bounds.append((at, at + len(p)))
        at += len(p) + 1
    found = find_sensitive(joined)
    out: list[str] = []
    for lo, hi in bounds:
        piece = joined[lo:hi]
        for s in reversed(found):
            a, b = max(s.start, lo), min(s.end, hi)
            if a < b:
                piece = piece[: a - lo] + s.masked() + piece[b - lo :]
        out.append(piece)
    return out


def trailing_digits(text: str) -> int:
    """How many digits the last number in `text` has when nothing but punctuation follows it
    and it is not already part of a personal number (0 otherwise): such a text may be the
    first piece of a number the next piece completes."""
    runs = _runs(text)
    if not runs or text[runs[-1].end :].strip(" \t\n\r.,;:!?\"')]-") != "":
        return 0
    last = runs[-1]
    if any(s.start <= last.start < s.end for s in find_sensitive(text)):
        return 0
    return len(last.digits)


_CARD_WORD_HEAD = re.compile(
    r"\b(?:security|card|verification|valid|exp|expiry|expiration)\W*$", re.IGNORECASE
)
"""A word that may begin a card word of two ("security code", "expiration date")."""
_LAST_SPACE = re.compile(r"\s(?=\S*$)")
_WORD_STARTS = (
    *_WORDS, "cvv2", "cvc2", "csc", "security", "card", "verification", "valid", "expiry",
    "expiration", "expires", "expiring",
)  # fmt: skip
"""The number words and the first words of the card words: a word still being written that
could become one of them is not passed on yet."""
_PARTIAL = re.compile(r"(?<!\S)([^\W\d_]+)([^\w\s]*)$")


def number_free_prefix(text: str) -> tuple[int, bool]:
    """`(n, stopped)`: `text[:n]` is whole words (it ends in whitespace) with no digit, number
    word ("four", "oh") or card word ("expires", "security code") in them, the last not the
    start of a card word of two: whatever follows, nothing in it is, or marks, a piece of a
    personal number, so it may be screened and passed on alone (the TTS gate streams a
    reply's words this way). `stopped`: a number or card word follows, so the rest of the
    text must wait for its sentence's end."""
    found = [m for m in (_TOKENS.search(text), _CARD_WORDS.search(text)) if m]
    limit = min((m.start() for m in found), default=len(text))
    # a word at the very end may still grow ("o" -> "okay"): it stops nothing yet
    stopped = any(m.end() < len(text) or m.group().isdigit() for m in found)
    head = text[:limit]
    if head[-1:].isspace():
        n = len(head)
    else:
        space = _LAST_SPACE.search(head)
        n = space.end() if space is not None else 0
        # the word being written goes too when it cannot become a number or card word
        part = _PARTIAL.search(text) if not found else None
        if part is not None:
            word = part.group(1).lower()
            if part.group(2) or not any(w.startswith(word) for w in _WORD_STARTS):
                n = len(text)
    if n and (m := _CARD_WORD_HEAD.search(text, 0, n)) is not None:
        n = m.start()
    return n, stopped


SHOWN_DIGITS = 6
"""Digits of an unfinished number a piece may show: at most the first six of a card (what
PCI DSS allows shown, with the last four)."""


class StreamMasker:
    """Masks the pieces of one stream (a caller's turns) one by one, as each must be written
    at once (a durable record): a piece is masked together with the `window` pieces before
    it, so a number its head completes is masked; and a piece that ends in more than
    `SHOWN_DIGITS` digits that are no personal number yet keeps only their last four
    (`[number ending 1111]`), as the next piece could make them one."""

    def __init__(self, window: int = 3) -> None:
        self.window = window
        self._recent: list[str] = []

    def mask(self, text: str) -> str:
        pieces = [*self._recent, text]
        self._recent = pieces[-self.window :]
        masked = mask_pieces(pieces)[-1]
        if trailing_digits(masked) <= SHOWN_DIGITS:
            return masked
        last = _runs(masked)[-1]
        return masked[: last.start] + f"[number ending {last.digits[-4:]}]" + masked[last.end :]


IDENTIFIER_KEYS = frozenset({"id", "call_id", "request_id", "item_id", "order_id", "order_item_id"})
"""Keys whose values are identifiers we generate (random hex): never personal data, and a
random id can hold digits that look like a card ("call_b1e3021077b049bb834e4c72")."""


def mask_value(value: object) -> object:
    """`mask` applied to every string inside a JSON-like value (dicts, lists), except the
    identifiers under `IDENTIFIER_KEYS`."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: v if k in IDENTIFIER_KEYS else mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value
