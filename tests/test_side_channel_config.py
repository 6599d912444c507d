"""The side channel's settings: the worker serves Prometheus on PROMETHEUS_PORT, refuses a
bad port or guardrail policy at start with one line, and a call leaves no record when
CALL_RECORDS_DIR=off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.brain import choose_brain
from agents.call import open_call
from agents.config import ConfigError, Settings
from agents.worker import build_server

ROOT = Path(__file__).resolve().parent.parent


def test_settings_defaults_and_bad_port() -> None:
    s = Settings.from_env({})
    assert (s.call_records_dir, s.call_records_days, s.prometheus_port) == ("calls", 30.0, "")
    assert Settings.from_env({"PROMETHEUS_PORT": "9464"}).prometheus_port == "9464"
    with pytest.raises(ConfigError, match="PROMETHEUS_PORT='x' is not a TCP port"):
        Settings.from_env({"PROMETHEUS_PORT": "x"})
    with pytest.raises(ConfigError, match="CALL_RECORDS_DAYS='-1' must not be negative"):
        Settings.from_env({"CALL_RECORDS_DAYS": "-1"})


def test_worker_serves_prometheus_only_when_asked(tmp_path: Path) -> None:
    on = build_server(Settings(prometheus_port="9464", call_records_dir=str(tmp_path / "c")))
    assert on._prometheus_port == 9464
    assert str(on._prometheus_multiproc_dir).endswith("voice-suite-prometheus-9464")
    off = build_server(Settings())
    assert off._prometheus_port is None and off._prometheus_multiproc_dir is None


@pytest.mark.parametrize(
    "env,message",
    [
        ({"GUARDRAIL_POLICY": "/nonexistent/policy.txt"}, "guardrail policy /nonexistent"),
        ({"GUARDRAIL_BLOCK": "free (coffee"}, "GUARDRAIL_BLOCK:1: bad regex"),
        ({"PROMETHEUS_PORT": "70000"}, "PROMETHEUS_PORT='70000' is not a TCP port"),
    ],
)
def test_worker_refuses_a_bad_side_channel_setting(env: dict[str, str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "agent.py", "console", "--text"], cwd=ROOT,
        env={**os.environ, "BRAIN": "local", **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {message}")


async def test_records_can_be_switched_off(tmp_path: Path) -> None:
    settings = Settings(
        brain="native", openai_api_key="test",  # built, never connected
        orders_db=str(tmp_path / "orders.sqlite"), call_records_dir="off",
    )  # fmt: skip
    call = await open_call(settings, choose_brain(settings), greet=False)
    try:
        assert call.record is None and call.guard is not None
    finally:
        await call.aclose()
    assert not (Path.cwd() / "off").exists()


async def test_job_shutdown_copies_the_jobs_recording_into_the_record(tmp_path: Path) -> None:
    """The worker's shutdown callback: the session's stereo `audio.ogg` (LiveKit's RecorderIO
    writes it into the job's session directory) becomes the record's `call.ogg`, and a call
    nothing else ended ends as `job_shutdown`."""
    import json
    from types import SimpleNamespace

    from agents.worker import close_call

    settings = Settings(
        brain="native", openai_api_key="test",  # built, never connected
        orders_db=str(tmp_path / "orders.sqlite"), call_records_dir=str(tmp_path / "calls"),
    )  # fmt: skip
    call = await open_call(settings, choose_brain(settings), greet=False, caller_kind="sip")
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "audio.ogg").write_bytes(b"OggS" + bytes(200))
    await close_call(SimpleNamespace(session_directory=job_dir), call)  # type: ignore[arg-type]
    assert call.record is not None
    assert (call.record.path / "call.ogg").read_bytes() == (job_dir / "audio.ogg").read_bytes()
    meta = json.loads((call.record.path / "meta.json").read_text())
    assert meta["end_reason"] == "job_shutdown" and meta["audio"] == "call.ogg"
    assert meta["caller_kind"] == "sip"
