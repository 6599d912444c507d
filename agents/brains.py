"""Brains are data, not branches.

A `BrainProfile` names the plugins for each stage (STT, LLM, TTS, realtime model, the
reasoner a hybrid delegates to) and the turn handling. `build_brain` turns a profile into
the keyword arguments of `AgentSession`; nothing else in the suite branches on which brain
is running. Swapping the turn detector of a profile is one line (`turn_detector=`).

Stage names (the values accepted by `STT=`, `LLM=`, `TTS=` and `TURN_DETECTOR=`):

- STT: `deepgram` (streaming WebSocket), `local` (faster-whisper tiny.en, offline)
- LLM: `openai` (chat completions; any OpenAI-compatible server via `OPENAI_BASE_URL`),
  `local` (SmolLM2-135M-Instruct GGUF through llama.cpp, offline)
- TTS: `cartesia` (streaming WebSocket), `openai`, `local` (Piper, offline)
- turn detector: `semantic` (ours, `livekit.plugins.semantic_turn`), `fusion` (ours fused
  with LiveKit's local audio EOT and the silence so far, fed by an audio tap), `livekit`
  (LiveKit's local audio model v1-mini), `realtime` (the realtime model's server VAD),
  `vad` (silence only)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from livekit.agents import NOT_GIVEN, NotGivenOr, llm, stt, tts, vad
from livekit.agents.llm import LLM, RealtimeModel

from .config import ConfigError, Settings
from .log import logger

TurnDetectorName = Literal["semantic", "fusion", "livekit", "realtime", "vad"]


@dataclass(frozen=True)
class Endpointing:
    """Silence (seconds) the session waits before committing a user turn.

    `min_delay` applies when the turn detector thinks the caller is done, `max_delay` when
    it thinks they are only pausing (LiveKit's defaults: 0.5 / 3.0)."""

    min_delay: float = 0.5
    max_delay: float = 3.0


@dataclass(frozen=True)
class BrainProfile:
    name: str
    description: str
    stt: str | None = None
    llm: str | None = None
    """Text LLM of a cascade; `None` for speech-to-speech brains."""
    tts: str | None = None
    realtime: str | None = None
    """Speech-to-speech model (`openai` = gpt-realtime); makes the session native."""
    reasoner: str | None = None
    """Text LLM a hybrid's realtime model delegates reasoning-heavy steps to."""
    turn_detector: TurnDetectorName = "semantic"
    vad: bool = True
    endpointing: Endpointing = field(default_factory=Endpointing)
    telephony: bool = False
    """Tuned for a SIP caller (8 kHz narrowband audio, phone pauses)."""

    def with_overrides(
        self, *, stt: str = "", llm: str = "", tts: str = "", turn_detector: str = ""
    ) -> BrainProfile:
        """Per-stage overrides (`STT=`, `LLM=`, `TTS=`, `TURN_DETECTOR=`). Stages the
        profile does not have (an STT for a native brain) are left alone."""
        changes: dict[str, Any] = {}
        for stage, value, known in (
            ("stt", stt, STT_FACTORIES),
            ("llm", llm, LLM_FACTORIES),
            ("tts", tts, TTS_FACTORIES),
        ):
            if not value:
                continue
            if value not in known:
                raise ConfigError(
                    f"{stage.upper()}={value!r} is not one of: {', '.join(sorted(known))}"
                )
            # a realtime brain takes an STT too: it feeds our own turn detector
            if getattr(self, stage) is not None or (stage == "stt" and self.realtime):
                changes[stage] = value
            else:
                logger.info(
                    "%s=%s ignored: brain %r has no %s stage",
                    stage.upper(),
                    value,
                    self.name,
                    stage,
                )
        if turn_detector:
            if turn_detector not in TURN_DETECTORS:
                raise ConfigError(
                    f"TURN_DETECTOR={turn_detector!r} is not one of: {', '.join(TURN_DETECTORS)}"
                )
            if turn_detector == "realtime" and self.realtime is None:
                raise ConfigError("TURN_DETECTOR=realtime needs a brain with a realtime model")
            changes["turn_detector"] = turn_detector
        return dataclasses.replace(self, **changes) if changes else self

    def for_telephony(self) -> BrainProfile:
        """The variant for a phone caller: callers on a phone pause longer mid-sentence
        (reading a card number, thinking) and narrowband audio makes VAD less sure, so
        the session waits a little longer before answering."""
        if self.telephony:
            return self
        return dataclasses.replace(
            self,
            name=f"{self.name}-telephony",
            telephony=True,
            endpointing=Endpointing(
                min_delay=max(self.endpointing.min_delay, 0.6),
                max_delay=max(self.endpointing.max_delay, 3.5),
            ),
        )

    def stages(self) -> dict[str, str | None]:
        return {
            "stt": self.stt,
            "llm": self.llm,
            "tts": self.tts,
            "realtime": self.realtime,
            "reasoner": self.reasoner,
            "turn_detector": self.turn_detector,
        }


PROFILES: dict[str, BrainProfile] = {
    p.name: p
    for p in (
        BrainProfile(
            name="cascade",
            description="Deepgram STT -> OpenAI LLM agent loop -> Cartesia TTS",
            stt="deepgram",
            llm="openai",
            tts="cartesia",
            turn_detector="semantic",
        ),
        BrainProfile(
            name="native",
            description="OpenAI gpt-realtime hears and speaks; tools over the session",
            realtime="openai",
            turn_detector="realtime",
        ),
        BrainProfile(
            name="hybrid",
            description="gpt-realtime keeps speech and turn-taking; reasoning-heavy steps "
            "go to a text LLM agent through a tool, covered by filler speech",
            realtime="openai",
            reasoner="openai",
            turn_detector="realtime",
        ),
        BrainProfile(
            name="local",
            description="Fully offline on CPU: faster-whisper tiny.en -> SmolLM2-135M "
            "(llama.cpp) -> Piper",
            stt="local",
            llm="local",
            tts="local",
            turn_detector="semantic",
        ),
    )
}

AUTO_ORDER = ("cascade", "native", "local")
"""The order in which the automatic choice tries profiles: the first whose provider keys
are all present wins. `hybrid` is never chosen automatically (ask for it by name)."""

TURN_DETECTORS: tuple[TurnDetectorName, ...] = ("semantic", "fusion", "livekit", "realtime", "vad")


# ---------------------------------------------------------------------------- credentials


def _openai_ready(s: Settings) -> bool:
    return bool(s.openai_api_key or s.openai_base_url)


PROVIDER_READY: dict[str, Callable[[Settings], bool]] = {
    "deepgram": lambda s: bool(s.deepgram_api_key or s.deepgram_base_url),
    "openai": _openai_ready,
    "cartesia": lambda s: bool(s.cartesia_api_key or s.cartesia_base_url),
    "local": lambda s: True,
}
PROVIDER_KEY = {
    "deepgram": "DEEPGRAM_API_KEY",
    "openai": "OPENAI_API_KEY",
    "cartesia": "CARTESIA_API_KEY",
    "local": "",
}


def missing_keys(profile: BrainProfile, settings: Settings) -> list[str]:
    """Environment variables a profile needs but does not have."""
    missing: list[str] = []
    for provider in (profile.stt, profile.llm, profile.tts, profile.realtime, profile.reasoner):
        if provider and not PROVIDER_READY[provider](settings):
            key = PROVIDER_KEY[provider]
            if key not in missing:
                missing.append(key)
    return missing


# ---------------------------------------------------------------------------- factories


def _given(value: str) -> NotGivenOr[str]:
    return value or NOT_GIVEN


def _api_key(key: str, base_url: str) -> str:
    # a loopback or self-hosted server (Ollama, vLLM, llama.cpp) needs no key, but the
    # OpenAI client insists on one: hand it a placeholder that is not a secret
    return key or ("local-no-key" if base_url else "")


def _deepgram_stt(s: Settings, telephony: bool) -> stt.STT:
    from livekit.plugins import deepgram

    kwargs: dict[str, Any] = {"model": s.deepgram_model, "language": "en-US"}
    if s.deepgram_base_url:
        kwargs["base_url"] = s.deepgram_base_url
    return deepgram.STT(api_key=_api_key(s.deepgram_api_key, s.deepgram_base_url), **kwargs)


def _local_stt(s: Settings, telephony: bool) -> stt.STT:
    from livekit.plugins import fasterwhisper

    return fasterwhisper.STT(model=s.local_stt_model or None)


def _openai_llm(s: Settings, model: str) -> llm.LLM:
    from livekit.plugins import openai

    return openai.LLM(
        model=model,
        api_key=_api_key(s.openai_api_key, s.openai_base_url),
        base_url=_given(s.openai_base_url),
    )


def _local_llm(s: Settings) -> llm.LLM:
    from livekit.plugins import llamacpp

    return llamacpp.LLM(
        model_path=s.local_llm_model or None,
        n_threads=s.local_llm_threads,
        tool_call_bias=s.local_llm_tool_bias,
    )


def _cartesia_tts(s: Settings) -> tts.TTS:
    from livekit.plugins import cartesia

    kwargs: dict[str, Any] = {"model": s.cartesia_model, "voice": s.cartesia_voice}
    if s.cartesia_base_url:
        kwargs["base_url"] = s.cartesia_base_url
    return cartesia.TTS(api_key=_api_key(s.cartesia_api_key, s.cartesia_base_url), **kwargs)


def _openai_tts(s: Settings) -> tts.TTS:
    from livekit.plugins import openai

    return openai.TTS(
        api_key=_api_key(s.openai_api_key, s.openai_base_url),
        base_url=_given(s.openai_base_url),
    )


def _local_tts(s: Settings) -> tts.TTS:
    from livekit.plugins import piper

    return piper.TTS(voice=s.local_tts_voice or None)


STT_FACTORIES: dict[str, Callable[[Settings, bool], stt.STT]] = {
    "deepgram": _deepgram_stt,
    "local": _local_stt,
}
LLM_FACTORIES: dict[str, Callable[[Settings], llm.LLM]] = {
    "openai": lambda s: _openai_llm(s, s.openai_model),
    "local": _local_llm,
}
TTS_FACTORIES: dict[str, Callable[[Settings], tts.TTS]] = {
    "cartesia": _cartesia_tts,
    "openai": _openai_tts,
    "local": _local_tts,
}


def _openai_realtime(s: Settings, *, server_turns: bool) -> llm.RealtimeModel:
    from livekit.plugins import openai

    base_url = s.openai_realtime_base_url or s.openai_base_url
    kwargs: dict[str, Any] = {}
    if not server_turns:
        # our own turn detector decides; the model must not commit turns by itself
        kwargs["turn_detection"] = None
    return openai.realtime.RealtimeModel(
        model=s.openai_realtime_model,
        voice=s.openai_voice,
        api_key=_api_key(s.openai_api_key, base_url),
        base_url=_given(base_url),
        **kwargs,
    )


def build_text_llm(brain: str, settings: Settings) -> llm.LLM:
    """The text LLM that does a brain's reasoning: the cascade's LLM, a hybrid's reasoner,
    or, for a native brain, the OpenAI text model. Used by text-mode evals."""
    profile = get_profile(brain)
    name = profile.llm or profile.reasoner or "openai"
    if name == "openai" and profile.reasoner == "openai" and profile.llm is None:
        return _openai_llm(settings, settings.hybrid_reasoner_model)
    return LLM_FACTORIES[name](settings)


def get_profile(name: str) -> BrainProfile:
    base = name.removesuffix("-telephony")
    if base not in PROFILES:
        raise ConfigError(f"unknown brain {name!r}; choose one of: {', '.join(PROFILES)}")
    profile = PROFILES[base]
    return profile.for_telephony() if name.endswith("-telephony") else profile


# ---------------------------------------------------------------------------- assembly


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


def _turn_detection(profile: BrainProfile) -> Any:
    if profile.turn_detector == "semantic":
        from livekit.plugins import semantic_turn

        return semantic_turn.SemanticTurnDetector()
    if profile.turn_detector == "fusion":
        from livekit.plugins import semantic_turn

        # the text-detector protocol passes no audio: the agent feeds this tap (stt_node)
        fused = semantic_turn.FusedTurnDetector(tap=semantic_turn.AudioTap())
        fused.prewarm()  # LiveKit's audio EOT, once per process (~0.4 s), not on the first turn
        return fused
    if profile.turn_detector == "livekit":
        from livekit.agents import inference

        # pinned: the unpinned detector tries LiveKit Cloud first in dev mode
        return inference.TurnDetector(version="v1-mini")
    if profile.turn_detector == "realtime":
        return "realtime_llm"
    return "vad"


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
    if needs_vad and vad_model is None:
        from livekit.plugins import silero

        vad_model = silero.VAD.load()

    if profile.realtime:
        server_turns = profile.turn_detector == "realtime"
        model: llm.LLM | llm.RealtimeModel = _openai_realtime(settings, server_turns=server_turns)
        # our own turn detector on a realtime model needs a transcript: session STT
        stt_name = profile.stt or ("deepgram" if PROVIDER_READY["deepgram"](settings) else "local")
        stt_plugin = None if server_turns else STT_FACTORIES[stt_name](settings, profile.telephony)
        tts_plugin = None
    else:
        assert profile.llm and profile.stt and profile.tts, profile
        model = LLM_FACTORIES[profile.llm](settings)
        stt_plugin = STT_FACTORIES[profile.stt](settings, profile.telephony)
        tts_plugin = TTS_FACTORIES[profile.tts](settings)

    reasoner = None
    if profile.reasoner:
        reasoner = (
            _openai_llm(settings, settings.hybrid_reasoner_model)
            if profile.reasoner == "openai"
            else LLM_FACTORIES[profile.reasoner](settings)
        )

    return Brain(
        profile=profile,
        stt=stt_plugin,
        llm=model,
        tts=tts_plugin,
        vad=vad_model if needs_vad else None,
        turn_detection=_turn_detection(profile),
        reasoner=reasoner,
    )


def describe(profile: BrainProfile) -> Mapping[str, Any]:
    """What a log line or summary says about a brain (no secrets)."""
    return {"brain": profile.name, **{k: v for k, v in profile.stages().items() if v}}
