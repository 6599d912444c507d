"""Words with timings for one channel's speech: the repo's faster-whisper engine (the local
STT plugin's model loader and bundled Whisper tiny.en, or any CTranslate2 Whisper folder),
run on each stretch of speech Silero found, so silence is never transcribed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import RATE
from .vad import Segment

PAD = 0.2
"""Audio kept either side of a speech stretch so Whisper hears whole first and last words."""
JOIN_GAP = 1.0
"""Segments closer than this are transcribed together (Whisper needs context)."""


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class SttOptions:
    model: str | None = None
    """CTranslate2 Whisper folder; None = the plugin's bundled tiny.en."""
    beam_size: int = 5
    prompt: str | None = None
    """Whisper initial prompt (domain words); none by default."""
    cpu_threads: int = 2


def _model(opts: SttOptions) -> Any:
    from livekit.plugins import fasterwhisper

    return fasterwhisper.load_model(opts.model, cpu_threads=opts.cpu_threads)


def stretches(segments: list[Segment], join_gap: float = JOIN_GAP) -> list[Segment]:
    """Neighbouring segments joined into the stretches handed to Whisper."""
    out: list[Segment] = []
    for s in segments:
        if out and s.start - out[-1].end < join_gap:
            out[-1] = Segment(out[-1].start, s.end)
        else:
            out.append(s)
    return out


def transcribe(x: np.ndarray, segments: list[Segment], opts: SttOptions) -> list[Word]:
    """Words (times on the call's timeline) for the speech in one 16 kHz channel."""
    if not segments:
        return []
    whisper = _model(opts)
    words: list[Word] = []
    for st in stretches(segments):
        a = max(0, int((st.start - PAD) * RATE))
        b = min(len(x), int((st.end + PAD) * RATE))
        offset = a / RATE
        result, _info = whisper.transcribe(
            np.ascontiguousarray(x[a:b], dtype=np.float32),
            language="en",
            beam_size=opts.beam_size,
            temperature=0.0,
            initial_prompt=opts.prompt,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        for seg in result:
            for w in seg.words or []:
                text = w.word.strip()
                if text:
                    words.append(Word(round(offset + w.start, 3), round(offset + w.end, 3), text))
    return words


def attach_words(segments: list[Segment], words: list[Word]) -> list[str]:
    """The text of each segment: the words whose middle falls in it (a word in no segment
    goes to the nearest one)."""
    texts: list[list[str]] = [[] for _ in segments]
    if not segments:
        return []
    for w in words:
        mid = (w.start + w.end) / 2
        best = min(
            range(len(segments)),
            key=lambda i: (
                0.0
                if segments[i].start <= mid <= segments[i].end
                else min(abs(mid - segments[i].start), abs(mid - segments[i].end))
            ),
        )
        texts[best].append(w.text)
    return [" ".join(t) for t in texts]


def model_label(opts: SttOptions) -> str:
    return Path(opts.model).name if opts.model else "whisper-tiny.en"
