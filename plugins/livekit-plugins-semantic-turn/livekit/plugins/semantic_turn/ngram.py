"""General-English end-of-sentence probabilities from an n-gram language model (features v3).

The semantic model's own training data is phone exchanges in a few dozen service domains, so on
its own it knows the *shape* of a finished turn only in the phrasings it has seen ("my power is
out" ends in a preposition and looks unfinished to v2 trained without the utilities templates).
A 3-gram model of general US English knows that ``P(</s> | "is out")`` is high and
``P(</s> | "schedule an")`` is tiny, in any domain.
Features v3 add the bucketed ``log10 P(</s> | last two words)`` and ``P(</s> | last word)`` of
that model (``features.py``); measured on the multi-domain dev set, leave-one-domain-out, this
lifts AUC from 0.949/0.952/0.961 to 0.958/0.961/0.970 (raw/Whisper/Deepgram styles).

The model is CMU Sphinx's ``en-us.lm.bin`` (a 3-gram model of US English, BSD-style licence),
which ships inside the ``pocketsphinx`` wheel on PyPI; nothing is downloaded at run time. It is
read once per process (about 0.05 s, 45 MB resident) and queried through pocketsphinx's own
``NGramModel`` (about 1 microsecond per query).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from typing import Any

# the model's scores are log base 1.0001 (sphinxbase's logmath); this turns them into log10
_LOG10_PER_UNIT = math.log10(1.0001)
# sphinxbase's "log zero": the score of an out-of-vocabulary unigram
_LOG_ZERO = -5e8
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ORDER = 3


class NGramUnavailable(RuntimeError):
    """pocketsphinx (the language model's package) is not installed."""


def _pocketsphinx() -> Any:
    try:
        import pocketsphinx
    except ImportError as e:  # a declared dependency: only a broken install gets here
        raise NGramUnavailable(
            "the semantic turn model v3 needs the 'pocketsphinx' package (its en-us n-gram "
            "model): pip install pocketsphinx"
        ) from e
    return pocketsphinx


def default_lm_path() -> str:
    """The US English 3-gram model inside the installed pocketsphinx wheel."""
    ps_dir = os.path.dirname(_pocketsphinx().__file__)
    return os.path.join(ps_dir, "model", "en-us", "en-us.lm.bin")


def lm_words(tokens: Sequence[str], n: int = ORDER) -> list[str]:
    """The last ``n`` words as the language model spells them: digit runs read digit by digit
    ("555" -> "five five five"), everything else as tokenised (lower-case)."""
    out: list[str] = []
    for tok in tokens[-n:]:
        if tok.isdigit():
            out.extend(_DIGIT_WORDS[int(c)] for c in tok)
        else:
            out.append(tok)
    return out[-n:]


class EndOfSentenceLM:
    """``log10 P(</s> | history)`` from an n-gram model, loaded on first use."""

    def __init__(self, path: str | None = None) -> None:
        self._path = path
        self._lm: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        """Read the model now (once): the first prediction then costs no file read."""
        if self._lm is None:
            with self._lock:
                if self._lm is None:
                    path = self._path or default_lm_path()
                    if not os.path.isfile(path):
                        raise NGramUnavailable(f"n-gram model not found: {path}")
                    self._lm = _pocketsphinx().NGramModel.readfile(path)
        return self._lm

    def end_scores(self, tokens: Sequence[str]) -> tuple[float, float, bool]:
        """(log10 P(</s> | last two words), log10 P(</s> | last word), last word unknown).

        An empty turn gives ``(0.0, 0.0, True)``."""
        words = lm_words(tokens, ORDER - 1)
        if not words:
            return 0.0, 0.0, True
        lm = self.load()
        # pocketsphinx's NGramModel.prob takes the word first, then its history, most recent first
        p_hist = lm.prob(["</s>", *reversed(words)]) * _LOG10_PER_UNIT
        p_last = lm.prob(["</s>", words[-1]]) * _LOG10_PER_UNIT
        unknown = lm.prob([words[-1]]) < _LOG_ZERO
        return p_hist, p_last, unknown


# constructing reads nothing (``load`` does, once, under its own lock), so one instance made at
# import is the whole per-process cache
_SHARED = EndOfSentenceLM()


def shared_lm() -> EndOfSentenceLM:
    """One model per process (every detector and every call share it)."""
    return _SHARED
