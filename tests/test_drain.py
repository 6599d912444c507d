"""SIGTERM drains the production worker: `agents.worker.main()` under LiveKit's `start` CLI
(tests/serverless_worker.py: the real entrypoint, prewarm, load function and LiveKit's
default shutdown timeouts; real job process; no LiveKit server, so the worker dispatches one
job to itself and runs unregistered).

The call is the native brain against the loopback OpenAI Realtime server: the model greets
the caller and, with the greeting, calls `end_call`; the greeting (about 7 s of audio) plays
out in real time, then the agent hangs up (`tools.call_control.finish_call`). SIGTERM arrives
while the greeting is being asked for. Asserted: a job offered after SIGTERM is refused, the
call in progress goes on to its own end (the greeting plays out for seconds after SIGTERM,
then the session closes), its `CallRecord` is ended and closed by the job's shutdown callback
(`meta.json` has the end and the call audio it copies in), and only then does the worker
exit 0.

Not covered here (no LiveKit server): the WS_FULL status the draining worker sends to the
server, and a caller's audio (the fake job's room is LiveKit's mock room)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.loopback import OpenAIRealtimeServer, Reply, ToolCall

ROOT = Path(__file__).resolve().parent.parent
GREETING = (
    "Hello, and thanks for calling the coffee shop. We have just closed for the evening, "
    "so please call again tomorrow."
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return str(r.read().decode())


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class _Model:
    """The realtime model's script: the greeting, with `end_call`; nothing after it."""

    def __init__(self) -> None:
        self.greeting_asked = asyncio.Event()

    def __call__(self, request: dict[str, Any]) -> Any:
        if "Greet the caller" in request["instructions"] and not self.greeting_asked.is_set():
            self.greeting_asked.set()
            return Reply(text=GREETING, tool_calls=[ToolCall("end_call", {})])
        return Reply()


async def test_sigterm_drains_the_worker_and_the_call_finishes(tmp_path: Path) -> None:
    out, records, port = tmp_path / "out", tmp_path / "calls", _free_port()
    model = _Model()
    async with OpenAIRealtimeServer(model, seconds_per_char=0.06) as rt:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "OPENAI_"))}
        env.update(
            BRAIN="native", OPENAI_API_KEY="loopback", OPENAI_BASE_URL=rt.base_url,
            LOCAL_FALLBACK="off", ORDERS_DB=str(tmp_path / "orders.sqlite"),
            CALL_RECORDS_DIR=str(records), DRAIN_OUT=str(out), DRAIN_HEALTH_PORT=str(port),
            # hang-ups go to a LiveKit API that is not there: logged, the job still ends
            LIVEKIT_URL="ws://127.0.0.1:1", LIVEKIT_API_KEY="drain-test",
            LIVEKIT_API_SECRET="drain-test-secret-of-32-characters",
        )  # fmt: skip
        with open(tmp_path / "worker.log", "wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.serverless_worker", "start",
                cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            try:
                waiting = asyncio.ensure_future(model.greeting_asked.wait())
                done, _ = await asyncio.wait({waiting, asyncio.ensure_future(proc.wait())},
                                             timeout=240, return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                assert waiting in done, (tmp_path / "worker.log").read_text()[-3000:]
                # LiveKit's health check answers, and the worker reports the call it runs
                assert await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/") == "OK"
                status = json.loads(
                    await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/worker")
                )
                assert status["active_jobs"] == 1
                sigterm_at = time.time()
                # to the worker's main process only, as `docker stop` and Kubernetes do
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(proc.wait(), 120) == 0
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    worker_log = (tmp_path / "worker.log").read_text()
    assert "draining worker" in worker_log, worker_log[-3000:]
    assert "process exited with non-zero exit code" not in worker_log
    # a job offered once draining began was refused; the call in progress was the only one
    second = json.loads((out / "second_job.json").read_text())
    assert second == {"answers": [{"available": False}], "active_jobs": 1}
    (record,) = list(records.iterdir())
    meta = json.loads((record / "meta.json").read_text())
    t0 = _at(meta["started_at"])
    # the call went on after SIGTERM to its own end: the greeting played out in full
    (greeting,) = [r for r in _rows(record / "transcript.jsonl") if r["role"] == "assistant"]
    assert greeting["text"] == GREETING and not greeting["interrupted"]
    assert t0 + greeting["end"] > sigterm_at + 3.0, (greeting, sigterm_at - t0)
    events = _rows(record / "events.jsonl")
    (hung_up,) = [e for e in events if e["kind"] == "tool_call" and e["name"] == "end_call"]
    assert hung_up["status"] == "ok"
    (closed,) = [e for e in events if e["kind"] == "session_closed"]
    assert _at(closed["at"]) > t0 + greeting["end"]
    # the record was ended and closed by the job's shutdown callback (`close_call`, which
    # copies the call audio in), after the session closed
    assert meta["end_reason"] == "agent_hung_up" and meta["brain"] == "native"
    assert meta["ended_at"] is not None and meta["audio"] == "call.ogg"
    assert (record / "call.ogg").stat().st_size > 0
    assert [e["kind"] for e in events][0] == "brain" and "end" in [e["kind"] for e in events]
    assert not list(record.glob("*.tmp"))
