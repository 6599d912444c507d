"""Small statistics shared by the per-call report and the summary across calls."""

from __future__ import annotations

import numpy as np


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def distribution(values: list[float]) -> dict[str, float | int | None]:
    """`{n, mean, p50, p95, min, max}` of a list of seconds (None when empty)."""
    return {
        "n": len(values),
        "mean": round(float(np.mean(values)), 3) if values else None,
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "min": round(min(values), 3) if values else None,
        "max": round(max(values), 3) if values else None,
    }
