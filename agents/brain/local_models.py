"""Loading the offline models once per worker process (prewarm), so the first call does
not pay for it. Each local plugin keeps its loaded model in a process-wide cache; `prewarm()`
on a plugin object fills that cache, and the plugin objects each job builds reuse it."""

from __future__ import annotations

import asyncio
import time

from livekit.agents import llm

from ..config import Settings
from ..log import logger
from .chains import failover_profile, local_fallback_on
from .credentials import missing_keys
from .factories import LLM_FACTORIES, STT_FACTORIES, TTS_FACTORIES
from .profiles import PROFILES, BrainProfile


def wants_local_models(settings: Settings, profile: BrainProfile | None = None) -> bool:
    """True when a call may use a local engine: `profile` (a chosen brain) names one, or,
    for a worker that has not seen its calls yet, the offline brain is asked for, a stage is
    overridden to `local`, `LOCAL_FALLBACK` is on (a cascade's chains end in the local engines,
    a realtime brain fails over to them), or no keys make `local` the automatic pick. With
    `LOCAL_FALLBACK=off` a cloud brain's worker loads none of them."""
    if profile is not None:
        # a realtime brain's failover brain counts: it must not load mid-call
        brains = [profile, failover_profile(profile, settings)]
        return any(
            "local" in b.engines(stage) for b in brains if b for stage in ("stt", "llm", "tts")
        )
    stage_values = ",".join((settings.stt, settings.llm, settings.tts)).split(",")
    if settings.brain == "local" or "local" in stage_values:
        return True
    if local_fallback_on(settings):
        return True  # the cascade's chains end in them; a realtime brain fails over to them
    return all(missing_keys(PROFILES[n], settings) for n in ("cascade", "native"))


def prewarm_local_models(settings: Settings) -> dict[str, float]:
    """Load Whisper, the local LLM (and prefill its prompt), Piper and the semantic turn
    detector; returns seconds each took. Call outside an event loop (prewarm, replay's start)."""
    timings: dict[str, float] = {}
    for stage, make in (
        ("stt", lambda: STT_FACTORIES["local"](settings, False)),
        ("stt_phone", lambda: STT_FACTORIES["local"](settings, True)),
        ("llm", lambda: LLM_FACTORIES["local"](settings)),
        ("tts", lambda: TTS_FACTORIES["local"](settings)),
    ):
        t = time.perf_counter()
        engine = make()
        engine.prewarm()
        warm = getattr(engine, "warm_prompt", None)
        if warm is not None:
            # the model's fixed prompt goes into llama.cpp's KV cache now, once per process,
            # so no caller waits for a cold prefill (the cache is shared by every call)
            asyncio.run(warm(llm.ChatContext.empty(), []))
        timings[stage] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    from livekit.plugins import semantic_turn

    semantic_turn.SemanticTurnDetector()  # loads and caches the weights
    timings["turn_detector"] = round(time.perf_counter() - t, 3)
    logger.info("local models loaded", extra={"seconds": timings})
    return timings
