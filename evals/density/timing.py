"""Lateness of the replay's real-time I/O, measured by thin subclasses of `evals.replay.io`.

- `TimedRecordingInput`: caller frame k is due at `t0 + (k + 1) * 20 ms` (the moment a live
  microphone would have captured it); its lateness is when it actually reached the session
  minus that. A busy event loop (or a session task that pulls late) shows up here.
- `TimedRealtimeOutput`: within one utterance, each agent frame is due when the previous one
  has finished playing; a frame that starts later than that is a gap the caller hears (the
  TTS stream starved, or the loop woke the sink late). The first frame of an utterance has no
  due time (its wait is the turn's latency, reported separately), nor has the first frame
  after a pause (the caller talking over the agent stops the playhead on purpose).

This sink is stricter than a LiveKit room: there the frames go into the native AudioSource's
buffer, which hides a late Python wake-up of up to its queue length.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

from evals.replay.io import FRAME_MS, RealtimeAudioOutput, RecordingAudioInput

LATE_AFTER_S = 0.020
"""A frame more than this far behind its real-time due time counts as late."""


@dataclass
class Lateness:
    """Frames seen, how many were late (> `late_after` s behind) and the worst lateness."""

    late_after: float = LATE_AFTER_S
    frames: int = 0
    late: int = 0
    worst: float = 0.0
    samples: list[float] = field(default_factory=list, repr=False)

    def add(self, seconds_behind: float) -> None:
        self.frames += 1
        if seconds_behind > self.late_after:
            self.late += 1
            self.samples.append(seconds_behind)
        self.worst = max(self.worst, seconds_behind)

    def merge(self, other: Lateness) -> None:
        self.frames += other.frames
        self.late += other.late
        self.worst = max(self.worst, other.worst)
        self.samples.extend(other.samples)


class TimedRecordingInput(RecordingAudioInput):
    """`RecordingAudioInput` that records how late each frame reached the session."""

    def __init__(self, pcm: np.ndarray, sample_rate: int, *, t0: float | None = None) -> None:
        super().__init__(pcm, sample_rate, t0=t0)
        self.lateness = Lateness()
        self._delivered = 0

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await super().__anext__()
        assert self.t0 is not None  # set by the first frame at the latest
        due = self.t0 + (self._delivered + 1) * FRAME_MS / 1000
        self._delivered += 1
        self.lateness.add(time.time() - due)
        return frame


class TimedRealtimeOutput(RealtimeAudioOutput):
    """`RealtimeAudioOutput` that records gaps between consecutive frames of an utterance."""

    def __init__(self, *, sample_rate: int | None = None) -> None:
        super().__init__(sample_rate=sample_rate)
        self.lateness = Lateness()
        self._due: float | None = None  # when the next frame of this utterance should start

    def on_playback_started(self, *, created_at: float) -> None:
        self._due = None
        super().on_playback_started(created_at=created_at)

    def on_playback_progressed(self, *, started_at: float, offset: float, duration: float) -> None:
        if self._due is not None:
            self.lateness.add(started_at - self._due)
        self._due = started_at + duration
        super().on_playback_progressed(started_at=started_at, offset=offset, duration=duration)

    def on_playback_finished(
        self,
        *,
        playback_position: float,
        interrupted: bool,
        synchronized_transcript: str | None = None,
    ) -> None:
        self._due = None
        super().on_playback_finished(
            playback_position=playback_position,
            interrupted=interrupted,
            synchronized_transcript=synchronized_transcript,
        )

    def pause(self) -> None:
        self._due = None  # the playhead stops on purpose: no gap to count
        super().pause()

    def resume(self) -> None:
        self._due = None
        super().resume()


class PacingProbe:
    """An idle real-time pacer on a thread of its own (`with PacingProbe() as probe:`): the
    late frames of a process doing nothing else, on the same machine at the same time. What
    it counts is the machine's scheduling (other processes), not the calls."""

    def __init__(self) -> None:
        self.lateness = Lateness()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pacing-probe", daemon=True)

    def __enter__(self) -> PacingProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        asyncio.run(self._pace())

    async def _pace(self) -> None:
        silence = np.zeros(16000, dtype=np.int16)
        inp = TimedRecordingInput(silence, 16000)
        while not self._stop.is_set():
            await inp.__anext__()
        self.lateness = inp.lateness
