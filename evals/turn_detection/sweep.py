"""Policy sweep and operating points (livekit/eot-bench's evaluation model).

Each decision span carries a detector's scores ``p[k]`` at silence-elapsed grid points
``e[k]``. A policy ``(threshold, action_delay, timeout)`` fires in a span at the first grid
point with ``e >= action_delay`` and ``p >= threshold``, or when the silence reaches
``timeout``, whichever is first. Firing in a ``hold`` span (before the user resumes, i.e.
``fire <= span duration``) is a false cut-off; in the ``eot`` span the fire time is the
latency (dead air). Over the whole grid:

- ``cutoff_rate`` = false cut-offs / hold spans;
- ``latency`` = mean (eot-bench) or median fire time over eot spans;
- ``detect_rate`` = share of eot spans where the model fired before the timeout.

Operating points: best cut-off rate at a latency budget, best latency at a cut-off budget, and
the Pareto frontier of (latency, cut-off rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-6

# eot-bench sweeps action delays 0.2-1.0 s and timeouts 1.0-3.5 s; the brief asks for 0-1 s.
DEFAULT_DELAYS = tuple(round(0.1 * i, 1) for i in range(11))  # 0.0 .. 1.0 s
DEFAULT_TIMEOUTS = (1.0, 1.5, 2.0, 2.5, 3.0)
LATENCY_BUDGETS = (0.3, 0.6)
CUTOFF_BUDGETS = (0.05, 0.10)


@dataclass(frozen=True)
class SpanScores:
    label: str  # "hold" | "eot"
    duration: float  # silence length of the span (inf for a trailing eot)
    elapsed: np.ndarray  # grid points, seconds of silence, increasing
    p: np.ndarray  # detector score at each grid point


@dataclass
class Sweep:
    threshold: np.ndarray
    action_delay: np.ndarray
    timeout: np.ndarray
    cutoff_rate: np.ndarray
    mean_latency: np.ndarray
    p50_latency: np.ndarray
    detect_rate: np.ndarray
    n_hold: int
    n_eot: int

    def latency(self, stat: str) -> np.ndarray:
        return self.mean_latency if stat == "mean" else self.p50_latency

    def point(self, i: int, stat: str) -> dict:
        return {
            "threshold": round(float(self.threshold[i]), 6),
            "action_delay_s": float(self.action_delay[i]),
            "timeout_s": float(self.timeout[i]),
            "cutoff_rate": float(self.cutoff_rate[i]),
            "latency_s": float(self.latency(stat)[i]),
            "mean_latency_s": float(self.mean_latency[i]),
            "p50_latency_s": float(self.p50_latency[i]),
            "detect_rate": float(self.detect_rate[i]),
        }


def grid_points(duration: float, max_t: float, *, step: float = 0.1, coarse_after: float = 1.0,
                coarse_step: float = 0.25) -> np.ndarray:  # fmt: skip
    """Silence-elapsed decision times in a span: every ``step`` up to ``coarse_after``, then
    every ``coarse_step``, up to ``min(duration, max_t)`` (eot-bench: 0.1 s everywhere)."""
    end = min(duration, max_t) + EPS
    fine = np.arange(1, int(np.floor(min(end, coarse_after + EPS) / step)) + 1) * step
    pts = list(np.round(fine, 6))
    if end > coarse_after + coarse_step - EPS and coarse_step > 0:
        n = int(np.floor((end - coarse_after) / coarse_step + EPS))
        pts += list(np.round(coarse_after + np.arange(1, n + 1) * coarse_step, 6))
    return np.array([p for p in pts if p <= end], dtype=float)


def threshold_grid(scores: Sequence[np.ndarray], n_quantiles: int = 101) -> np.ndarray:
    """0.00..1.00 by 0.01 plus quantiles of the detector's own scores (so a detector whose
    scores live in [0, 0.02] still gets a full curve)."""
    base = np.round(np.arange(0, 101) / 100.0, 2)
    allp = np.concatenate([np.asarray(s, float) for s in scores]) if scores else np.zeros(0)
    if allp.size:
        q = np.quantile(allp, np.linspace(0, 1, n_quantiles))
        base = np.concatenate([base, q, q + 1e-9])
    return np.unique(np.clip(base, 0.0, 1.0 + 1e-9))


def fire_times(span: SpanScores, thresholds: np.ndarray, delay: float) -> np.ndarray:
    """First grid time with ``e >= delay`` and ``p >= threshold`` (inf if none), per threshold."""
    ok = span.elapsed >= delay - EPS
    if not ok.any():
        return np.full(len(thresholds), np.inf)
    e, p = span.elapsed[ok], span.p[ok]
    running = np.maximum.accumulate(p)  # non-decreasing: first crossing by binary search
    idx = np.searchsorted(running, thresholds - 1e-12, side="left")
    out = np.full(len(thresholds), np.inf)
    hit = idx < len(e)
    out[hit] = e[idx[hit]]
    return out


def sweep(
    spans: Sequence[SpanScores],
    *,
    thresholds: np.ndarray | None = None,
    delays: Sequence[float] = DEFAULT_DELAYS,
    timeouts: Sequence[float] = DEFAULT_TIMEOUTS,
) -> Sweep:
    holds = [s for s in spans if s.label == "hold"]
    eots = [s for s in spans if s.label == "eot"]
    if not eots:
        raise ValueError("no eot spans to score")
    thr = threshold_grid([s.p for s in spans]) if thresholds is None else np.asarray(thresholds)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in Sweep.__dataclass_fields__}
    hold_dur = np.array([s.duration for s in holds])[:, None] if holds else np.zeros((0, 1))
    for d in delays:
        h_fire = np.array([fire_times(s, thr, d) for s in holds]).reshape(len(holds), len(thr))
        e_fire = np.array([fire_times(s, thr, d) for s in eots])
        for to in timeouts:
            if to < d - EPS:
                continue
            hf = np.minimum(h_fire, to)
            cut = (hf <= hold_dur + EPS).sum(axis=0) / max(len(holds), 1)
            ef = np.minimum(e_fire, to)
            rows["threshold"].append(thr)
            rows["action_delay"].append(np.full(len(thr), d))
            rows["timeout"].append(np.full(len(thr), to))
            rows["cutoff_rate"].append(cut if holds else np.zeros(len(thr)))
            rows["mean_latency"].append(ef.mean(axis=0))
            rows["p50_latency"].append(np.median(ef, axis=0))
            rows["detect_rate"].append((e_fire < to - EPS).mean(axis=0))
    cat = {k: np.concatenate(v) for k, v in rows.items() if v}
    return Sweep(**cat, n_hold=len(holds), n_eot=len(eots))


def pareto_frontier(cutoff: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """Indices of non-dominated points, ordered by increasing latency (decreasing cut-offs)."""
    order = np.lexsort((cutoff, latency))
    best = np.inf
    keep = []
    for i in order:
        if cutoff[i] < best - 1e-12:
            keep.append(i)
            best = cutoff[i]
    return np.array(keep, dtype=int)


def best_cutoff_at_latency(sw: Sweep, budget_s: float, stat: str = "mean") -> int | None:
    """Index of the lowest cut-off rate among policies with latency <= budget (ties: faster)."""
    lat = sw.latency(stat)
    ok = np.nonzero(lat <= budget_s + EPS)[0]
    if len(ok) == 0:
        return None
    return int(ok[np.lexsort((lat[ok], sw.cutoff_rate[ok]))[0]])


def best_latency_at_cutoff(sw: Sweep, budget: float, stat: str = "mean") -> int | None:
    """Index of the lowest latency among policies with cut-off rate <= budget (ties: fewer)."""
    lat = sw.latency(stat)
    ok = np.nonzero(sw.cutoff_rate <= budget + EPS)[0]
    if len(ok) == 0:
        return None
    return int(ok[np.lexsort((sw.cutoff_rate[ok], lat[ok]))[0]])


def operating_points(sw: Sweep, stat: str = "mean") -> dict:
    out: dict = {"n_hold_spans": sw.n_hold, "n_eot_spans": sw.n_eot, "latency_stat": stat}
    for b in LATENCY_BUDGETS:
        i = best_cutoff_at_latency(sw, b, stat)
        out[f"cutoff_at_{int(b * 1000)}ms"] = None if i is None else sw.point(i, stat)
    for b in CUTOFF_BUDGETS:
        i = best_latency_at_cutoff(sw, b, stat)
        out[f"latency_at_{int(round(b * 100))}pct"] = None if i is None else sw.point(i, stat)
    f = pareto_frontier(sw.cutoff_rate, sw.latency(stat))
    out["frontier"] = [
        [round(float(sw.latency(stat)[i]), 4), round(float(sw.cutoff_rate[i]), 5)] for i in f
    ]
    return out
