"""Speech segments per channel: Silero VAD (the model LiveKit's silero plugin ships), run
offline over the whole channel, with edges refined on the signal's energy.

Silero decides *whether* a stretch is speech, in 32 ms windows; the edges are then moved to
where the sound actually starts and stops (5 ms energy frames, searched only within a short
reach of Silero's edge), which is what a response latency is measured between.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .audio import RATE

WINDOW = 512
"""Silero's window at 16 kHz (32 ms)."""
FRAME = 80
"""Energy frame for edge refinement (5 ms at 16 kHz)."""


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    """Speech probability that opens a segment."""
    neg_threshold: float = 0.35
    """Probability under which a segment may close (hysteresis)."""
    min_silence: float = 0.2
    """Seconds below `neg_threshold` that close a segment; shorter gaps stay inside it."""
    min_speech: float = 0.12
    """Segments shorter than this (after refinement) are dropped as clicks."""
    edge_reach: float = 0.25
    """How far (s) refinement may move an edge away from Silero's window edge."""
    edge_db: float = 50.0
    """An edge is where energy falls this many dB below the segment's loudest 5 ms frame ..."""
    floor_margin_db: float = 10.0
    """... but never closer than this to the channel's noise floor."""


@dataclass(frozen=True)
class Segment:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@functools.cache
def _onnx_session() -> object:
    from livekit.plugins.silero import onnx_model

    return onnx_model.new_inference_session(force_cpu=True)


def speech_probabilities(x: np.ndarray) -> np.ndarray:
    """Silero's speech probability for each 32 ms window of a 16 kHz channel."""
    from livekit.plugins.silero import onnx_model

    model = onnx_model.OnnxModel(onnx_session=_onnx_session(), sample_rate=RATE)  # type: ignore[arg-type]
    n = len(x) // WINDOW
    probs = np.zeros(n, dtype=np.float32)
    windows = np.clip(x[: n * WINDOW], -1.0, 1.0).reshape(n, WINDOW)
    silent = np.abs(windows).max(axis=1) < 1e-4
    for i in range(n):
        if silent[i]:
            # digital silence: skip the model, but keep its state honest
            model.reset()
            continue
        probs[i] = model(windows[i][None, :])
    return probs


def frame_db(x: np.ndarray) -> np.ndarray:
    """Energy of each 5 ms frame in dB (full scale = 0)."""
    n = len(x) // FRAME
    if n == 0:
        return np.zeros(0)
    f = x[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    return 10.0 * np.log10(np.mean(f * f, axis=1) + 1e-12)


def _raw_segments(probs: np.ndarray, opts: VadOptions) -> list[tuple[int, int]]:
    """Window-index segments [start, end) with hysteresis and a minimum silence."""
    hang = max(1, round(opts.min_silence * RATE / WINDOW))
    out: list[tuple[int, int]] = []
    start: int | None = None
    quiet = 0
    for i, p in enumerate(probs):
        if start is None:
            if p >= opts.threshold:
                start, quiet = i, 0
        elif p < opts.neg_threshold:
            quiet += 1
            if quiet >= hang:
                out.append((start, i - quiet + 1))
                start = None
        else:
            quiet = 0
    if start is not None:
        out.append((start, len(probs) - quiet))
    return out


def _refine(db: np.ndarray, s: float, e: float, floor: float, opts: VadOptions) -> Segment:
    fps = RATE / FRAME
    reach = round(opts.edge_reach * fps)
    i0, i1 = max(0, round(s * fps) - reach), min(len(db), round(e * fps) + reach)
    if i1 <= i0:
        return Segment(s, e)
    seg = db[i0:i1]
    peak = float(seg.max())
    thr = max(peak - opts.edge_db, floor + opts.floor_margin_db)
    loud = np.nonzero(seg > thr)[0]
    if len(loud) == 0:
        return Segment(s, e)
    return Segment(round(float(i0 + loud[0]) / fps, 3), round(float(i0 + loud[-1] + 1) / fps, 3))


def noise_floor(db: np.ndarray) -> float:
    """The channel's background level: the 10th percentile of its 5 ms frames, never under
    -90 dB (digital silence)."""
    return max(float(np.percentile(db, 10)) if len(db) else -90.0, -90.0)


def speech_segments(x: np.ndarray, opts: VadOptions | None = None) -> list[Segment]:
    """Speech segments of one 16 kHz channel, in seconds, sorted and non-overlapping."""
    opts = opts or VadOptions()
    probs = speech_probabilities(x)
    db = frame_db(x)
    floor = noise_floor(db)
    segs: list[Segment] = []
    for a, b in _raw_segments(probs, opts):
        seg = _refine(db, a * WINDOW / RATE, b * WINDOW / RATE, floor, opts)
        if segs and seg.start <= segs[-1].end:
            seg = Segment(segs[-1].start, max(seg.end, segs[-1].end))
            segs.pop()
        segs.append(seg)
    return [s for s in segs if s.duration >= opts.min_speech]
