"""Training/eval examples for the semantic end-of-turn model, from Taskmaster-4 (CC BY 4.0,
Google: Byrne & Ganesh) user turns and synthetic slot exchanges (``slot_dialogs.py``).

- A complete user turn is a positive (end of turn); prefixes cut at word boundaries are
  negatives, sampled with weights toward where people really pause (after fillers,
  conjunctions, prepositions, articles, "I'd like a", inside digit strings and spellings).
- Each example carries the preceding assistant turn(s) as context.
- ``restyle`` / ``augment_styles`` / ``with_trailing_period`` render examples as different ASRs
  would (casing, punctuation, Whisper's closing period).

Which dialog an example belongs to decides its split (``evals.splits.split_of``); the dialogs
come from ``tools.coffee.taskmaster4.load_dialogs``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from livekit.plugins.semantic_turn.features import tokenize, word_class

from .slot_dialogs import SynthDialog

Style = Literal["orig", "lower", "whisper"]

FILLER_INSERTS = ["um", "uh", "um,", "uh,", "like", "you know", "so", "hmm", "I mean"]


@dataclass(frozen=True)
class Example:
    dialog_id: str
    context: tuple[str, ...]
    text: str
    label: int  # 1 = end of turn, 0 = the user is still going
    source: str  # "tm4" | "synth"


def user_turns(
    dialog: dict[str, Any], max_context: int = 2
) -> Iterator[tuple[tuple[str, ...], str]]:
    """(previous assistant turns, user turn text) for each user turn of a dialog: the context is
    the assistant's run of turns right before the user turn (unlike the bench's
    ``bench_dialogs.user_turns``, which keeps the last three assistant turns)."""
    ctx: list[str] = []
    prev_speaker = None
    for u in dialog.get("utterances", []):
        text = (u.get("text") or "").strip()
        if not text:
            continue
        if u.get("speaker") == "assistant":
            if prev_speaker != "assistant":
                ctx = []
            ctx.append(text)
        else:
            yield tuple(ctx[-max_context:]), text
        prev_speaker = u.get("speaker")


def _pause_weight(prefix_words: list[str], next_word: str) -> float:
    toks = tokenize(" ".join(prefix_words))
    if not toks:
        return 0.0
    c = word_class(toks[-1])
    nxt = tokenize(next_word)
    nc = word_class(nxt[0]) if nxt else "W"
    w = {"FIL": 6.0, "CONJ": 4.0, "PREP": 4.0, "ART": 4.0, "VOBJ": 3.0, "SFIL": 3.0}.get(c, 1.0)
    if c in ("NUM", "NUMW") and nc in ("NUM", "NUMW"):
        w = 4.0
    if c == "LET" and nc == "LET":
        w = 3.0
    if prefix_words[-1].endswith(","):
        w *= 2.0
    return w


def _insert_filler(rng: random.Random, words: list[str]) -> tuple[list[str], int]:
    """Insert a filler inside the turn; returns the new words and the filler's index."""
    i = rng.randint(1, len(words) - 1)
    return words[:i] + [rng.choice(FILLER_INSERTS)] + words[i:], i


def _sample_cuts(
    rng: random.Random, words: list[str], k: int, forced: Iterable[int] = ()
) -> list[int]:
    """Up to ``k`` distinct prefix lengths in [1, len-1], weighted by pause likelihood."""
    cand = list(range(1, len(words)))
    weights = [_pause_weight(words[:i], words[i]) for i in cand]
    chosen: list[int] = [i for i in forced if 1 <= i < len(words)]
    while len(chosen) < k:
        pool = [(i, w) for i, w in zip(cand, weights, strict=True) if i not in chosen and w > 0]
        if not pool:
            break
        tot = sum(w for _, w in pool)
        r = rng.random() * tot
        for i, w in pool:
            r -= w
            if r <= 0:
                chosen.append(i)
                break
        else:
            chosen.append(pool[-1][0])
    return sorted(set(chosen))


