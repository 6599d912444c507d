"""The worker's load as LiveKit reads it (`AgentServer(load_fnc=...)`): the larger of the
machine's CPU use and the share of `MAX_CALLS` already taken.

LiveKit stops offering a worker new jobs once its load reaches `load_threshold` (0.7 in
production, never in dev mode). CPU alone lags behind a burst of arriving calls (it moves
only once they speak) and says nothing about memory; the call count is known at once. So a
worker with `MAX_CALLS=N` takes at most about 0.7 x N calls, fewer when CPU runs out first
(`python -m evals.density` measures where real-time audio starts to suffer).

Owns: `worker_load` and `CallLoad`. Imports: livekit only.
"""

from __future__ import annotations

import threading
from typing import Any

from livekit.agents.utils import MovingAverage
from livekit.agents.utils.hw import CPUMonitor, get_cpu_monitor

CPU_SAMPLE_S = 0.5
CPU_WINDOW = 5
"""Samples averaged (5 x 0.5 s = 2.5 s, as LiveKit's own load calculation)."""


def worker_load(cpu: float, active_calls: int, max_calls: int) -> float:
    """max(CPU use 0-1, active calls / max calls); `max_calls` 0 = CPU only."""
    if max_calls < 0 or active_calls < 0:
        raise ValueError("active_calls and max_calls must not be negative")
    if max_calls == 0:
        return cpu
    return max(cpu, active_calls / max_calls)


class CallLoad:
    """`load_fnc` for `AgentServer`: `CallLoad(settings.max_calls)`. CPU is sampled on a
    daemon thread, started at the first reading."""

    def __init__(self, max_calls: int, *, cpu_monitor: CPUMonitor | None = None) -> None:
        if max_calls < 0:
            raise ValueError("max_calls must not be negative")
        self.max_calls = max_calls
        self._monitor = cpu_monitor
        self._average = MovingAverage(CPU_WINDOW)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def cpu(self) -> float:
        """The moving average of CPU use, 0-1 (0 until the first sample)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._sample, name="worker_call_load", daemon=True
                )
                self._thread.start()
            return float(self._average.get_avg())

    def _sample(self) -> None:
        monitor = self._monitor or get_cpu_monitor()
        while True:
            value = monitor.cpu_percent(interval=CPU_SAMPLE_S)
            with self._lock:
                self._average.add_sample(value)

    def __call__(self, server: Any) -> float:
        """LiveKit calls this with the `AgentServer`; its `active_jobs` are the calls."""
        return worker_load(self.cpu(), len(server.active_jobs), self.max_calls)
