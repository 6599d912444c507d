"""Speculative early transcription: a streaming STT over a non-streaming one plus a VAD.

Shaped like LiveKit's ``stt.StreamAdapter`` (the VAD segments the caller's audio, the
wrapped STT transcribes each segment), with one difference. As soon as the caller pauses
inside a segment (``SpeculationOptions.after_silence`` of VAD silence, well before the VAD's
own end-of-speech silence), the segment so far is transcribed in the background. When the
VAD then ends the segment and nothing but silence followed the audio that pass covered, its
transcript is the segment's final transcript at once; when the caller spoke again after it,
the pass is stale and its result is dropped (the segment is transcribed as ``StreamAdapter``
would, with the later words in it).

CPU: at most one pass runs at a time per stream (Whisper already uses the cores). A pause
that comes while a stale pass runs waits for it; a pass cannot be stopped once the engine
runs it, so the stale one finishes and its result is ignored.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    stt,
    utils,
    vad,
)
from livekit.agents.stt.stream_adapter import DEFAULT_STREAM_ADAPTER_API_CONNECT_OPTIONS
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from .log import logger

if TYPE_CHECKING:
    from livekit.agents.voice.events import ConversationItemAddedEvent


@dataclass(frozen=True)
class SpeculationOptions:
    """When a background pass starts. Defaults chosen by measurement (docs/latency.md)."""

    enabled: bool = True
    """False = exactly ``stt.StreamAdapter``: transcribe only after the VAD's end of speech."""
    after_silence: float = 0.1
    """Seconds of VAD silence inside a segment that start a background pass (default 0.1 s).
    Must be shorter than the VAD's own end-of-speech silence, or the pass would never start
    before it."""
    min_speech: float = 0.25
    """A segment with less speech than this (seconds) is not transcribed early (a cough, a
    one-syllable blip: the end-of-speech pass is cheap and usually not needed)."""
    pad_silence: float = 0.2
    """Seconds of silence appended to a background pass's audio, so Whisper hears the words
    end as the end-of-speech pass would (the VAD's 0.3 s of silence, 0.1 s of it already in
    the pass). Without it, measured: more errors on the same utterances (docs/latency.md)."""

    def validate(self, *, vad_silence: float | None = None) -> None:
        """Raise ``ValueError`` naming the option that is out of range. ``vad_silence``: the
        VAD's end-of-speech silence, when known, which ``after_silence`` must stay under."""
        if not isinstance(self.enabled, bool):
            raise ValueError(f"enabled must be True or False, got {self.enabled!r}")
        if not self.after_silence > 0:
            raise ValueError(
                f"after_silence must be > 0 seconds of silence, got {self.after_silence!r}"
            )
        if self.min_speech < 0:
            raise ValueError(f"min_speech must be >= 0 seconds, got {self.min_speech!r}")
        if not 0 <= self.pad_silence <= 5:
            raise ValueError(
                f"pad_silence must be between 0 and 5 seconds, got {self.pad_silence!r}"
            )
        if vad_silence is not None and self.enabled and self.after_silence >= vad_silence:
            raise ValueError(
                f"after_silence ({self.after_silence:g} s) must be shorter than the VAD's "
                f"end-of-speech silence ({vad_silence:g} s): the pass would start after the "
                "segment ended"
            )


@dataclass
class SpeculationStats:
    """Counts over a stream's life (or an STT's, summed over its streams)."""

    segments: int = 0
    """Segments the VAD ended."""
    passes: int = 0
    """Background passes started."""
    used: int = 0
    """Segments whose final transcript came from a background pass."""
    stale: int = 0
    """Background passes (running, or waiting for the engine) dropped because the caller
    spoke again after the audio they had."""


def vad_end_silence(vad_model: vad.VAD) -> float | None:
    """The VAD's end-of-speech silence when it says it (Silero: ``min_silence_duration``)."""
    opts = getattr(vad_model, "_opts", None)
    value = getattr(opts, "min_silence_duration", None)
    return float(value) if isinstance(value, (int, float)) else None


