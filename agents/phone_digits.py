"""Digit strings in a phone caller's transcript: "six three zero four four one two" -> "6304412".

Callers read order, phone and prescription numbers digit by digit; Whisper writes them as
words ("six three zero four"), as digits ("6304"), or split ("630-4412", "5 5 5"). The
tools and the ordering policy want one number. `normalize_digits` turns every run of
spoken digits (zero/oh/one..nine, numerals, "double"/"triple" before a digit) separated only
by spaces, hyphens, commas or dots into one digit string, when the run holds at least
`MIN_DIGITS` digits (a number string, not "two lattes" or "one, two"). Everything else is
left as written. Chosen by measurement (`python -m evals.stt_phone_bench`, README): see
`PhoneDigitsSTT`, which applies it to an STT's final transcripts for phone calls.
"""

from __future__ import annotations

import re

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, stt
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from .brain.wrapped_stt import WrappedSTT

MIN_DIGITS = 3

DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
REPEATS = {"double": 2, "triple": 3}

_TOKEN = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
_JOINER = re.compile(r"^[\s,.\-]+$")


def _digits_of(token: str) -> str | None:
    if token.isdigit():
        return token
    return DIGIT_WORDS.get(token.lower())


def normalize_digits(text: str, *, min_digits: int = MIN_DIGITS) -> str:
    """`text` with each spoken digit string (>= `min_digits` digits) written as one number."""
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        run_digits, j, last_end = "", i, i
        repeat = 1
        while j < len(tokens):
            tok = tokens[j]
            if tok.lower() in REPEATS and j + 2 < len(tokens) and _digits_of(tokens[j + 2]):
                repeat = REPEATS[tok.lower()]
                j += 1
                continue
            digits = _digits_of(tok)
            if digits is not None and (tok.lower() != "oh" or run_digits):
                run_digits += digits * repeat if len(digits) == 1 else digits
                repeat = 1
                last_end = j + 1
                j += 1
                continue
            if run_digits and _JOINER.match(tok) and "\n" not in tok:
                j += 1
                continue
            break
        words = sum(1 for t in tokens[i:last_end] if _digits_of(t) is not None)
        if len(run_digits) >= min_digits and (words >= 2 or not run_digits.isdigit()):
            out.append(run_digits)
            i = last_end
        else:
            out.append(tokens[i])
            i += 1
    return "".join(out)


class PhoneDigitsSTT(WrappedSTT):
    """A non-streaming STT whose final transcripts have `normalize_digits` applied (used by
    the telephony variant's local STT). Everything else is the wrapped STT's."""

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        event = await self._inner.recognize(buffer, language=language, conn_options=conn_options)
        for alt in event.alternatives:
            alt.text = normalize_digits(alt.text)
        return event
