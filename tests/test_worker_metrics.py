"""Prometheus through the worker's own wiring: `agents.worker` run as `agent.py start` runs it
(tests/metrics_worker.py: no LiveKit server, one dispatched job, the native brain against the
loopback OpenAI Realtime server) with `PROMETHEUS_PORT` set. Its endpoint serves LiveKit's
worker metrics (the active job) and ours (the call in progress while it runs, the finished call
and its tool call after it), whether the call runs in a job process (the default) or in the
worker process (`JOB_EXECUTOR=thread`). Both failed before `agents.prometheus_dir`: values kept
in the worker process's memory never reached the multiprocess endpoint.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import OpenAIRealtimeServer, Reply, ToolCall

ROOT = Path(__file__).resolve().parent.parent
GREETING = (
    "Hello and thanks for calling the coffee shop, this is the ordering line, and I will be "
    "glad to take your order whenever you are ready."
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def _value(text: str, line_start: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


class _Model:
    """The greeting (long enough to scrape during it), then `end_call`."""

    def __init__(self) -> None:
        self.greeted = False

    def __call__(self, request: dict[str, Any]) -> Any:
        if "Greet the caller" in request["instructions"] and not self.greeted:
            self.greeted = True
            return Reply(text=GREETING, tool_calls=[ToolCall("end_call", {})])
        return Reply()


async def _poll(port: int, want: str, proc: asyncio.subprocess.Process, log: Path) -> str:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        text = await asyncio.to_thread(_scrape, port)
        if (_value(text, want) or 0) >= 1:
            return text
        assert proc.returncode is None, log.read_text()[-3000:]
        await asyncio.sleep(0.2)
    raise AssertionError(f"{want} never reached 1: {log.read_text()[-3000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["process", "thread"])
async def test_the_workers_prometheus_port_serves_the_call_metrics(
    executor: str, tmp_path: Path
) -> None:
    port, health = _free_port(), _free_port()
    async with OpenAIRealtimeServer(_Model(), seconds_per_char=0.06) as rt:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "OPENAI_"))}
        env.update(
            BRAIN="native", OPENAI_API_KEY="loopback", OPENAI_BASE_URL=rt.base_url,
            LOCAL_FALLBACK="off", ORDERS_DB=str(tmp_path / "orders.sqlite"),
            CALL_RECORDS_DIR=str(tmp_path / "calls"), PROMETHEUS_PORT=str(port),
            JOB_EXECUTOR=executor, METRICS_HEALTH_PORT=str(health),
            # hang-ups go to a LiveKit API that is not there: logged, the job still ends
            LIVEKIT_URL="ws://127.0.0.1:1", LIVEKIT_API_KEY="metrics-test",
            LIVEKIT_API_SECRET="metrics-test-secret-of-32-characters",
        )  # fmt: skip
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.metrics_worker", "start",
                cwd=ROOT, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            try:
                during = await _poll(port, 'voice_calls_active{brain="native"}', proc, log)
                after = await _poll(port, 'voice_calls_total{brain="native"', proc, log)
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(proc.wait(), 120) == 0, log.read_text()[-3000:]
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    # LiveKit's own metrics on the same endpoint (the worker's, not one the test started)
    # (created in the worker process when LiveKit is imported: invisible before the fix)
    assert _value(during, "lk_agents_worker_load{") is not None, during[:3000]
    if executor == "process":  # LiveKit counts the jobs of its process executor only
        assert (_value(during, "lk_agents_active_job_count{") or 0) >= 1, during[:3000]
    # the call was counted while it ran, then as finished, and is no longer active
    assert _value(after, 'voice_calls_active{brain="native"}') == 0.0, after
    assert _value(after, 'voice_tool_calls_total{status="ok",tool="end_call"}') == 1.0, after
    assert f"Prometheus metrics exposed at http://:{port}/metrics" in log.read_text()


def test_the_folder_is_set_from_the_port_before_livekit_loads() -> None:
    from agents.prometheus_dir import prometheus_dir, use_multiprocess_dir

    env = {"PROMETHEUS_PORT": "9464", "PROMETHEUS_MULTIPROC_DIR": "/elsewhere"}
    assert use_multiprocess_dir(env) == prometheus_dir(9464)
    # the folder build_server hands LiveKit, which LiveKit then sets too
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(prometheus_dir(9464))
    for port in ("", "x", "0", "70000"):
        env = {"PROMETHEUS_PORT": port}
        assert use_multiprocess_dir(env) is None and "PROMETHEUS_MULTIPROC_DIR" not in env


def test_agent_py_sets_the_folder_before_it_imports_livekit() -> None:
    source = (ROOT / "agent.py").read_text()
    assert source.index("use_multiprocess_dir()") < source.index("from agents.worker import")
    assert "livekit" not in source.split("use_multiprocess_dir()")[0]
