"""Fitting the fusion weights (text probability, LiveKit v1-mini's audio EOT, silence so far) on
*dev* data: the spoken multi-domain dev set (``md_speech.md_turns("dev")``), never on a set the
bench reports.

Rows: every decision-grid point of every silence span (``bench_scoring.score_set``), labelled 1
in the turn's final (``eot``) span and 0 in a mid-turn pause (``hold``); features are what the
fused detector sees at that point. ``TurnFusion.fit`` (L2 logistic regression, Newton) gives
``bias, w_text, w_audio, silence_rate``; the fit is deterministic for the same rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bench_scoring import Memo, score_set
from .md_speech import md_turns
from .multidomain import auc
from .sweep import DEFAULT_TIMEOUTS, SpanScores
from .turns import EOT

GRID = {"step": 0.1, "coarse_after": 1.0, "coarse_step": 0.25}
SHIPPED_FIT = Path(__file__).resolve().parent / "resources" / "fusion_fit.json"
"""The fit behind ``TurnFusion``'s defaults (``bench --fit-fusion`` writes ``<out>/fusion_fit.json``)."""


def fusion_rows(
    text: Sequence[SpanScores], audio: Sequence[SpanScores]
) -> tuple[list[float], list[float], list[float], list[int]]:
    """(p_text, p_audio, silence_s, label) per grid point, spans aligned by position."""
    pt: list[float] = []
    pa: list[float] = []
    sil: list[float] = []
    y: list[int] = []
    for ts, au in zip(text, audio, strict=True):
        if ts.label != au.label or len(ts.p) != len(au.p):
            raise ValueError("text and audio scores are not aligned span by span")
        for k in range(len(ts.p)):
            pt.append(float(ts.p[k]))
            pa.append(float(au.p[k]))
            sil.append(float(ts.elapsed[k]))
            y.append(int(ts.label == EOT))
    return pt, pa, sil, y


def fit_rows(
    pt: Sequence[float], pa: Sequence[float], sil: Sequence[float], y: Sequence[int]
) -> tuple[Any, dict[str, Any]]:
    """The fitted ``TurnFusion`` and dev-row figures (AUC text alone, prior, fitted)."""
    from livekit.plugins.semantic_turn import TurnFusion

    fitted = TurnFusion.fit(pt, list(pa), sil, y)
    prior = TurnFusion.prior()
    info = {
        "n_rows": len(y),
        "n_eot_rows": int(sum(y)),
        "weights": {k: round(v, 4) for k, v in fitted.to_dict().items()},
        "dev_row_auc": {
            "text": round(auc(y, pt), 4),
            "audio": round(auc(y, pa), 4),
            "prior_fusion": round(
                auc(y, [prior.combine(a, b, s) for a, b, s in zip(pt, pa, sil, strict=True)]), 4
            ),
            "fitted_fusion": round(
                auc(y, [fitted.combine(a, b, s) for a, b, s in zip(pt, pa, sil, strict=True)]), 4
            ),
        },
    }
    return fitted, info


def fit_fusion_on_md_dev(
    fusion_det: Any,
    memo: Memo,
    *,
    voices: Sequence[object],
    cache_dir: str,
    seed: int,
    limit: int | None,
    lag_s: float,
    log: Callable[[str], None],
    rows_out: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Render md-dev, score our text model and v1-mini causally, fit the fusion (and save the
    rows to ``rows_out`` .npz when given)."""
    max_t = max(DEFAULT_TIMEOUTS)
    turns = md_turns("dev", voices, cache_dir=cache_dir, tail_s=max_t + 0.2, seed=seed,
                     limit=limit, log=log)  # fmt: skip
    dets = {"ours-text": fusion_det.text, "livekit-v1-mini": fusion_det.audio}
    scores = score_set(turns, dets, memo, audio_fn=lambda t: t.audio, lag_s=lag_s, max_t=max_t,
                       grid=GRID, progress="md-dev (fusion fit)")  # fmt: skip
    rows = fusion_rows(scores["ours-text"], scores["livekit-v1-mini"])
    if rows_out:  # keep the rows: a refit needs no re-scoring
        os.makedirs(os.path.dirname(os.path.abspath(rows_out)), exist_ok=True)
        np.savez_compressed(rows_out, p_text=rows[0], p_audio=rows[1], silence_s=rows[2],
                            label=rows[3])  # fmt: skip
    fitted, info = fit_rows(*rows)
    info["n_turns"] = len(turns)
    info["set"] = "md-dev (multidomain_dev_v1.txt spoken, 16 kHz)"
    log(f"fusion fitted on md-dev: {info['weights']} dev-row AUC {info['dev_row_auc']}")
    return fitted, info
