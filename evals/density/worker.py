"""One worker process carrying N concurrent calls, measured from the inside.

The process does what the LiveKit worker does before its first job (`agents.worker`: import
the plugins the brain needs, prewarm the process-wide Silero VAD, migrate the order
database), then its RSS is the baseline; the N calls then run as thread-executor jobs
(`evals.density.calls.CallThread`) while a sampler keeps the peak RSS. CPU is this process's
user + system time over the calls, divided by the call-seconds carried.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from agents.config import Settings
from evals.replay.recording import Recording

from .calls import CallResult, CallThread
from .providers import ProviderUrls

LOCAL_ENGINE_MODULES = ("faster_whisper", "llama_cpp", "piper", "ctranslate2")
"""What a worker that loaded the offline models would have imported."""
RSS_SAMPLE_S = 0.25
JOIN_SLACK_S = 120.0
"""How long past the recording (plus replay's own tail cap) a call may take before the
benchmark gives up on it."""


@dataclass
class WorkerMeasurement:
    sessions: int
    baseline_rss: int
    peak_rss: int
    cpu_seconds: float
    wall_seconds: float
    calls: list[CallResult] = field(default_factory=list)
    local_modules: list[str] = field(default_factory=list)
    """Offline-engine modules present in the worker (none expected: LOCAL_FALLBACK=off)."""
    processes: int = 1


def benchmark_settings(urls: ProviderUrls, workdir: Path, *, record: bool) -> Settings:
    """The cascade brain on the loopback providers; `local_fallback="off"`: the stages'
    chains end at the cloud engine, so no local model is ever loaded."""
    return Settings(
        brain="cascade",
        deepgram_api_key="loopback", deepgram_base_url=urls.deepgram,
        openai_api_key="loopback", openai_base_url=urls.openai,
        cartesia_api_key="loopback", cartesia_base_url=urls.cartesia,
        local_fallback="off",
        orders_db=str(workdir / "orders.sqlite"),
        call_records_dir=str(workdir / "calls") if record else "off",
        log_level="WARNING",
    )  # fmt: skip


def _prepare_process(settings: Settings) -> Any:
    """The worker's start-up and prewarm, minus the LiveKit connection: returns the VAD."""
    import logging

    from livekit.agents.utils import http_context

    from agents.brain.assembly import silero_vad
    from agents.brain.profiles import SILERO_SILENCE
    from agents.worker import import_plugins
    from tools.coffee import OrderStore

    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("livekit").setLevel(logging.ERROR)
    logging.getLogger("voice_suite").setLevel(logging.ERROR)
    import_plugins(settings)
    vad_model = silero_vad(SILERO_SILENCE)  # the process-wide VAD every job shares
    # LiveKit builds the TLS context of the jobs' HTTP sessions once per process (parsing
    # the CA bundle: ~0.1 s of CPU); a worker that has run a job holds it. Built here, the
    # calls do not race to build it again at once (its cache has no lock).
    http_context._create_ssl_context()

    async def migrate() -> None:
        store = await OrderStore(settings.orders_db).open()
        await store.close()

    asyncio.run(migrate())
    return vad_model


def measure_worker(
    sessions: int,
    urls: ProviderUrls,
    recording: Recording,
    *,
    record: bool,
    stagger: float,
    start_together: Any = None,
) -> WorkerMeasurement:
    """Run `sessions` concurrent calls in this process and measure it (call it in a fresh
    process: the baseline RSS is what the process holds before its first call).
    `start_together`: a barrier the calls wait at (several workers start at once)."""
    with tempfile.TemporaryDirectory(prefix="density-") as tmp:
        workdir = Path(tmp)
        settings = benchmark_settings(urls, workdir, record=record)
        vad_model = _prepare_process(settings)
        local = sorted(m for m in LOCAL_ENGINE_MODULES if m in sys.modules)
        proc = psutil.Process()
        gc.collect()
        baseline = proc.memory_info().rss
        peak = baseline
        done = threading.Event()

        def sample_rss() -> None:
            nonlocal peak
            while not done.wait(RSS_SAMPLE_S):
                peak = max(peak, proc.memory_info().rss)

        sampler = threading.Thread(target=sample_rss, name="rss-sampler", daemon=True)
        sampler.start()
        audio_dir = workdir / "audio" if record else None
        if audio_dir is not None:
            audio_dir.mkdir()
        threads = [
            CallThread(
                i,
                settings,
                recording,
                vad_model=vad_model,
                record_dir=audio_dir,
                start_after=i * stagger,
            )
            for i in range(sessions)
        ]
        if start_together is not None:
            start_together.wait()
        cpu0 = proc.cpu_times()
        wall0 = time.monotonic()
        for t in threads:
            t.start()
        deadline = wall0 + sessions * stagger + recording.duration + JOIN_SLACK_S
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        wall = time.monotonic() - wall0
        cpu1 = proc.cpu_times()
        done.set()
        sampler.join()
        peak = max(peak, proc.memory_info().rss)
        calls = [t.result for t in threads]
        for t, call in zip(threads, calls, strict=True):
            if t.is_alive():
                call.error = call.error or "did not finish in time"
        return WorkerMeasurement(
            sessions=sessions,
            baseline_rss=baseline,
            peak_rss=peak,
            cpu_seconds=(cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
            wall_seconds=wall,
            calls=calls,
            local_modules=local,
        )


def _worker_main(
    conn: Any, sessions: int, urls: ProviderUrls, recording: Recording, **kw: Any
) -> None:
    try:
        conn.send(measure_worker(sessions, urls, recording, **kw))
    except BaseException as e:
        conn.send(
            RuntimeError(f"worker with {sessions} session(s) failed: {type(e).__name__}: {e}")
        )
        raise
    finally:
        conn.close()


def merge(parts: list[WorkerMeasurement]) -> WorkerMeasurement:
    """Several worker processes as one machine: memory and CPU summed, calls pooled."""
    return WorkerMeasurement(
        sessions=sum(p.sessions for p in parts),
        baseline_rss=sum(p.baseline_rss for p in parts),
        peak_rss=sum(p.peak_rss for p in parts),  # each one's peak: an upper bound
        cpu_seconds=sum(p.cpu_seconds for p in parts),
        wall_seconds=max(p.wall_seconds for p in parts),
        calls=[c for p in parts for c in p.calls],
        local_modules=sorted({m for p in parts for m in p.local_modules}),
        processes=sum(p.processes for p in parts),
    )


def run_worker_processes(
    sessions: int,
    urls: ProviderUrls,
    recording: Recording,
    *,
    processes: int = 1,
    record: bool,
    stagger: float,
) -> WorkerMeasurement:
    """`measure_worker` in `processes` fresh spawned processes (workers that have taken no
    job yet) sharing the `sessions` calls, started together once all are prewarmed."""
    processes = max(1, min(processes, sessions))
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    share = [sessions // processes + (i < sessions % processes) for i in range(processes)]
    running = []
    for i, n in enumerate(share):
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker_main,
            args=(send, n, urls, recording),
            kwargs={"record": record, "stagger": stagger, "start_together": barrier},
            name=f"density-worker-{sessions}-{i}",
        )
        proc.start()
        send.close()
        running.append((proc, recv, n))
    parts: list[WorkerMeasurement] = []
    failures: list[BaseException] = []
    for proc, recv, n in running:
        try:
            got = recv.recv()
        except EOFError:
            got = RuntimeError(f"worker with {n} session(s) died (exit code {proc.exitcode})")
        proc.join(30)
        if proc.is_alive():
            proc.kill()
        if isinstance(got, BaseException):
            failures.append(got)
        else:
            parts.append(got)
    if failures:
        raise failures[0]
    return merge(parts)
