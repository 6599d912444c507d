"""Benchmark turns and their decision points (the audio side of the end-of-turn bench).

A *turn* is one complete user turn: 16 kHz audio (followed by enough trailing silence to reach
the longest policy timeout), the words with their end times, the assistant's previous turns as
context, and its silence *spans*. Following livekit/eot-bench, every silence of at least 100 ms
after the user has started speaking is a decision point: the last one (after the last word) is
labelled ``eot``, every earlier one ``hold``.

This module owns the data model (``Turn``, ``Word``, ``Span``), finding silences in audio
(energy, noise floor, Silero VAD), labelling them, and laying word end times over speech.
Where turns come from: ``render.py`` (synthetic speech of ``pauses.plan_pauses`` chunks) and
``real_speech.py`` (recorded clips).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

SR = 16000

HOLD = "hold"
EOT = "eot"


@dataclass(frozen=True)
class Word:
    text: str
    end: float  # seconds from the start of the turn audio


@dataclass(frozen=True)
class Span:
    index: int
    start: float
    end: float
    label: str  # HOLD or EOT

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Turn:
    id: str
    set_name: str
    audio: np.ndarray  # float32 mono at 16 kHz, includes the trailing silence
    words: list[Word]
    spans: list[Span]
    context: tuple[str, ...] = ()  # previous assistant turns, most recent last
    meta: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


# --------------------------------------------------------------------------- decision points


def label_silences(
    silences: Iterable[tuple[float, float]],
    *,
    speech_start: float,
    min_silence_s: float = 0.1,
) -> list[Span]:
    """Turn raw silences into decision spans: >= ``min_silence_s`` after speech began.

    The final kept silence is the true end of the turn (``eot``); every earlier one is a
    mid-turn pause (``hold``). Silences before ``speech_start`` are not decisions (the user
    has not started talking yet).
    """
    kept = [
        (max(s, speech_start), e)
        for s, e in sorted(silences)
        if e > speech_start and e - max(s, speech_start) >= min_silence_s - 1e-9
    ]
    return [Span(i, s, e, EOT if i == len(kept) - 1 else HOLD) for i, (s, e) in enumerate(kept)]


def energy_silences(
    audio: np.ndarray, *, frame_s: float = 0.01, floor_db: float = -45.0
) -> list[tuple[float, float]]:
    """Silences of clean (synthetic) audio: 10 ms frames quieter than ``floor_db`` re peak."""
    n = int(round(frame_s * SR))
    frames = len(audio) // n
    if frames == 0:
        return [(0.0, len(audio) / SR)]
    rms = np.sqrt(np.mean(audio[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-20)
    peak = max(float(rms.max()), 1e-9)
    silent = 20 * np.log10(rms / peak + 1e-12) < floor_db
    return _runs(silent, frame_s, total_s=len(audio) / SR)


def floor_silences(
    audio: np.ndarray, *, frame_s: float = 0.01, above_floor_db: float = 12.0
) -> list[tuple[float, float]]:
    """Energy VAD for real recordings: 10 ms frames within ``above_floor_db`` of the clip's
    noise floor (10th percentile of frame energy) are silence. Used for the real set because
    LiveKit's Silero build bridges pauses of up to ~0.4 s in these clips (its hangover), so it
    would find almost no mid-utterance pauses."""
    n = int(round(frame_s * SR))
    frames = len(audio) // n
    if frames == 0:
        return [(0.0, len(audio) / SR)]
    db = 10 * np.log10(np.mean(audio[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-12)
    floor = float(np.percentile(db, 10))
    return _runs(db < floor + above_floor_db, frame_s, total_s=len(audio) / SR)


def vad_silences(audio: np.ndarray, *, threshold: float = 0.5) -> list[tuple[float, float]]:
    """Silences by Silero VAD (LiveKit's local build, 32 ms windows)."""
    from livekit.local_inference import VAD, VAD_WINDOW_SAMPLES

    vad = VAD()
    pcm = to_int16(audio)
    n = len(pcm) // VAD_WINDOW_SAMPLES
    probs = np.array(
        [vad.predict(pcm[i * VAD_WINDOW_SAMPLES : (i + 1) * VAD_WINDOW_SAMPLES]) for i in range(n)]
    )
    vad.close()
    return _runs(probs < threshold, VAD_WINDOW_SAMPLES / SR, total_s=len(audio) / SR)


def _runs(silent: np.ndarray, frame_s: float, *, total_s: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    start = None
    for i, s in enumerate(silent):
        if s and start is None:
            start = i
        elif not s and start is not None:
            out.append((start * frame_s, i * frame_s))
            start = None
    if start is not None:
        out.append((start * frame_s, total_s))
    return out


def first_speech(silences: Sequence[tuple[float, float]]) -> float:
    return silences[0][1] if silences and silences[0][0] <= 0.05 else 0.0


def to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def speech_word_ends(
    words: Sequence[str],
    start: float,
    end: float,
    silences: Sequence[tuple[float, float]],
) -> list[float]:
    """Estimated word end times within ``[start, end]``: proportional to characters, laid
    over the *speech* time only (silences inside the interval are skipped)."""
    if not words:
        return []
    # speech sub-intervals of [start, end]
    pieces = []
    cur = start
    for s, e in sorted(silences):
        if e <= cur or s >= end:
            continue
        if s > cur:
            pieces.append((cur, min(s, end)))
        cur = max(cur, e)
    if cur < end:
        pieces.append((cur, end))
    if not pieces:
        pieces = [(start, end)]
    total = sum(e - s for s, e in pieces)
    lens = np.array([len(w) + 1 for w in words], dtype=float)
    fracs = np.cumsum(lens) / lens.sum()
    ends = []
    for f in fracs:
        target = f * total
        acc = 0.0
        t = pieces[-1][1]
        for s, e in pieces:
            if acc + (e - s) >= target - 1e-9:
                t = s + (target - acc)
                break
            acc += e - s
        ends.append(min(float(t), end))
    ends[-1] = end
    # a silence inside the interval is a word boundary: snap the nearest word end onto it
    for (_, gap_start), (gap_end, _) in zip(pieces[:-1], pieces[1:], strict=True):
        cands = [j for j in range(len(words) - 1)]
        if not cands:
            break
        j = min(cands, key=lambda j: min(abs(ends[j] - gap_start), abs(ends[j] - gap_end)))
        ends[j] = gap_start
        for k in range(j):
            ends[k] = min(ends[k], gap_start)
        for k in range(j + 1, len(ends)):
            ends[k] = max(ends[k], min(gap_end + 0.02, end))
    return ends
