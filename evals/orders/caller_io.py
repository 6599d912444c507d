"""The simulated caller's side of the session, live and in real time.

- `CallerAudioInput` is the caller's microphone: 20 ms frames on a wall-clock schedule (as
  replay's `RecordingAudioInput` delivers them), the caller's lines when it speaks and line
  noise between them (VAD needs the silence to end a turn). On a phone call every frame first
  crosses the SIP uplink (8 kHz G.711 mu-law, `evals.replay.telephony`).
- `AgentEar` is what the caller hears: a `TextOutput` in the session's transcription slot
  (each agent utterance's text as the agent produces it) paired with `TimedPlayout`, replay's
  real-time playout that also reports when each utterance starts, how long it is once fully
  synthesised, and when it ends or is cut off.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc
from livekit.agents.voice import io

from evals.replay.io import FRAME_MS, RealtimeAudioOutput

from .voices import line_noise


@dataclass
class SpokenLine:
    text: str
    kind: str
    start: float
    """Wall time of the line's first sample."""
    end: float | None = None


class CallerAudioInput(io.AudioInput):
    def __init__(
        self,
        sample_rate: int,
        *,
        noise_db: float | None,
        rng: np.random.Generator,
        uplink: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        super().__init__(label="SimulatedCaller")
        self._rate = sample_rate
        self._spf = sample_rate * FRAME_MS // 1000
        self._noise_db = noise_db
        self._rng = rng
        self._uplink = uplink
        self._queue: deque[tuple[np.ndarray, SpokenLine, asyncio.Future[SpokenLine]]] = deque()
        self._pos = 0
        self._index = 0
        self._closed = False
        self.t0: float | None = None
        """Wall time of the first frame (set by the first read, or by the recorder)."""
        self.lines: list[SpokenLine] = []

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    def say(self, pcm: np.ndarray, text: str, kind: str) -> asyncio.Future[SpokenLine]:
        """Queue a line (int16 at the input's rate); the future resolves once its last frame
        has been delivered."""
        line = SpokenLine(text, kind, start=time.time())
        done: asyncio.Future[SpokenLine] = asyncio.get_running_loop().create_future()
        self._queue.append((pcm.astype(np.int16, copy=False), line, done))
        return done

    def close(self) -> None:
        self._closed = True

    def _next_chunk(self) -> np.ndarray:
        n = self._spf
        chunk = line_noise(n, self._noise_db, self._rng)
        if self._queue:
            pcm, line, done = self._queue[0]
            if self._pos == 0:
                line.start = time.time()
                self.lines.append(line)
            piece = pcm[self._pos : self._pos + n].astype(np.float64)
            chunk[: len(piece)] = piece  # the line carries its own noise
            self._pos += n
            if self._pos >= len(pcm):
                self._queue.popleft()
                self._pos = 0
                line.end = time.time()
                if not done.done():
                    done.set_result(line)
        return np.clip(chunk, -32768, 32767).astype(np.int16)

    async def __anext__(self) -> rtc.AudioFrame:
        if self._closed:
            for _, _, done in self._queue:
                if not done.done():
                    done.cancel()
            raise StopAsyncIteration
        if self.t0 is None:
            self.t0 = time.time()
        due = self.t0 + (self._index + 1) * FRAME_MS / 1000
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self._index += 1
        chunk = self._next_chunk()
        if self._uplink is not None:
            chunk = self._uplink(chunk)
        return rtc.AudioFrame(
            data=chunk.tobytes(),
            sample_rate=self._rate,
            num_channels=1,
            samples_per_channel=len(chunk),
        )


@dataclass
class AgentUtterance:
    """One agent speech segment as the caller hears it."""

    started_at: float
    text: str = ""
    duration: float = 0.0
    """Audio captured so far (all of it once `synthesised` is set)."""
    synthesised: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    finished_at: float | None = None
    interrupted: bool = False

    @property
    def expected_end(self) -> float:
        return self.started_at + self.duration


class TimedPlayout(RealtimeAudioOutput):
    """Replay's real-time playout, reporting each segment to `ear`."""

    def __init__(self, ear: AgentEar) -> None:
        super().__init__()
        self._ear = ear
        self._captured = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self._captured += frame.duration
        if self._ear.current is not None and not self._ear.current.synthesised.is_set():
            self._ear.current.duration = self._captured

    def flush(self) -> None:
        super().flush()
        self._ear.on_synthesised(self._captured)
        self._captured = 0.0

    def clear_buffer(self) -> None:
        super().clear_buffer()
        self._captured = 0.0

    def on_playback_started(self, *, created_at: float) -> None:
        super().on_playback_started(created_at=created_at)
        self._ear.on_started(created_at, self._captured)

    def on_playback_finished(
        self,
        *,
        playback_position: float,
        interrupted: bool,
        synchronized_transcript: str | None = None,
    ) -> None:
        super().on_playback_finished(
            playback_position=playback_position,
            interrupted=interrupted,
            synchronized_transcript=synchronized_transcript,
        )
        self._ear.on_finished(interrupted)


class AgentEar(io.TextOutput):
    """Pairs each agent utterance's text (this text output) with its audio (`playout`)."""

    def __init__(self) -> None:
        super().__init__(label="SimulatedCallerEar", next_in_chain=None)
        self.playout = TimedPlayout(self)
        self.current: AgentUtterance | None = None
        self.heard: list[AgentUtterance] = []
        self._text = ""
        self._pending_texts: deque[str] = deque()
        self.changed = asyncio.Event()
        """Set whenever an utterance starts, gets its text, or ends."""

    # ---- text (the transcription slot)
    async def capture_text(self, text: str) -> None:
        self._text += str(text)

    def flush(self) -> None:
        text, self._text = " ".join(self._text.split()), ""
        if not text:
            return
        cur = self.current
        if cur is not None and not cur.text and not cur.finished.is_set():
            cur.text = text
        else:
            self._pending_texts.append(text)
        self._notify()

    # ---- audio (from the playout)
    def on_started(self, at: float, captured: float) -> None:
        utt = AgentUtterance(started_at=at, duration=captured)
        if self._pending_texts:
            utt.text = self._pending_texts.popleft()
        self.current = utt
        self.heard.append(utt)
        self._notify()

    def on_synthesised(self, duration: float) -> None:
        if self.current is not None and not self.current.synthesised.is_set():
            self.current.duration = duration
            self.current.synthesised.set()
            self._notify()

    def on_finished(self, interrupted: bool) -> None:
        cur = self.current
        if cur is None:
            return
        cur.interrupted = interrupted
        cur.finished_at = time.time()
        cur.synthesised.set()
        cur.finished.set()
        self._notify()

    @property
    def speaking(self) -> bool:
        return self.current is not None and not self.current.finished.is_set()

    def _notify(self) -> None:
        self.changed.set()

    async def wait_change(self, timeout: float) -> bool:
        """Until something changes (True) or `timeout` passes (False)."""
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True
