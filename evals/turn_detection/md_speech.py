"""The hand-written multi-domain sets (``multidomain.py``) as spoken benchmark turns.

Each answer line with at least one ``|`` becomes one turn: its pieces are synthesised one by
one by a local voice (``render.py``) and joined with a natural mid-turn pause of 0.3-1.2 s at
every ``|`` (seeded per line), so every cut point of the text set is a real silence in the
audio (a ``hold`` decision span) and the end of the answer is the ``eot`` span. This is
*synthesised speech with pauses*, not recorded speech. The agent's question is the context.

``md-dev`` (the dev file) is where the fusion weights are fitted (``bench --fit-fusion-on``);
``md-test`` (the test file) is only scored.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Sequence

from .multidomain import SETS, AnswerLine, parse_lines
from .pauses import Chunk
from .render import render_turn
from .turns import EOT, Turn

PAUSE_RANGE_S = (0.3, 1.2)


def md_chunks(line: AnswerLine, seed: int) -> list[Chunk]:
    rng = random.Random(zlib.crc32(f"{seed}:{line.id}".encode()))
    pieces = [p.strip() for p in line.pieces]
    return [
        Chunk(p, 0.0 if i == len(pieces) - 1 else round(rng.uniform(*PAUSE_RANGE_S), 3))
        for i, p in enumerate(pieces)
    ]


def md_lines(which: str) -> list[AnswerLine]:
    with open(SETS[which], encoding="utf-8") as fh:
        return [a for a in parse_lines(fh, str(SETS[which])) if len(a.pieces) > 1]


def md_turns(
    which: str,
    voices: Sequence[object],
    *,
    cache_dir: str,
    tail_s: float,
    seed: int = 0,
    limit: int | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Turn]:
    """Rendered turns of the ``which`` ("dev" | "test") multi-domain set."""
    lines = md_lines(which)
    if limit is not None:
        lines = sorted(lines, key=lambda a: zlib.crc32(f"{seed}:{a.id}".encode()))[:limit]
    turns: list[Turn] = []
    for k, line in enumerate(lines):
        chunks = md_chunks(line, seed)
        for v in voices:
            t = render_turn(f"md-{which}:{line.id}", chunks, (line.question,), v,
                            cache_dir=cache_dir, tail_s=tail_s)  # fmt: skip
            if t.spans and t.spans[-1].label == EOT:
                t.meta["domain"] = line.domain
                turns.append(t)
        if log and (k + 1) % 25 == 0:
            log(f"md-{which}: rendered {k + 1}/{len(lines)} lines")
    return turns
