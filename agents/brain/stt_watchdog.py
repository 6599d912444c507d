"""Two things LiveKit's `stt.FallbackAdapter` cannot see, for a streaming STT in a chain:

1. a provider that stays connected but stops answering (a stall, or frames the plugin cannot
   parse): no error is ever raised, so the adapter never switches and the caller's turn is
   never heard. `WatchedSTT` raises `APIConnectionError` when the caller has been speaking
   (loud audio) for `timeout` seconds with no event at all from the engine;
2. the words spoken before a switch: the adapter feeds the next engine only the audio that
   comes after the failure, so the caller's sentence in progress is lost. Every engine of
   a chain shares one `AudioBacklog` (the audio since the last final transcript, bounded)
   and a stream that takes over starts from it.

No library does this (the adapter's stream is internal), hence a small wrapper.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterable

import numpy as np
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    stt,
)
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from .wrapped_stt import WrappedSTT

LOUD_RMS = 500.0
"""int16 RMS of a 10-20 ms frame counted as the caller speaking (speech is ~1000-5000)."""
MIN_LOUD_S = 0.3
"""Loud audio since the engine's last event before its silence counts as a stall."""
BACKLOG_S = 15.0
CLOSE_WAIT_S = 0.5


class AudioBacklog:
    """The audio of the utterance in progress, shared by the engines of one chain."""

    def __init__(self, max_seconds: float = BACKLOG_S) -> None:
        self._frames: collections.deque[rtc.AudioFrame] = collections.deque()
        self._seconds = 0.0
        self._max = max_seconds

    def push(self, frame: rtc.AudioFrame) -> None:
        self._frames.append(frame)
        self._seconds += frame.duration
        while self._seconds > self._max and self._frames:
            self._seconds -= self._frames.popleft().duration

    def clear(self) -> None:
        self._frames.clear()
        self._seconds = 0.0

    def frames(self) -> list[rtc.AudioFrame]:
        return list(self._frames)


def _rms(frame: rtc.AudioFrame) -> float:
    samples = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


class WatchedSTT(WrappedSTT):
    """`inner` (a streaming STT), with a stall watchdog (`timeout`, None = off) and the
    chain's shared backlog."""

    def __init__(
        self, inner: stt.STT, *, backlog: AudioBacklog, timeout: float | None = None
    ) -> None:
        super().__init__(inner)
        self._backlog = backlog
        self._timeout = timeout

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return _WatchedStream(self, language=language, conn_options=conn_options)


class _WatchedStream(stt.RecognizeStream):
    def __init__(
        self,
        watched: WatchedSTT,
        *,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(stt=watched, conn_options=conn_options, sample_rate=NOT_GIVEN)
        self._watched = watched
        self._language = language

    async def _metrics_monitor_task(self, event_aiter: AsyncIterable[stt.SpeechEvent]) -> None:
        # the watched engine's own stream reports its usage (WrappedSTT forwards it); the
        # RECOGNITION_USAGE events passing through here counted again would bill its audio
        # twice (as LiveKit's own FallbackAdapter stream does, count nothing here)
        async for _ in event_aiter:
            pass

    async def _run(self) -> None:
        w = self._watched
        inner = w._inner.stream(language=self._language, conn_options=self._conn_options)
        loud_since_event = 0.0
        stall_clock: float | None = None
        """When the caller had spoken MIN_LOUD_S with no event from the engine since."""

        def feed(frame: rtc.AudioFrame) -> None:
            nonlocal loud_since_event, stall_clock
            try:
                inner.push_frame(frame)
            except RuntimeError:  # the engine closed its own stream: it has failed
                raise APIConnectionError(f"{w.label}: stream closed", retryable=False) from None
            if _rms(frame) >= LOUD_RMS:
                loud_since_event += frame.duration
                if stall_clock is None and loud_since_event >= MIN_LOUD_S:
                    stall_clock = time.monotonic()

        async def forward_audio() -> None:
            for frame in w._backlog.frames():  # the sentence a failed engine did not finish
                feed(frame)
            async for item in self._input_ch:
                if isinstance(item, rtc.AudioFrame):
                    w._backlog.push(item)
                    feed(item)
                else:
                    inner.flush()
            with contextlib.suppress(RuntimeError):
                inner.end_input()

        async def forward_events() -> None:
            nonlocal loud_since_event, stall_clock
            async for ev in inner:
                if ev.type != stt.SpeechEventType.RECOGNITION_USAGE:  # made by the plugin
                    loud_since_event, stall_clock = 0.0, None
                if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                    w._backlog.clear()  # heard: nothing to hand over any more
                self._event_ch.send_nowait(ev)

        async def watchdog(timeout: float) -> None:
            while True:
                await asyncio.sleep(0.1)
                if stall_clock is not None and time.monotonic() - stall_clock > timeout:
                    raise APIConnectionError(
                        f"{w.label}: no answer to {loud_since_event:.1f} s of speech "
                        f"within {timeout:.1f} s (stalled)",
                        retryable=False,
                    )

        events = asyncio.create_task(forward_events())
        helpers = {asyncio.create_task(forward_audio())}
        if w._timeout is not None:
            helpers.add(asyncio.create_task(watchdog(w._timeout)))
        try:
            while not events.done():
                done, _ = await asyncio.wait(
                    {events, *helpers}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done - {events}:
                    helpers.discard(task)
                    task.result()  # the stall, or a failure to feed the engine
            events.result()
        finally:
            for task in (events, *helpers):
                task.cancel()
            # a stalled provider may never acknowledge the close: do not wait on it
            with contextlib.suppress(Exception):
                await asyncio.wait_for(inner.aclose(), CLOSE_WAIT_S)
