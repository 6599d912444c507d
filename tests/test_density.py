"""Density: the benchmark harness end to end (two concurrent calls in one worker process),
its lateness measures, the worker's load_fnc and executor knob, and an idle cloud-brain
worker that loads no local model."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from livekit.agents import JobExecutorType
from livekit.agents.utils.hw import CPUMonitor

from agents.brain.local_models import wants_local_models
from agents.config import ConfigError, Settings
from agents.worker import build_server
from agents.worker_load import CallLoad, worker_load
from evals.density.calls import CallResult
from evals.density.cli import DEFAULT_RECORDING, load_caller, main, parse_sessions, run
from evals.density.report import MB
from evals.density.timing import Lateness, TimedRealtimeOutput
from evals.density.worker import WorkerMeasurement, merge

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- the harness, end to end


@pytest.mark.slow
def test_two_concurrent_calls_report_lateness_latency_cpu_and_memory() -> None:
    # the greeting, then the first caller turn ("a large mocha", ends at 9.6 s), answered
    caller = load_caller(DEFAULT_RECORDING, 11.0)
    assert caller.turns_per_call == 1
    (row,) = run([2], caller, record=False, stagger=0.1)
    assert row.sessions == 2 and row.calls_ok == 2, row.errors
    assert row.turns_answered == row.turns_expected == 2
    assert row.latency_p50 is not None and row.latency_p95 is not None
    assert 0 < row.latency_p50 <= row.latency_p95 < 10
    # every 20 ms of the call reached the session (zero or more of them late)
    assert row.input_frames >= 2 * 10.0 / 0.020
    assert 0 <= row.input_late <= row.input_frames
    assert row.output_frames > 0 and 0 <= row.output_late <= row.output_frames
    assert row.probe_frames > 0
    assert row.worker_cpu_per_call_s > 0 and row.provider_cpu_per_call_s > 0
    assert row.peak_rss_mb >= row.baseline_rss_mb > 50


def test_sessions_and_recording_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_sessions("5,1,5") == [1, 5]
    for bad in ("x", "0", "1,-2", ""):
        with pytest.raises(ValueError, match="--sessions"):
            parse_sessions(bad)
    assert main(["--sessions", "one"]) == 2
    assert main(["--recording", str(ROOT / "missing.wav")]) == 2
    assert main(["--seconds", "0"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("error: ") for e in errors), errors


def test_worker_processes_merge_into_one_machine() -> None:
    a = WorkerMeasurement(2, 200 * MB, 230 * MB, 3.0, 30.0, [CallResult(0), CallResult(1)])
    b = WorkerMeasurement(3, 210 * MB, 260 * MB, 4.0, 31.0, [CallResult(2)], ["piper"])
    m = merge([a, b])
    assert (m.sessions, m.processes, m.cpu_seconds, m.wall_seconds) == (5, 2, 7.0, 31.0)
    assert (m.baseline_rss, m.peak_rss) == (410 * MB, 490 * MB)
    assert [c.index for c in m.calls] == [0, 1, 2] and m.local_modules == ["piper"]


# ---------------------------------------------------------------- lateness


def test_lateness_counts_frames_more_than_20_ms_behind() -> None:
    late = Lateness()
    for behind in (-0.005, 0.0, 0.019, 0.021, 0.3):
        late.add(behind)
    assert (late.frames, late.late, late.worst) == (5, 2, 0.3)
    other = Lateness()
    other.add(0.05)
    late.merge(other)
    assert (late.frames, late.late, late.worst) == (6, 3, 0.3)


def test_output_counts_a_gap_inside_an_utterance_not_its_start_or_a_pause() -> None:
    out = TimedRealtimeOutput()
    out.on_playback_started(created_at=100.0)
    out.on_playback_progressed(started_at=100.0, offset=0.0, duration=0.02)  # first: no due
    out.on_playback_progressed(started_at=100.02, offset=0.02, duration=0.02)  # on time
    out.on_playback_progressed(started_at=100.07, offset=0.04, duration=0.02)  # 30 ms gap
    out.pause()
    out.resume()
    out.on_playback_progressed(started_at=105.0, offset=0.06, duration=0.02)  # after a pause
    out.on_playback_finished(playback_position=0.08, interrupted=False)
    out.on_playback_started(created_at=110.0)  # the next utterance starts whenever it starts
    out.on_playback_progressed(started_at=110.0, offset=0.0, duration=0.02)
    assert (out.lateness.frames, out.lateness.late) == (2, 1)
    assert out.lateness.worst == pytest.approx(0.03)


# ---------------------------------------------------------------- load_fnc and executor


def test_worker_load_is_the_larger_of_cpu_and_the_share_of_max_calls() -> None:
    assert worker_load(0.3, 5, 10) == 0.5
    assert worker_load(0.8, 5, 10) == 0.8
    assert worker_load(0.2, 0, 10) == 0.2
    assert worker_load(0.1, 7, 7) == 1.0
    assert worker_load(0.4, 100, 0) == 0.4  # MAX_CALLS=0: CPU only
    with pytest.raises(ValueError):
        worker_load(0.1, 1, -1)


class FixedCPU(CPUMonitor):
    def __init__(self, value: float) -> None:
        self.value = value

    def cpu_count(self) -> float:
        return 2.0

    def cpu_percent(self, interval: float = 0.5) -> float:
        time.sleep(0.01)
        return self.value


def test_call_load_reads_cpu_and_the_servers_active_jobs() -> None:
    load = CallLoad(4, cpu_monitor=FixedCPU(0.6))
    server = SimpleNamespace(active_jobs=[object()])
    load(server)  # starts the sampler
    deadline = time.monotonic() + 5
    while load.cpu() < 0.6 - 1e-9 and time.monotonic() < deadline:
        time.sleep(0.02)  # the moving average fills with 0.6
    assert load(server) == pytest.approx(0.6)  # CPU 0.6 > 1/4 calls
    server.active_jobs = [object()] * 3
    assert load(server) == 0.75  # 3/4 calls > CPU 0.6


def test_worker_passes_load_fnc_and_executor_to_livekit() -> None:
    server = build_server(Settings(max_calls=7, job_executor="thread"))
    assert isinstance(server.load_fnc, CallLoad) and server.load_fnc.max_calls == 7
    assert server._job_executor_type is JobExecutorType.THREAD
    default = build_server(Settings())
    assert default._job_executor_type is JobExecutorType.PROCESS


@pytest.mark.parametrize(
    "env,message",
    [
        ({"JOB_EXECUTOR": "fork"}, "JOB_EXECUTOR='fork' is not one of: process, thread"),
        ({"MAX_CALLS": "-3"}, "MAX_CALLS='-3' must be a whole number >= 0"),
        ({"MAX_CALLS": "many"}, "MAX_CALLS='many' must be a whole number"),
    ],
)
def test_capacity_knobs_reject_bad_values(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


# ---------------------------------------------------------------- no local models when unused

IDLE_WORKER = """
import json, sys
from livekit.agents import JobExecutorType, JobProcess
from agents import worker
from agents.brain.local_models import wants_local_models
s = worker.settings()
worker.check_startup(s, ["agent.py", "start"])
proc = JobProcess(executor_type=JobExecutorType.PROCESS, user_arguments=None, http_proxy=None)
worker.prewarm(proc)
print(json.dumps({
    "wants": wants_local_models(s),
    "vad": type(proc.userdata["vad"]).__module__,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in
        ("faster_whisper", "ctranslate2", "llama_cpp", "piper")
        or m in ("livekit.plugins.fasterwhisper", "livekit.plugins.llamacpp",
                 "livekit.plugins.piper")),
}))
"""


@pytest.mark.slow  # a fresh interpreter imports the worker: ~20 s on a busy 2-core box
def test_idle_cloud_worker_with_local_fallback_off_loads_no_local_model(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BRAIN": "cascade", "STT": "", "LLM": "", "TTS": "", "LOCAL_FALLBACK": "off",
        "LIVEKIT_URL": "ws://127.0.0.1:7880",
        "OPENAI_API_KEY": "k", "DEEPGRAM_API_KEY": "k", "CARTESIA_API_KEY": "k",
        "ORDERS_DB": str(tmp_path / "orders.sqlite"), "CALL_RECORDS_DIR": str(tmp_path / "c"),
    }  # fmt: skip
    got = subprocess.run(
        [sys.executable, "-c", IDLE_WORKER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr[-2000:]
    report = json.loads(got.stdout.strip().splitlines()[-1])
    assert report == {"wants": False, "vad": "livekit.plugins.silero.vad", "modules": []}
    # the same worker with the local engines at the end of its chains would load them
    cloud = Settings(
        brain="cascade", openai_api_key="k", deepgram_api_key="k", cartesia_api_key="k"
    )
    assert wants_local_models(dataclasses.replace(cloud, local_fallback="on"))
    assert not wants_local_models(dataclasses.replace(cloud, local_fallback="off"))
