"""Room-less session I/O for replaying a recorded call in real time.

- `RecordingAudioInput` delivers the caller's audio in 20 ms frames on a wall-clock schedule
  (a live microphone delivers each frame once it has been captured), then keeps yielding
  silence so VAD and the turn detector see the caller stop speaking.
- `RealtimeAudioOutput` plays the agent's audio against a virtual playhead: each frame is
  "heard" once its real duration has passed, barge-in (`clear_buffer`) cuts it, and it reports
  playback started / progressed / finished exactly as a room track would, so the session's
  state machine, interruption handling and latency metrics behave as in a live call.

Both are hand-written because LiveKit ships no file-backed real-time I/O (its console I/O is
bound to a sound card).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents.voice import io

FRAME_MS = 20


class RecordingAudioInput(io.AudioInput):
    def __init__(self, pcm: np.ndarray, sample_rate: int, *, t0: float | None = None) -> None:
        super().__init__(label="ReplayRecording")
        self._pcm = pcm.astype(np.int16, copy=False)
        self._rate = sample_rate
        self._spf = sample_rate * FRAME_MS // 1000
        self._index = 0
        self._closed = False
        self.t0 = t0
        """Wall time of sample 0 on the recording's timeline (set at the first frame if None)."""
        self.finished = asyncio.Event()
        """Set once the last frame of the recording has been delivered."""

    @property
    def duration(self) -> float:
        return len(self._pcm) / self._rate

    def close(self) -> None:
        self._closed = True

    async def __anext__(self) -> rtc.AudioFrame:
        if self._closed:
            raise StopAsyncIteration
        if self.t0 is None:
            self.t0 = time.time()
        start = self._index * self._spf
        # deliver frame k once its 20 ms have "been captured"
        due = self.t0 + (self._index + 1) * self._spf / self._rate
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self._index += 1
        chunk = self._pcm[start : start + self._spf]
        if start + self._spf >= len(self._pcm):
            self.finished.set()
        if len(chunk) < self._spf:
            chunk = np.concatenate([chunk, np.zeros(self._spf - len(chunk), dtype=np.int16)])
        return rtc.AudioFrame(
            data=chunk.tobytes(),
            sample_rate=self._rate,
            num_channels=1,
            samples_per_channel=self._spf,
        )


class RealtimeAudioOutput(io.AudioOutput):
    def __init__(self, *, sample_rate: int | None = None) -> None:
        super().__init__(
            label="ReplayPlayout",
            capabilities=io.AudioOutputCapabilities(pause=True),
            sample_rate=sample_rate,
        )
        self._queue: asyncio.Queue[tuple[rtc.AudioFrame, float] | None] = asyncio.Queue()
        self._interrupt = asyncio.Event()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._paused = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._open = False  # a segment is being captured (not yet flushed or cleared)
        self._clock = 0.0  # wall time at which the audio played so far ends
        self._offset = 0.0
        self.total_played = 0.0

    @property
    def playing(self) -> bool:
        return self._task is not None and not self._task.done()

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if not self._open:
            self._open = True
            self._queue = asyncio.Queue()
            self._interrupt = asyncio.Event()
            self._offset = 0.0
            self._task = asyncio.create_task(
                self._play(self._queue, self._interrupt, previous=self._task)
            )
        self._queue.put_nowait((frame, self._offset))
        self._offset += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._open:
            self._open = False
            self._queue.put_nowait(None)

    def clear_buffer(self) -> None:
        self._open = False
        if self.playing:
            self._interrupt.set()

    def pause(self) -> None:
        super().pause()
        self._resumed.clear()
        self._paused.set()

    def resume(self) -> None:
        super().resume()
        self._paused.clear()
        self._resumed.set()

    async def _until(self, deadline: float, interrupt: asyncio.Event) -> bool:
        """Let `deadline` (wall time) pass while playing; a pause stops the clock and pushes
        the deadline back by its length. False if interrupted."""
        while not interrupt.is_set():
            if not self._resumed.is_set():
                paused_at = time.time()
                await _first(self._resumed.wait(), interrupt.wait())
                deadline += time.time() - paused_at
                self._clock += time.time() - paused_at
                continue
            remaining = deadline - time.time()
            if remaining <= 0:
                return True
            await _first(interrupt.wait(), self._paused.wait(), timeout=remaining)
        return False

    async def _play(
        self,
        queue: asyncio.Queue[tuple[rtc.AudioFrame, float] | None],
        interrupt: asyncio.Event,
        *,
        previous: asyncio.Task[None] | None,
    ) -> None:
        if previous is not None and not previous.done():
            await previous  # segments play one after the other, never mixed
        first = True
        played = 0.0
        interrupted = False
        try:
            while True:
                got = await _first(queue.get(), interrupt.wait())
                if interrupt.is_set():
                    interrupted = True
                    break
                if got is None:
                    break
                frame, offset = got
                begin = max(self._clock, time.time())
                if first:
                    first = False
                    self.on_playback_started(created_at=begin)
                self._clock = begin + frame.duration
                if not await self._until(self._clock, interrupt):
                    interrupted = True
                    break
                self.on_playback_progressed(
                    started_at=begin, offset=offset, duration=frame.duration
                )
                played += frame.duration
        finally:
            if interrupted:
                self._clock = time.time()
            self.total_played += played
            self.on_playback_finished(playback_position=played, interrupted=interrupted)


async def _first(*aws: Any, timeout: float | None = None) -> Any:
    """Await whichever finishes first (others cancelled); its result, or None on timeout."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
    for t in tasks:
        if t in done and not t.cancelled():
            return t.result()
    return None
