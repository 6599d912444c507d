"""Retention: call records older than `CALL_RECORDS_DAYS` are deleted when the worker starts.

Only directories that are call records (they hold a `meta.json`) are ever deleted; their
age is the newest modification time of anything inside, so a call still being written is
never old.

Owns: `prune_records`. Imports: the standard library.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

logger = logging.getLogger("voice_suite.records")


def _newest_mtime(path: Path) -> float:
    times = [path.stat().st_mtime]
    times += [p.stat().st_mtime for p in path.iterdir() if p.is_file()]
    return max(times)


def prune_records(root: str | Path, days: float, *, now: float | None = None) -> list[Path]:
    """Delete records under `root` untouched for more than `days` days (0 = keep all).
    Returns what was deleted."""
    base = Path(root)
    if days <= 0 or not base.is_dir():
        return []
    cutoff = (now or time.time()) - days * 86400
    removed: list[Path] = []
    for d in sorted(base.iterdir()):
        if not d.is_dir() or not (d / "meta.json").is_file():
            continue
        try:
            if _newest_mtime(d) < cutoff:
                shutil.rmtree(d)
                removed.append(d)
        except OSError as e:
            logger.warning("could not delete old call record %s: %s", d.name, e)
    if removed:
        logger.info("deleted %d call record(s) older than %g days", len(removed), days)
    return removed
