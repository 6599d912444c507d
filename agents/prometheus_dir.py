"""Where the worker's Prometheus metrics are summed, set before anything creates a metric.

With `PROMETHEUS_PORT` the worker serves `/metrics` in prometheus_client's multiprocess mode:
every process writes its values to files in `PROMETHEUS_MULTIPROC_DIR` and the endpoint sums
the files. prometheus_client decides once, when it is imported, whether a process writes files
or keeps its values in memory, and values kept in memory never reach the endpoint. LiveKit
creates its own worker metrics (`lk_agents_*`: active jobs, worker load, process start times)
when `livekit.agents` is imported, and sets the variable only later, when the worker starts:
so `agent.py` calls `use_multiprocess_dir()` before it imports the worker, and LiveKit's
metrics and ours (`agents.side_channel.call_metrics`) are all summed by the endpoint.

Imports nothing of LiveKit or prometheus_client (that is the point).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

from .config import load_env


def prometheus_dir(port: int) -> Path:
    """The multiprocess folder of the worker serving `/metrics` on `port` (one per port:
    LiveKit empties it when the worker starts)."""
    return Path(tempfile.gettempdir()) / f"voice-suite-prometheus-{port}"


def use_multiprocess_dir(env: MutableMapping[str, str] | None = None) -> Path | None:
    """Set `PROMETHEUS_MULTIPROC_DIR` for a worker with `PROMETHEUS_PORT` (from the environment
    or `.env.local`) to the folder `agents.worker.build_server` hands LiveKit; call it before
    `livekit` or `prometheus_client` is imported. No port, or one that is not a port (the
    worker's start-up check reports it), sets nothing."""
    if env is None:
        load_env()
        env = os.environ
    raw = env.get("PROMETHEUS_PORT", "").strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        return None
    folder = prometheus_dir(int(raw))
    # a value written before the worker starts (and makes the folder) must find it
    folder.mkdir(parents=True, exist_ok=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder
