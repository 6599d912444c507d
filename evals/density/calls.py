"""One benchmark call, run as LiveKit's thread executor runs a job: a thread of its own with
its own event loop (`ipc/job_thread_executor.py` -> `job_proc_lazy_main.thread_main`), in the
worker process, sharing that process's prewarmed Silero VAD.

The call is what a live job builds (`agents.call.open_call`) with the caller's recording
paced in real time and a real-time sink (the wiring of `evals.replay.run.play_into_session`,
with the timed I/O of `evals.density.timing`), recorded as the worker records a call
(`RecorderIO`, stereo Opus) when `record` is on.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit.agents import utils, vad
from livekit.agents.voice.recorder_io import RecorderIO

from agents.brain import choose_brain
from agents.call import open_call
from agents.config import Settings
from agents.side_channel import turn_latencies
from evals.replay.recording import Recording
from evals.replay.run import _wait_until_done

from .timing import Lateness, TimedRealtimeOutput, TimedRecordingInput


@dataclass
class CallResult:
    index: int
    seconds: float = 0.0
    """Wall time from the call's start (open_call) to its end (session closed)."""
    input_lateness: Lateness = field(default_factory=Lateness)
    output_lateness: Lateness = field(default_factory=Lateness)
    turns: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


async def run_call(
    index: int,
    settings: Settings,
    recording: Recording,
    *,
    vad_model: vad.VAD,
    record_dir: Path | None,
) -> CallResult:
    result = CallResult(index)
    started = time.monotonic()
    call = await open_call(settings, choose_brain(settings), vad_model=vad_model)
    session = call.session
    inp = TimedRecordingInput(recording.pcm, recording.sample_rate)
    out = TimedRealtimeOutput()
    recorder: RecorderIO | None = None
    if record_dir is not None:
        recorder = RecorderIO(agent_session=session)
        session.input.audio = recorder.record_input(inp)
        session.output.audio = recorder.record_output(out)
        await recorder.start(output_path=record_dir / f"call-{index}.ogg")
    else:
        session.input.audio = inp
        session.output.audio = out
    # inp.t0 stays unset: the caller's clock starts when the session first listens, so the
    # frames "captured" while the session was still starting are no backlog counted as late
    closed = asyncio.Event()
    session.on("close", lambda _: closed.set())
    try:
        # provider plugins need an HTTP session; a LiveKit job opens one per job, as here
        async with utils.http_context.open():
            try:
                await session.start(agent=call.agent)
                await _wait_until_done(session, inp, closed)
            finally:
                inp.close()
                await session.aclose()
                if recorder is not None:
                    await recorder.aclose()
        result.turns = turn_latencies(session.history, inp.t0 or time.time())
    finally:
        if call.record is not None:
            call.record.end("recording_ended")
        await call.aclose()
    result.seconds = time.monotonic() - started
    result.input_lateness = inp.lateness
    result.output_lateness = out.lateness
    return result


class CallThread(threading.Thread):
    """A call on a thread with its own event loop, as `JobExecutorType.THREAD` runs a job."""

    def __init__(
        self,
        index: int,
        settings: Settings,
        recording: Recording,
        *,
        vad_model: vad.VAD,
        record_dir: Path | None,
        start_after: float = 0.0,
    ) -> None:
        super().__init__(name=f"job_thread_runner-{index}", daemon=True)
        self._args = (index, settings, recording)
        self._vad = vad_model
        self._record_dir = record_dir
        self._start_after = start_after
        self.result = CallResult(index)

    def run(self) -> None:
        index, settings, recording = self._args
        time.sleep(self._start_after)  # calls arrive one after another, not in one instant
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self.result = loop.run_until_complete(
                run_call(
                    index, settings, recording, vad_model=self._vad, record_dir=self._record_dir
                )
            )
        except Exception as e:  # reported in the table, not raised on a worker thread
            self.result = CallResult(index, error=f"{type(e).__name__}: {e}")
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
