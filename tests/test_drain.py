"""SIGTERM drains the worker: the call in progress finishes, its outputs are written and its
record closed, then the worker exits. The worker is LiveKit's `start` path in a subprocess
(tests/drain_worker.py: real job process, real SIGTERM handler, `AgentServer.drain()`), its
call a replay-like coffee order over the real tools and `OrderStore`."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALL_SECONDS = 6.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"worker exited early ({proc.returncode})"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.1)


def _drain_during_the_call(proc: subprocess.Popen[bytes], out: Path, port: int) -> None:
    try:
        _wait_for(out / "started", proc, timeout=180)
        # LiveKit's health check answers, and the worker reports the call it is running
        assert _get(f"http://127.0.0.1:{port}/") == "OK"
        assert json.loads(_get(f"http://127.0.0.1:{port}/worker"))["active_jobs"] == 1
        (out / "sigterm_at").write_text(str(time.time()))
        # to the worker's main process only, as `docker stop` and Kubernetes do
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_lets_the_call_in_progress_finish(tmp_path):
    out, db, port = tmp_path / "call", tmp_path / "orders.sqlite", _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env.update(
        DRAIN_OUT=str(out), ORDERS_DB=str(db), DRAIN_HEALTH_PORT=str(port),
        DRAIN_CALL_SECONDS=str(CALL_SECONDS), LIVEKIT_URL="ws://127.0.0.1:1",
        LIVEKIT_API_KEY="drain-test", LIVEKIT_API_SECRET="drain-test-secret-of-32-characters",
    )  # fmt: skip
    with open(tmp_path / "worker.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.drain_worker", "start"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _drain_during_the_call(proc, out, port)
    worker_log = (tmp_path / "worker.log").read_text()
    assert "draining worker" in worker_log, worker_log[-3000:]
    sigterm_at = float((out / "sigterm_at").read_text())
    # the call went on after SIGTERM and finished normally
    assert float((out / "call_done").read_text()) > sigterm_at
    items = [json.loads(line) for line in (out / "transcript.jsonl").read_text().splitlines()]
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    assert [o["name"] for o in outputs] == ["get_menu_items", "add_order_item", "finish_order"]
    assert json.loads(outputs[-1]["output"])["success"] is True
    said = [i for i in items if i.get("type") == "message" and i.get("role") == "assistant"]
    assert "ready shortly" in " ".join(" ".join(m["content"]) for m in said)
    # the record was closed by the job's shutdown callback, after the call
    meta = json.loads((out / "meta.json").read_text())
    assert meta["reason"] == "caller hung up" and meta["ended"] >= sigterm_at
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM orders").fetchall() == [("finished",)]
    # and the worker did not leave before the call ended
    assert "process exited with non-zero exit code" not in worker_log
