"""Personal numbers in text: payment cards, SSN-like numbers and phone numbers, written as
digits (spaced, dashed or not) or spoken as number words ("four one one one ...").

`find_sensitive(text)` returns each one's span, kind and last four digits; `mask(text)`
replaces them for records and logs (`[card ending 1111]`). Nothing here keeps the number.

Owns: what counts as a personal number. Imports: the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SensitiveKind = Literal["card", "ssn", "phone"]

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
_TOKEN = r"(?:\+?\d+|(?:" + "|".join(_WORDS) + r")\b)"
_SEP = r"(?:[\s\-.,/()]|\band\b)*"
# a run of number tokens separated by spaces, dashes, dots, commas, slashes or brackets
_RUN = re.compile(r"(?<![\w])" + _TOKEN + r"(?:" + _SEP + _TOKEN + r")*", re.IGNORECASE)
_TOKENS = re.compile(_TOKEN, re.IGNORECASE)
_SSN = re.compile(r"^\d{3}[\s\-]\d{2}[\s\-]\d{4}$")


@dataclass(frozen=True)
class SensitiveNumber:
    kind: SensitiveKind
    start: int
    end: int
    last4: str

    def masked(self) -> str:
        """How records and logs show it: the kind and the last four digits only."""
        return f"[{self.kind} ending {self.last4}]"

    def spoken(self) -> str:
        """What the agent may say instead: the last four digits, one by one."""
        return f"ending in {' '.join(self.last4)}"


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


def _classify(run: str, digits: str, spoken: bool) -> SensitiveKind | None:
    n = len(digits)
    if 13 <= n <= 19 and luhn_ok(digits):
        return "card"
    if n == 9 and (_SSN.match(run.strip()) or spoken):
        return "ssn"
    if n == 10 or (n == 11 and digits.startswith("1")) or (run.lstrip().startswith("+") and n >= 8):
        return "phone"
    if n > 19:
        # a card inside a longer run (a card number said twice, or followed by its expiry)
        for size in range(19, 12, -1):
            for start in range(0, n - size + 1):
                if luhn_ok(digits[start : start + size]):
                    return "card"
    return None


def find_sensitive(text: str) -> list[SensitiveNumber]:
    found: list[SensitiveNumber] = []
    for m in _RUN.finditer(text):
        run = m.group(0)
        digits, spoken = _run_digits(run)
        if len(digits) < 9:
            continue
        kind = _classify(run, digits, spoken)
        if kind is not None:
            # trailing separators belong to the sentence, not to the number
            end = m.start() + len(run.rstrip(" -.,/("))
            found.append(SensitiveNumber(kind, m.start(), end, digits[-4:]))
    return found


def mask(text: str) -> str:
    """`text` with every personal number replaced by its masked form."""
    for s in reversed(find_sensitive(text)):
        text = text[: s.start] + s.masked() + text[s.end :]
    return text


def mask_value(value: object) -> object:
    """`mask` applied to every string inside a JSON-like value (dicts, lists)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value