class SpeculativeSTT(stt.STT):
    def __init__(
        self,
        *,
        stt: stt.STT,
        vad: vad.VAD,
        options: SpeculationOptions | None = None,
    ) -> None:
        """A streaming STT over a non-streaming one (``fasterwhisper.STT``, or a wrapper of
        it) and a VAD, transcribing a segment early when the caller pauses.

        Args:
            stt: the non-streaming STT that transcribes each segment.
            vad: segments the audio (Silero in the suite).
            options: when to start a background pass; ``SpeculationOptions()`` by default.

        Raises:
            ValueError: ``stt`` streams already, or an option is out of range.
        """
        if stt.capabilities.streaming:
            raise ValueError(
                f"stt: {stt.label} streams already; SpeculativeSTT wraps a non-streaming STT"
            )
        options = options if options is not None else SpeculationOptions()
        if not isinstance(options, SpeculationOptions):
            raise ValueError(f"options must be a SpeculationOptions, got {type(options).__name__}")
        options.validate(vad_silence=vad_end_silence(vad))
        super().__init__(capabilities=_capabilities(stt))
        self._stt = stt
        self._vad = vad
        self._opts = options
        self.stats = SpeculationStats()
        """Summed over every stream of this STT."""
        self._stt.on("metrics_collected", self._on_metrics_collected)

    @property
    def wrapped_stt(self) -> stt.STT:
        return self._stt

    @property
    def options(self) -> SpeculationOptions:
        return self._opts

    @property
    def model(self) -> str:
        return self._stt.model

    @property
    def provider(self) -> str:
        return self._stt.provider

    def prewarm(self) -> None:
        self._stt.prewarm()

    def _push_conversation_item(self, ev: ConversationItemAddedEvent) -> None:
        self._stt._push_conversation_item(ev)  # the wrapped engine's prompt follows the call

    def _on_metrics_collected(self, *args: Any, **kwargs: Any) -> None:
        self.emit("metrics_collected", *args, **kwargs)

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        return await self._stt.recognize(
            buffer=buffer, language=language, conn_options=conn_options
        )

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeculativeRecognizeStream:
        return SpeculativeRecognizeStream(
            self, language=language, wrapped_conn_options=conn_options
        )

    async def aclose(self) -> None:
        self._stt.off("metrics_collected", self._on_metrics_collected)


def _capabilities(inner: stt.STT) -> stt.STTCapabilities:
    return stt.STTCapabilities(
        streaming=True,
        interim_results=False,
        diarization=False,
        keyterms=inner.capabilities.keyterms,
        chat_context=inner.capabilities.chat_context,
    )


@dataclass
class _Pass:
    samples: int
    """Input samples (of the segment) the pass transcribes."""
    task: asyncio.Task[stt.SpeechEvent] | None = None
    stale: bool = False


