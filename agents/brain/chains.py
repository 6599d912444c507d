"""Per-stage fallback chains: `LLM=openai,local` becomes LiveKit's `llm.FallbackAdapter` over
both engines, in that order (the same for STT and TTS).

Knobs (Settings, documented in `.env.example` and the README):
- `FALLBACK_ATTEMPT_TIMEOUT` (2.0 s): how long an engine gets before the next is tried (the
  LLM adapter's `attempt_timeout`; the STT adapter's too; TTS uses the session's TTS
  connection timeout);
- `FALLBACK_RETRIES` (0): retries on the same engine before switching;
- when a failed engine is tried again: LiveKit's adapters mark it unavailable and probe it in
  the background (LLM: the failed request is replayed; STT/TTS: a recovery stream), and
  switch back to it as soon as a probe succeeds.

Owns: chain construction. Imports: `agents.config`, `factories`, livekit.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from livekit.agents import llm, stt, tts, vad

from ..config import Settings
from .credentials import missing_keys
from .factories import LLM_FACTORIES, STT_FACTORIES, TTS_FACTORIES, local_whisper_model
from .profiles import PROFILES, BrainProfile
from .stt_watchdog import AudioBacklog, WatchedSTT

STT_STALL_S = 1.5
"""A streaming STT silent this long while the caller speaks is treated as down."""
LOCAL_ENGINE_MODULES = (
    "livekit.plugins.fasterwhisper",
    "livekit.plugins.llamacpp",
    "livekit.plugins.piper",
)


def local_engines_installed() -> bool:
    """The offline engines' plugins are importable (a cloud-only install has none)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in LOCAL_ENGINE_MODULES)
    except ImportError:  # a namespace that is missing, or a finder that refuses it
        return False


def local_fallback_on(settings: Settings) -> bool:
    """`LOCAL_FALLBACK`: `on`, `off`, or `auto` = on when the local engines are installed."""
    if settings.local_fallback == "auto":
        return local_engines_installed()
    return settings.local_fallback == "on"


def failover_profile(profile: BrainProfile, settings: Settings) -> BrainProfile | None:
    """Where a realtime brain's call goes when the realtime model fails: the cascade when
    its keys are present, else the local brain (`LOCAL_FALLBACK` on), else nowhere. The
    telephony variant carries over."""
    if profile.realtime is None:
        return None
    target: BrainProfile | None = None
    if not missing_keys(PROFILES["cascade"], settings):
        target = PROFILES["cascade"]
        if local_fallback_on(settings):
            target = target.with_local_fallback()
    elif local_fallback_on(settings):
        target = PROFILES["local"]
    if target is not None and profile.telephony:
        target = target.for_telephony()
    return target


class ChainLLM(llm.FallbackAdapter):
    """LiveKit's LLM fallback adapter, plus the prompt warm-up of the engines that have one
    (the local LLM pre-computes its KV cache while the greeting plays, so a failover turn
    does not pay a cold prefill)."""

    async def warm_prompt(self, chat_ctx: llm.ChatContext, tools: list[Any] | None = None) -> None:
        for engine in self._llm_instances:
            warm = getattr(engine, "warm_prompt", None)
            if warm is not None:
                await warm(chat_ctx, tools)


def build_llm(names: tuple[str, ...], settings: Settings) -> llm.LLM:
    engines = [LLM_FACTORIES[n](settings) for n in names]
    if len(engines) == 1:
        return engines[0]
    return ChainLLM(
        engines,
        attempt_timeout=settings.fallback_attempt_timeout,
        max_retry_per_llm=settings.fallback_retries,
        # a reply cut mid-stream is answered again by the next engine: the caller hears a
        # restart, never silence
        retry_on_chunk_sent=True,
    )


def build_stt(
    names: tuple[str, ...], settings: Settings, *, telephony: bool, vad_model: vad.VAD | None
) -> stt.STT:
    engines = [STT_FACTORIES[n](settings, telephony) for n in names]
    if vad_model is not None:
        # the local Whisper: transcribed early when the caller pauses (speculative_stt)
        engines = [
            speculative_stt(e, vad_model, settings, telephony=telephony) if n == "local" else e
            for n, e in zip(names, engines, strict=True)
        ]
    if len(engines) == 1:
        return engines[0]
    if vad_model is None:
        raise ValueError("an STT chain needs the VAD (it segments a non-streaming engine)")
    backlog = AudioBacklog()
    watched: list[stt.STT] = []
    for i, engine in enumerate(engines):
        if not engine.capabilities.streaming:  # Whisper: segmented by the VAD
            engine = stt.StreamAdapter(stt=engine, vad=vad_model)
        last = i == len(engines) - 1
        # a stall is only detectable on an engine that streams answers as the caller talks
        timeout = None if last or not engine.capabilities.interim_results else STT_STALL_S
        watched.append(WatchedSTT(engine, backlog=backlog, timeout=timeout))
    return stt.FallbackAdapter(
        watched,
        vad=vad_model,
        attempt_timeout=settings.fallback_attempt_timeout,
        max_retry_per_stt=settings.fallback_retries,
    )


def speculative_stt(
    engine: stt.STT, vad_model: vad.VAD, settings: Settings, *, telephony: bool
) -> stt.STT:
    """The local (non-streaming) Whisper as a streaming STT over the VAD. Where
    `LOCAL_STT_SPECULATE` asks for it (`all`, the default: both legs; `wideband`: 16 kHz
    callers, and the phone leg only when its Whisper is tiny.en, `LOCAL_PHONE_STT`) a
    segment is transcribed in the background once the caller pauses and used when only
    silence followed (`fasterwhisper.SpeculativeSTT`); elsewhere (and with `off`)
    LiveKit's `StreamAdapter`, transcribing after the VAD's end of speech only. Measured
    (docs/latency.md): faster with tiny.en; with the phone leg's Whisper base 85 ms sooner
    at low load (its stale passes held the cores on a busy box, hence `wideband`)."""
    if engine.capabilities.streaming:
        return engine
    mode = settings.local_stt_speculate
    # None = tiny.en: a pass short enough to fit in the caller's pauses
    phone_not_tiny = telephony and local_whisper_model(settings, telephony=True) is not None
    if mode == "off" or (mode == "wideband" and phone_not_tiny):
        return stt.StreamAdapter(stt=engine, vad=vad_model)
    from livekit.plugins import fasterwhisper

    return fasterwhisper.SpeculativeSTT(stt=engine, vad=vad_model)


def build_tts(names: tuple[str, ...], settings: Settings) -> tts.TTS:
    engines = [TTS_FACTORIES[n](settings) for n in names]
    if len(engines) == 1:
        return engines[0]
    return tts.FallbackAdapter(engines, max_retry_per_tts=settings.fallback_retries)
