"""`agent.py start` without a LiveKit server, for the drain test:
`python -m tests.serverless_worker start`.

It runs the production worker: `agents.worker.main()` (settings, start-up checks, record
retention, `build_server`: the real prewarm, entrypoint, load function and LiveKit's default
shutdown timeouts) under LiveKit's `start` CLI (its SIGTERM handler, `AgentServer.drain()`,
then `aclose()`), with real job processes. Two methods of `AgentServer` are wrapped here,
standing in for what a LiveKit server would do:

- `run` registers with no server (`unregistered=True`), serves the health check on
  `DRAIN_HEALTH_PORT` (8081 would collide with other workers on the machine) and, once the
  worker has started, dispatches one job to itself (`simulate_job(fake_job=True)`, as
  `agent.py console` does: the job's room is LiveKit's mock room, so the entrypoint waits for
  no caller and no caller's audio arrives);
- `drain`, once LiveKit has begun draining, offers the worker a second job the way the
  server's dispatch does (an `AvailabilityRequest` answered by the worker's own
  `_answer_availability`) and writes the worker's answer to `DRAIN_OUT/second_job.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

from livekit.agents import AgentServer
from livekit.protocol import agent, models

from agents import worker

OUT = Path(os.environ.get("DRAIN_OUT", "drain-out"))
SECOND_JOB = "AJ_second_call"

_run = AgentServer.run
_drain = AgentServer.drain


async def _run_unregistered(
    self: AgentServer, *, devmode: bool = False, unregistered: bool = False
) -> None:
    self._port = int(os.environ.get("DRAIN_HEALTH_PORT", "8081"))

    def dispatch() -> None:
        asyncio.ensure_future(self.simulate_job("drain-room", fake_job=True))

    self.once("worker_started", dispatch)
    await _run(self, devmode=devmode, unregistered=True)


async def _offer_second_job(self: AgentServer) -> dict[str, Any]:
    request = agent.AvailabilityRequest(
        job=agent.Job(
            id=SECOND_JOB,
            type=agent.JobType.JT_ROOM,
            room=models.Room(name="second-call", sid="RM_second_call"),
        )
    )
    # an accepted job would wait for the server's assignment: the answer is queued first
    with contextlib.suppress(Exception):
        await asyncio.wait_for(self._answer_availability(request), 3)
    answers: list[dict[str, Any]] = []
    while True:
        try:
            msg = self._msg_chan.recv_nowait()
        except Exception:  # empty
            break
        if msg.WhichOneof("message") == "availability" and msg.availability.job_id == SECOND_JOB:
            answers.append({"available": msg.availability.available})
    return {"answers": answers, "active_jobs": len(self.active_jobs)}


async def _drain_and_offer(self: AgentServer, *args: Any, **kwargs: Any) -> None:
    draining = asyncio.ensure_future(_drain(self, *args, **kwargs))
    while not self.draining and not draining.done():
        await asyncio.sleep(0.01)
    (OUT / "second_job.json").write_text(json.dumps(await _offer_second_job(self)))
    await draining


AgentServer.run = _run_unregistered  # type: ignore[method-assign]
AgentServer.drain = _drain_and_offer  # type: ignore[method-assign]

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    worker.main()
