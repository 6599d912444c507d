"""The hand-written multi-domain end-of-turn sets (issue 13) and their three STT renderings.

Files (versioned, ``resources/``): ``multidomain_dev_v1.txt`` (12 domains: tuning allowed) and
``multidomain_test_v1.txt`` (10 other domains: scored only). Format: ``## domain``, ``Q: agent
turn``, ``A: caller turn`` where each ``|`` marks a mid-phrase pause; the whole answer is a
complete turn (``eot``), the text before a ``|`` is a cut-off turn (``hold``).

Holds are balanced against completes: every answer line with cuts contributes one cut chosen by
a seeded hash of the line, then further cuts are added (same hash order) until there are as
many holds as complete turns, so the set is half complete, half cut.

STT styles (what a text detector is shown):

- ``raw``: lower-case, no punctuation (streaming STTs, Vosk-like engines);
- ``whisper``: the punctuated text, and a trailing period on *every* segment without terminal
  punctuation, cut-offs included (Whisper closes segments);
- ``deepgram``: punctuated finals as written; a cut-off keeps its internal punctuation but no
  terminal mark (a dangling comma is dropped), as Deepgram's punctuated interim-final at a pause.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

RESOURCES = Path(__file__).resolve().parent / "resources"
DEV_PATH = RESOURCES / "multidomain_dev_v1.txt"
TEST_PATH = RESOURCES / "multidomain_test_v1.txt"
SETS = {"dev": DEV_PATH, "test": TEST_PATH}

Style = Literal["raw", "whisper", "deepgram"]
STYLES: tuple[Style, ...] = ("raw", "whisper", "deepgram")

_PUNCT_RE = re.compile(r"[^\w\s']")
_TERMINAL = (".", "?", "!")


class SetFormatError(ValueError):
    """A malformed line in a multi-domain set file."""


@dataclass(frozen=True)
class Case:
    id: str  # "<domain>:<line>" (+ ":c<k>" for the k-th cut)
    domain: str
    context: tuple[str, ...]  # the agent's preceding turn
    text: str  # as written (punctuated, cased)
    label: int  # 1 = eot (complete), 0 = hold (cut mid-phrase)


@dataclass(frozen=True)
class AnswerLine:
    id: str
    domain: str
    question: str
    pieces: tuple[str, ...]  # the answer split at "|"

    @property
    def full(self) -> str:
        return " ".join(p.strip() for p in self.pieces if p.strip())

    def cut(self, k: int) -> str:
        """Text before the ``k``-th "|" (1-based)."""
        return " ".join(p.strip() for p in self.pieces[:k] if p.strip())


def parse_lines(lines: Iterable[str], name: str = "<set>") -> list[AnswerLine]:
    out: list[AnswerLine] = []
    domain: str | None = None
    question: str | None = None
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or (line.startswith("#") and not line.startswith("##")):
            continue
        if line.startswith("##"):
            domain = line[2:].strip()
            question = None
            if not domain:
                raise SetFormatError(f"{name}:{n}: empty domain name")
        elif line.startswith("Q:"):
            question = line[2:].strip()
        elif line.startswith("A:"):
            if domain is None or not question:
                raise SetFormatError(f"{name}:{n}: answer before a domain and a question")
            pieces = tuple(line[2:].split("|"))
            if any(not p.strip() for p in pieces):
                raise SetFormatError(f"{name}:{n}: empty piece around '|'")
            out.append(AnswerLine(f"{domain}:{n}", domain, question, pieces))
        else:
            raise SetFormatError(f"{name}:{n}: expected '## domain', 'Q:' or 'A:'")
    return out


def _rank(key: str) -> int:
    return zlib.crc32(key.encode())


def _cut_order(a: AnswerLine) -> list[int]:
    """The line's cut indices (1-based) in a seeded, line-specific order."""
    return sorted(range(1, len(a.pieces)), key=lambda k: _rank(f"{a.id}:{k}"))


def balanced_cases(answers: Sequence[AnswerLine]) -> list[Case]:
    """One complete turn per answer and as many cut-offs, chosen deterministically."""
    eot = [Case(a.id, a.domain, (a.question,), a.full, 1) for a in answers]
    pools: list[list[int]] = [_cut_order(a) for a in answers]
    chosen: list[tuple[int, int]] = []
    depth = 0
    while len(chosen) < len(eot) and any(len(p) > depth for p in pools):
        layer = [(i, p[depth]) for i, p in enumerate(pools) if len(p) > depth]
        layer.sort(key=lambda ik: _rank(f"{answers[ik[0]].id}#{depth}"))
        chosen.extend(layer[: len(eot) - len(chosen)])
        depth += 1
    hold = [
        Case(f"{answers[i].id}:c{k}", answers[i].domain, (answers[i].question,),
             answers[i].cut(k), 0)
        for i, k in sorted(chosen)
    ]  # fmt: skip
    return eot + hold


def load_set(which: str = "dev", path: str | Path | None = None) -> list[Case]:
    p = Path(path) if path is not None else SETS[which]
    with open(p, encoding="utf-8") as fh:
        return balanced_cases(parse_lines(fh, str(p)))


def render(text: str, style: Style, label: int) -> str:
    """``text`` (as written) as an STT of ``style`` would deliver it (see the module doc)."""
    if style == "raw":
        return " ".join(_PUNCT_RE.sub(" ", text.lower()).split())
    t = text.strip()
    if style == "deepgram":
        return t if label == 1 else t.rstrip(",;:- ")
    t = t.rstrip(",;:- ")
    return t if t.endswith(_TERMINAL) else t + "."


Scorer = Callable[[str, Sequence[str]], float]


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """ROC AUC with ties counted half (``nan`` without both classes)."""
    import numpy as np

    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    gt = (pos[:, None] > neg[None, :]).sum()
    eq = (pos[:, None] == neg[None, :]).sum()
    return float((gt + 0.5 * eq) / (len(pos) * len(neg)))


def score_cases(cases: Sequence[Case], scorer: Scorer, style: Style) -> list[float]:
    return [scorer(render(c.text, style, c.label), c.context) for c in cases]


def domains(cases: Sequence[Case]) -> list[str]:
    return sorted({c.domain for c in cases})
