"""Causal scoring: every detector is asked for ``p`` at every decision-grid point of every span.

Predictions are memoised on each adapter's ``cache_key`` (identical causal inputs -> identical
output), which is what keeps text detectors cheap (their input changes only when a word's
transcript arrives) and v1-mini cheap in long pure-digital-silence tails. Predict time is
measured separately (``time_detectors``) on a sample of views with no memo, one call at a time.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from .detectors import Detector, OursFusion, View, causal_view
from .sweep import SpanScores, grid_points
from .turns import HOLD, Turn


class Memo:
    def __init__(self) -> None:
        self.store: dict[str, dict] = {}
        self.calls = 0
        self.misses = 0

    def __call__(self, det: Detector, view: View) -> float:
        key = det.cache_key(view)
        self.calls += 1
        if key is None:
            self.misses += 1
            return det.predict(view)
        d = self.store.setdefault(det.name, {})
        if key not in d:
            self.misses += 1
            p = det.predict(view)
            if not np.isfinite(p):
                raise ValueError(f"{det.name} returned {p!r}")
            d[key] = float(p)
        return d[key]


def iter_views(
    turn: Turn,
    *,
    audio: np.ndarray | None,
    lag_s: float,
    max_t: float,
    grid: dict,
    keep_punctuation: bool = False,
    text_fn=None,
):
    """``(span, elapsed grid, [View per grid point])`` for each decision span of a turn.
    ``text_fn(turn, span, audio)``, when given, replaces the reference-word transcript (e.g.
    real ASR output, ``asr.py``) for every view of the span."""
    for span in turn.spans:
        elapsed = grid_points(span.duration, max_t, **grid)
        views = [
            causal_view(
                turn,
                span.start + e,
                float(e),
                lag_s=lag_s,
                audio=audio,
                keep_punctuation=keep_punctuation,
            )
            for e in elapsed
        ]
        if text_fn is not None and views:
            src = turn.audio if audio is None else audio
            text = text_fn(turn, span, src)
            views = [dataclasses.replace(v, text=text, n_words=len(text.split())) for v in views]
        yield span, elapsed, views


def score_set(
    turns: Sequence[Turn],
    detectors: dict[str, Detector],
    memo: Memo,
    *,
    audio_fn,
    lag_s: float,
    max_t: float,
    grid: dict,
    keep_punctuation: bool = False,
    progress: str = "",
    sample_views: list | None = None,
    rng: random.Random | None = None,
    text_fn=None,
) -> dict[str, list[SpanScores]]:
    """Scores per detector for one data set. ``audio_fn(turn)`` gives the audio the models hear
    (16 kHz, or the 8 kHz mu-law round trip); timing and words never depend on it."""
    out: dict[str, list[SpanScores]] = {n: [] for n in detectors}
    t0 = time.monotonic()
    for ti, turn in enumerate(turns):
        audio = audio_fn(turn)
        for span, elapsed, views in iter_views(
            turn, audio=audio, lag_s=lag_s, max_t=max_t, grid=grid,
            keep_punctuation=keep_punctuation, text_fn=text_fn,
        ):  # fmt: skip
            if sample_views is not None and rng is not None and views:
                sample_views.append(rng.choice(views))
            duration = span.duration if span.label == HOLD else float("inf")
            for name, det in detectors.items():
                p = np.array([memo(det, v) for v in views], dtype=float)
                out[name].append(SpanScores(span.label, duration, elapsed, p))
        if progress and (ti + 1) % 10 == 0:
            print(
                f"[eot-bench] {progress}: {ti + 1}/{len(turns)} turns "
                f"({time.monotonic() - t0:.0f}s)",
                file=sys.stderr,
                flush=True,
            )
    return out


def time_detectors(
    detectors: dict[str, Detector], views: Sequence[View], *, repeat: int = 1
) -> dict[str, dict]:
    """p50/p95 wall time of one ``predict`` per detector on ``views``, no memo."""
    out = {}
    for name, det in detectors.items():
        d = det
        if isinstance(det, OursFusion):  # time the whole thing: text + audio + combine
            d = copy.copy(det)
            d._memo = None
        ts = []
        for v in views:
            for _ in range(repeat):
                t = time.perf_counter()
                d.predict(v)
                ts.append((time.perf_counter() - t) * 1000)
        if ts:
            q = statistics.quantiles(ts, n=20, method="inclusive") if len(ts) > 1 else ts * 19
            out[name] = {"n": len(ts), "p50_ms": statistics.median(ts), "p95_ms": q[18]}
    return out
