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
import contextlib
import time

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
            capabilities=io.AudioOutputCapabilities(pause=False),
            sample_rate=sample_rate,
        )
        self._queue: asyncio.Queue[tuple[rtc.AudioFrame, float, float] | None] = asyncio.Queue()
        self._interrupt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._open = False  # a segment is being captured (not yet flushed or cleared)
        self._playhead = 0.0
        self._offset = 0.0
        self.total_played = 0.0

    @property
    def playing(self) -> bool:
        return self._task is not None and not self._task.done()

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        now = time.time()
        if not self._open:
            self._open = True
            self._queue = asyncio.Queue()
            self._interrupt = asyncio.Event()
            self._offset = 0.0
            self._task = asyncio.create_task(
                self._play(self._queue, self._interrupt, previous=self._task)
            )
        start = max(now, self._playhead)
        self._playhead = start + frame.duration
        self._queue.put_nowait((frame, start, self._offset))
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

    async def _play(
        self,
        queue: asyncio.Queue[tuple[rtc.AudioFrame, float, float] | None],
        interrupt: asyncio.Event,
        *,
        previous: asyncio.Task[None] | None,
    ) -> None:
        if previous is not None and not previous.done():
            await previous  # segments play one after the other, never mixed
        first = True
        played = 0.0
        interrupted = False
        interrupt_wait = asyncio.ensure_future(interrupt.wait())
        try:
            while True:
                get = asyncio.ensure_future(queue.get())
                await asyncio.wait({get, interrupt_wait}, return_when=asyncio.FIRST_COMPLETED)
                if interrupt.is_set():
                    get.cancel()
                    interrupted = True
                    break
                item = get.result()
                if item is None:
                    break
                frame, start, offset = item
                if first:
                    first = False
                    self.on_playback_started(created_at=start)
                remaining = start + frame.duration - time.time()
                if remaining > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(asyncio.shield(interrupt_wait), remaining)
                if interrupt.is_set():
                    interrupted = True
                    break
                self.on_playback_progressed(
                    started_at=start, offset=offset, duration=frame.duration
                )
                played += frame.duration
        finally:
            interrupt_wait.cancel()
            if interrupted:
                self._playhead = time.time()
            self.total_played += played
            self.on_playback_finished(playback_position=played, interrupted=interrupted)