def tm4_examples(
    dialogs: Iterable[dict[str, Any]], seed: int = 0, augment: bool = True
) -> list[Example]:
    """Positives + pause-weighted prefix negatives from every user turn."""
    out: list[Example] = []
    for d in dialogs:
        did = d["conversation_id"]
        rng = random.Random(f"tm4:{seed}:{did}")
        for ctx, text in user_turns(d):
            words = text.split()
            forced: list[int] = []
            if augment and len(words) >= 2 and rng.random() < 0.25:
                words, fi = _insert_filler(rng, words)
                forced.append(fi + 1)  # cut right after the filler
            out.append(Example(did, ctx, " ".join(words), 1, "tm4"))
            n = len(words)
            k = min(n - 1, 1 + n // 4, 3)
            for i in _sample_cuts(rng, words, k, forced):
                out.append(Example(did, ctx, " ".join(words[:i]), 0, "tm4"))
    return out


DANGLING = ["and", "but", "uh", "um", "and also", "with", "or", "and then", "actually"]


def synth_examples(dialogs: Iterable[SynthDialog], seed: int = 0) -> list[Example]:
    out: list[Example] = []
    for sd in dialogs:
        rng = random.Random(f"synthex:{seed}:{sd.dialog_id}")
        ctx = (sd.question,)
        full = " ".join(sd.chunks)
        out.append(Example(sd.dialog_id, ctx, full, 1, "synth"))
        # chunk boundaries: where people pause when reading out numbers / spelling; a cut
        # after the answer is already complete ("two" | "please") is a positive, not a pause
        for j in range(1, len(sd.chunks)):
            if rng.random() < 0.7:
                label = int(j >= sd.min_complete)
                out.append(Example(sd.dialog_id, ctx, " ".join(sd.chunks[:j]), label, "synth"))
        core = " ".join(sd.chunks[: sd.min_complete]).split()
        if len(core) > 1 and rng.random() < 0.5:
            i = rng.randint(1, len(core) - 1)
            out.append(Example(sd.dialog_id, ctx, " ".join(core[:i]), 0, "synth"))
        if rng.random() < 0.3:
            out.append(Example(sd.dialog_id, ctx, full + " " + rng.choice(DANGLING), 0, "synth"))
    return out


_PUNCT_RE = re.compile(r"[^\w\s']")
_TERMINAL = (".", "?", "!")


def restyle(text: str, style: Style, label: int, rng: random.Random | None = None) -> str:
    """Render ``text`` as a given ASR would.

    - ``orig``: as written (Taskmaster's own casing/punctuation);
    - ``lower``: lower-case, no punctuation (raw ASR / many streaming STTs);
    - ``whisper``: capitalised and terminated with a period even when cut off (Whisper closes
      every segment), so a trailing "." must not be decisive. With ``rng`` a cut-off prefix gets
      the period 70 % of the time.
    """
    if style == "orig":
        return text
    if style == "lower":
        return " ".join(_PUNCT_RE.sub(" ", text.lower()).split())
    t = text.strip().rstrip(",;:-")
    if not t:
        return t
    t = t[0].upper() + t[1:]
    if not t.endswith(_TERMINAL) and (label == 1 or rng is None or rng.random() < 0.7):
        t += "."
    return t


def augment_styles(examples: list[Example], seed: int, copies: int = 2) -> list[Example]:
    """Each example rendered in ``copies`` distinct random ASR styles."""
    rng = random.Random(f"style:{seed}")
    styles: list[Style] = ["orig", "lower", "whisper"]
    out = []
    for ex in examples:
        for s in rng.sample(styles, copies):
            out.append(replace(ex, text=restyle(ex.text, s, ex.label, rng)))
    return out


def with_trailing_period(examples: list[Example]) -> list[Example]:
    """Robustness set: every incomplete prefix gets a trailing period (positives unchanged)."""
    out = []
    for ex in examples:
        if ex.label == 0:
            t = ex.text.rstrip().rstrip(",;:-")
            if not t.endswith(_TERMINAL):
                t += "."
            ex = replace(ex, text=t)
        out.append(ex)
    return out
