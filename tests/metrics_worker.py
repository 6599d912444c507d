"""`agent.py start` without a LiveKit server, for the metrics test:
`python -m tests.metrics_worker start`.

It starts as `agent.py` does (`agents.prometheus_dir.use_multiprocess_dir()` before LiveKit is
imported) and runs the production worker: `agents.worker.main()` (settings, start-up checks,
`build_server` with its `PROMETHEUS_PORT` set-up: LiveKit's metrics server on that port and
the multiprocess folder the job processes write to; the real prewarm, entrypoint and job
executor) under LiveKit's `start` CLI. Only `AgentServer.run` is wrapped, standing in for the
LiveKit server: it registers with no server (`unregistered=True`), serves the health check on
`METRICS_HEALTH_PORT` (8081 would collide with other workers on the machine) and, once the
worker has started, dispatches one job to itself (`simulate_job(fake_job=True)`, as `agent.py
console` does: the job's room is LiveKit's mock room, so no caller's audio arrives).
"""

from __future__ import annotations

import asyncio
import os

from agents.prometheus_dir import use_multiprocess_dir

use_multiprocess_dir()  # what agent.py does before it imports the worker

from livekit.agents import AgentServer  # noqa: E402

from agents import worker  # noqa: E402

_run = AgentServer.run


async def _run_unregistered(
    self: AgentServer, *, devmode: bool = False, unregistered: bool = False
) -> None:
    self._port = int(os.environ.get("METRICS_HEALTH_PORT", "8081"))

    def dispatch() -> None:
        asyncio.ensure_future(self.simulate_job("metrics-room", fake_job=True))

    self.once("worker_started", dispatch)
    await _run(self, devmode=devmode, unregistered=True)


AgentServer.run = _run_unregistered  # type: ignore[method-assign]

if __name__ == "__main__":
    worker.main()