class SpeculativeRecognizeStream(stt.RecognizeStream):
    def __init__(
        self,
        owner: SpeculativeSTT,
        *,
        language: NotGivenOr[str],
        wrapped_conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(stt=owner, conn_options=DEFAULT_STREAM_ADAPTER_API_CONNECT_OPTIONS)
        self._owner = owner
        self._language = language
        self._wrapped_conn_options = wrapped_conn_options
        self.stats = SpeculationStats()
        # the segment the VAD is in: its audio so far and the state of speculation
        self._in_speech = False
        self._frames: list[rtc.AudioFrame] = []
        self._samples = 0
        self._silence_s = 0.0  # VAD silence since the last speech window (lags one window)
        self._candidate: _Pass | None = None  # the latest pass wanted for this segment
        self._running: asyncio.Task[stt.SpeechEvent] | None = None  # at most one at a time

    async def _metrics_monitor_task(self, event_aiter: Any) -> None:
        async for _ in event_aiter:  # the wrapped STT reports its own metrics
            pass

    async def _run(self) -> None:
        vad_stream = self._owner._vad.stream()

        async def _forward_input() -> None:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    vad_stream.flush()
                    continue
                vad_stream.push_frame(item)
            vad_stream.end_input()

        async def _recognize() -> None:
            async for event in vad_stream:
                await self._on_vad_event(event)

        tasks = [
            asyncio.create_task(_forward_input(), name="speculative_forward_input"),
            asyncio.create_task(_recognize(), name="speculative_recognize"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            await utils.aio.cancel_and_wait(*tasks)
            if self._running is not None:
                self._running.cancel()  # its thread ends on its own; nobody waits for it
            await vad_stream.aclose()

    async def _on_vad_event(self, event: vad.VADEvent) -> None:
        if event.type == vad.VADEventType.START_OF_SPEECH:
            self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.START_OF_SPEECH))
            self._in_speech = True
            self._frames = list(event.frames)  # the VAD's buffer: prefix padding + speech
            self._samples = sum(f.samples_per_channel for f in self._frames)
            self._silence_s = 0.0
            self._candidate = None
        elif event.type == vad.VADEventType.INFERENCE_DONE:
            if self._in_speech:
                self._on_window(event)
        elif event.type == vad.VADEventType.END_OF_SPEECH:
            self._in_speech = False
            await self._end_of_speech(event)

    def _on_window(self, event: vad.VADEvent) -> None:
        self._frames.extend(event.frames)
        self._samples += sum(f.samples_per_channel for f in event.frames)
        silence = event.raw_accumulated_silence
        if silence < self._silence_s and self._candidate is not None and not self._candidate.stale:
            # the window before this one was speech: a pass on older audio is stale
            self._candidate.stale = True
            self.stats.stale += 1
            self._owner.stats.stale += 1
        self._silence_s = silence
        opts = self._owner._opts
        if (
            opts.enabled
            and silence >= opts.after_silence
            and event.speech_duration - silence >= opts.min_speech
            and (self._candidate is None or self._candidate.stale)
        ):
            self._candidate = _Pass(samples=self._samples)
            self._start_candidate()

    def _start_candidate(self) -> None:
        cand = self._candidate
        if cand is None or cand.stale or cand.task is not None:
            return
        if self._running is not None and not self._running.done():
            return  # one pass at a time: started when the running one ends (if still wanted)
        audio = _take(self._frames, cand.samples, pad=self._owner._opts.pad_silence)
        cand.task = asyncio.create_task(self._transcribe(audio), name="speculative_pass")
        self._running = cand.task
        cand.task.add_done_callback(self._on_pass_done)
        self.stats.passes += 1
        self._owner.stats.passes += 1

    def _on_pass_done(self, task: asyncio.Task[stt.SpeechEvent]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # a stale pass's failure is nobody's business; a used one's is handled at the
            # end of speech (the segment is transcribed again)
            logger.debug("speculative pass failed", exc_info=task.exception())
        self._start_candidate()

    async def _transcribe(self, audio: rtc.AudioFrame) -> stt.SpeechEvent:
        return await self._owner._stt.recognize(
            buffer=audio, language=self._language, conn_options=self._wrapped_conn_options
        )

    async def _end_of_speech(self, event: vad.VADEvent) -> None:
        speech_end_time = time.time() - event.silence_duration - event.inference_duration
        self._event_ch.send_nowait(
            stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH, speech_end_time=speech_end_time)
        )
        self.stats.segments += 1
        self._owner.stats.segments += 1
        cand, self._candidate = self._candidate, None
        result: stt.SpeechEvent | None = None
        if cand is not None and not cand.stale and cand.task is not None:
            try:
                result = await asyncio.shield(cand.task)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the end-of-speech pass below transcribes it again
                logger.warning("speculative pass failed; transcribing the segment", exc_info=e)
            else:
                self.stats.used += 1
                self._owner.stats.used += 1
        if result is None:
            running = self._running
            if running is not None and not running.done():
                # a stale pass still holds the engine: one pass at a time
                await asyncio.wait([running])
            result = await self._owner._stt.recognize(
                buffer=utils.merge_frames(event.frames),
                language=self._language,
                conn_options=self._wrapped_conn_options,
            )
        self._frames = []
        self._samples = 0
        if not result.alternatives or not result.alternatives[0].text:
            return
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                alternatives=[result.alternatives[0]],
                speech_end_time=(
                    result.speech_end_time
                    if result.speech_end_time is not None
                    else speech_end_time
                ),
            )
        )


def _take(frames: list[rtc.AudioFrame], samples: int, *, pad: float = 0.0) -> rtc.AudioFrame:
    """The first `samples` samples of `frames` as one frame, `pad` seconds of digital
    silence after them."""
    merged = rtc.combine_audio_frames(frames)
    ch = merged.num_channels
    n = min(samples, merged.samples_per_channel)
    extra = int(pad * merged.sample_rate)
    data = bytes(memoryview(merged.data).cast("B")[: n * ch * 2]) + bytes(extra * ch * 2)
    return rtc.AudioFrame(data, merged.sample_rate, ch, n + extra)
