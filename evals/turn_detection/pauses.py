"""Text side of the bench: where a speaker pauses inside a written user turn, and what a text
detector is shown.

- ``pause_points`` / ``plan_pauses``: a Taskmaster-4 user turn (written text) split into spoken
  chunks at plausible pause points (after fillers, conjunctions, prepositions, determiners,
  clause boundaries, inside digit strings), with 200-1200 ms pauses; ``render.py`` speaks them.
- ``normalize_transcript``: the transcript as a streaming STT would give it (no written
  punctuation, which would be an end-of-turn oracle).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

_PUNCT_RE = re.compile(r"[^\w\s'’-]")


def normalize_transcript(words: Sequence[str], keep_punctuation: bool = False) -> str:
    """What a text detector is shown: by default lower-cased, punctuation removed.

    The Taskmaster text is *written* text: its final "." / "?" would be an oracle for the end
    of turn that no streaming STT has at a mid-turn pause, so it is stripped (as LiveKit's own
    text turn detector normalised STT text) unless ``keep_punctuation``.
    """
    text = " ".join(words)
    if keep_punctuation:
        return text
    return " ".join(_PUNCT_RE.sub(" ", text.lower()).split())


# --------------------------------------------------------------------------- pause points

FILLERS = frozenset({"um", "uh", "uhm", "umm", "er", "erm", "hmm", "well", "so", "like"})
CONJUNCTIONS = frozenset({"and", "but", "or", "because", "plus", "then", "also"})
PREPOSITIONS = frozenset(
    {"of", "for", "with", "to", "in", "on", "at", "from", "without", "about", "under", "as"}
)
DETERMINERS = frozenset({"a", "an", "the", "my", "some", "your"})
_DIGIT_WORDS = frozenset(
    [
        "zero",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "hundred",
    ]
)


def _bare(w: str) -> str:
    return re.sub(r"[^\w']", "", w.lower())


def _is_digitish(w: str) -> bool:
    b = _bare(w)
    return bool(b) and (b.isdigit() or b in _DIGIT_WORDS)


def pause_points(words: Sequence[str]) -> list[int]:
    """Indices ``i`` where a speaker plausibly pauses *after* ``words[i]`` (never the last).

    After a filler, a conjunction, a preposition, a determiner, a clause/sentence boundary
    (comma, full stop...), and inside digit strings.
    """
    out = []
    for i in range(len(words) - 1):
        w, b = words[i], _bare(words[i])
        if (
            b in FILLERS
            or b in CONJUNCTIONS
            or b in PREPOSITIONS
            or b in DETERMINERS
            or w[-1:] in {",", ".", "?", "!", ";", ":"}
            or (_is_digitish(w) and _is_digitish(words[i + 1]))
        ):
            out.append(i)
    return out


@dataclass(frozen=True)
class Chunk:
    text: str
    pause_after_s: float  # 0 for the last chunk


def plan_pauses(
    text: str,
    rng: random.Random,
    *,
    p_pause: float = 0.5,
    max_pauses: int = 3,
    pause_range_s: tuple[float, float] = (0.2, 1.2),
    p_filler: float = 0.2,
) -> list[Chunk]:
    """Split a written user turn into spoken chunks separated by natural mid-turn pauses.

    Each plausible pause point is taken with probability ``p_pause`` (at most ``max_pauses``);
    sometimes the speaker says "um" / "uh" before pausing. Pause lengths are uniform in
    ``pause_range_s``.
    """
    words = text.split()
    if not words:
        return []
    points = [i for i in pause_points(words) if rng.random() < p_pause]
    points = sorted(rng.sample(points, max_pauses)) if len(points) > max_pauses else points
    chunks: list[Chunk] = []
    prev = 0
    for i in points:
        piece = words[prev : i + 1]
        if rng.random() < p_filler and _bare(piece[-1]) not in FILLERS:
            piece = [*piece, rng.choice(["um", "uh"])]
        chunks.append(Chunk(" ".join(piece), round(rng.uniform(*pause_range_s), 3)))
        prev = i + 1
    chunks.append(Chunk(" ".join(words[prev:]), 0.0))
    return chunks
