"""Assembly: a chosen `BrainProfile` turned into live plugin objects for `AgentSession`.

Owns: `Brain` and `build_brain`. Imports: `profiles`, `credentials`, `factories`, config.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from livekit.agents import llm, stt, tts, vad
from livekit.agents.llm import LLM, RealtimeModel

from ..config import ConfigError, Settings
from .chains import build_llm, build_stt, build_tts
from .credentials import PROVIDER_READY, missing_keys
from .factories import LLM_FACTORIES, make_turn_detection, openai_llm, openai_realtime
from .profiles import SILERO_ACTIVATION, SILERO_SILENCE, BrainProfile


def silero_vad(min_silence: float, activation: float = SILERO_ACTIVATION) -> vad.VAD:
    """Silero VAD ending a speech segment after `min_silence` seconds and starting one when
    the speech probability reaches `activation`, loaded once per process per setting (a VAD
    object serves any number of sessions, as the worker's prewarmed one does)."""
    return _silero_vad(float(min_silence), float(activation))


@functools.cache
def _silero_vad(min_silence: float, activation: float) -> vad.VAD:
    from livekit.plugins import silero

    return silero.VAD.load(min_silence_duration=min_silence, activation_threshold=activation)


@dataclass
class Brain:
    """A profile turned into live plugin objects, ready for `AgentSession(**brain.session_kwargs())`."""

    profile: BrainProfile
    stt: stt.STT | None
    llm: LLM | RealtimeModel
    tts: tts.TTS | None
    vad: vad.VAD | None
    turn_detection: Any
    reasoner: LLM | None = None

    @property
    def audio_tap(self) -> Any:
        """Where the caller's audio must be copied for the turn detector, if it wants it."""
        return getattr(self.turn_detection, "tap", None)

    def agent_engines(self) -> dict[str, Any]:
        """The same engines as `Agent(...)` overrides: how a call switches brains mid-way
        (`agents.resilience.failover`) while the session and its audio stay."""
        kwargs = self.session_kwargs()
        return {
            "stt": self.stt,
            "llm": self.llm,
            "tts": self.tts,
            "vad": self.vad,
            "turn_handling": kwargs["turn_handling"],
        }

    def session_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "llm": self.llm,
            "turn_handling": {
                "turn_detection": self.turn_detection,
                "endpointing": {
                    "min_delay": self.profile.endpointing.min_delay,
                    "max_delay": self.profile.endpointing.max_delay,
                },
            },
        }
        for key in ("stt", "tts", "vad"):
            value = getattr(self, key)
            if value is not None:
                kwargs[key] = value
        return kwargs


def build_brain(
    profile: BrainProfile,
    settings: Settings,
    *,
    vad_model: vad.VAD | None = None,
) -> Brain:
    """Instantiate the plugins a profile names. `vad_model` is the process-wide Silero VAD
    loaded in prewarm (loaded here when not given)."""
    missing = missing_keys(profile, settings)
    if missing:
        raise ConfigError(f"brain {profile.name!r} needs {', '.join(missing)}")

    needs_vad = profile.vad and not (profile.realtime and profile.turn_detector == "realtime")
    if needs_vad and (vad_model is None or profile.vad_silence != SILERO_SILENCE):
        # the process-wide VAD (prewarm) has Silero's default silence; another one is loaded
        # once per process and shared by every call that asks for it
        vad_model = silero_vad(profile.vad_silence)

    if profile.realtime:
        server_turns = profile.turn_detector == "realtime"
        model: llm.LLM | llm.RealtimeModel = openai_realtime(settings, server_turns=server_turns)
        # our own turn detector on a realtime model needs a transcript: session STT
        stt_names = profile.engines("stt") or (
            ("deepgram",) if PROVIDER_READY["deepgram"](settings) else ("local",)
        )
        stt_plugin = (
            None
            if server_turns
            else build_stt(stt_names, settings, telephony=profile.telephony, vad_model=vad_model)
        )
        tts_plugin = None
    else:
        assert profile.llm and profile.stt and profile.tts, profile
        model = build_llm(profile.engines("llm"), settings)
        stt_plugin = build_stt(
            profile.engines("stt"), settings, telephony=profile.telephony, vad_model=vad_model
        )
        tts_plugin = build_tts(profile.engines("tts"), settings)

    reasoner = None
    if profile.reasoner:
        reasoner = (
            openai_llm(settings, settings.hybrid_reasoner_model)
            if profile.reasoner == "openai"
            else LLM_FACTORIES[profile.reasoner](settings)
        )

    return Brain(
        profile=profile,
        stt=stt_plugin,
        llm=model,
        tts=tts_plugin,
        vad=vad_model if needs_vad else None,
        turn_detection=make_turn_detection(profile),
        reasoner=reasoner,
    )


def describe(profile: BrainProfile) -> Mapping[str, Any]:
    """What a log line or summary says about a brain (no secrets)."""
    return {"brain": profile.name, **{k: v for k, v in profile.stages().items() if v}}
