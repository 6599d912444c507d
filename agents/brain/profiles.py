"""Brain profiles: the data that says which engine runs each stage of a call.

A `BrainProfile` names the plugins for each stage (STT, LLM, TTS, realtime model, the
reasoner a hybrid delegates to) and the turn handling. `agents.brain.assembly.build_brain`
turns a profile into live plugin objects; nothing else in the suite branches on which brain
is running. Swapping the turn detector of a profile is one line (`turn_detector=`).

Stage names (the values accepted by `STT=`, `LLM=`, `TTS=` and `TURN_DETECTOR=`):

A stage may name a chain, `deepgram,local`: LiveKit's `FallbackAdapter` for that stage, tried
in that order (`agents.brain.assembly`).

- STT: `deepgram` (streaming WebSocket), `local` (faster-whisper, offline)
- LLM: `openai` (chat completions; any OpenAI-compatible server via `OPENAI_BASE_URL`),
  `local` (a GGUF through llama.cpp, offline)
- TTS: `cartesia` (streaming WebSocket), `openai`, `local` (Piper, offline)
- turn detector: `semantic` (ours, `livekit.plugins.semantic_turn`), `fusion` (ours fused
  with LiveKit's local audio EOT and the silence so far, fed by an audio tap), `livekit`
  (LiveKit's local audio model v1-mini), `realtime` (the realtime model's server VAD),
  `vad` (silence only)

Owns: data only. Imports: `agents.config`, `agents.log` (no plugin, no livekit engine).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import ConfigError
from ..log import logger

SILERO_SILENCE = 0.55
"""Silero VAD's own `min_silence_duration`: what the worker's prewarmed VAD uses."""
SILERO_ACTIVATION = 0.5
"""Silero VAD's `activation_threshold` (speech probability that starts speech; LiveKit's
default). Its deactivation threshold stays LiveKit's: 0.15 under it. Measured against missed
lines and false starts by `python -m evals.vad_threshold`."""
STT_ENGINES: tuple[str, ...] = ("deepgram", "local")
LLM_ENGINES: tuple[str, ...] = ("openai", "local")
TTS_ENGINES: tuple[str, ...] = ("cartesia", "openai", "local")
"""Engine names per stage; `agents.brain.factories` has one factory for each."""

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
    vad_silence: float = SILERO_SILENCE
    """Silence (s) after which Silero VAD ends a speech segment (its default: 0.55). A
    non-streaming STT only starts transcribing then, so it is on the caller's wait."""
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
            ("stt", stt, STT_ENGINES),
            ("llm", llm, LLM_ENGINES),
            ("tts", tts, TTS_ENGINES),
        ):
            if not value:
                continue
            value = parse_chain(stage, value, known)
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

    def engines(self, stage: str) -> tuple[str, ...]:
        """The engines of a stage in fallback order (`"deepgram,local"` -> both)."""
        value: str | None = getattr(self, stage)
        return tuple(value.split(",")) if value else ()

    def with_local_fallback(self) -> BrainProfile:
        """Every cascade stage (STT, LLM, TTS) that has no local engine gets one last in its
        chain: a provider outage then costs one slower turn, never a silent call."""
        changes: dict[str, Any] = {
            stage: f"{value},local"
            for stage in ("stt", "llm", "tts")
            if (value := getattr(self, stage)) and "local" not in self.engines(stage)
        }
        return dataclasses.replace(self, **changes) if changes else self

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
            description="Fully offline on CPU: faster-whisper -> the guided ordering policy "
            "around Qwen2.5-Coder-0.5B (llama.cpp) -> Piper",
            stt="local",
            llm="local",
            tts="local",
            turn_detector="semantic",
            # Whisper waits for the segment's end: a shorter silence answers sooner; the
            # semantic turn detector still holds the turn when the words are unfinished
            vad_silence=0.3,
        ),
    )
}

AUTO_ORDER = ("cascade", "native", "local")
"""The order in which the automatic choice tries profiles: the first whose provider keys
are all present wins. `hybrid` is never chosen automatically (ask for it by name)."""

TURN_DETECTORS: tuple[TurnDetectorName, ...] = ("semantic", "fusion", "livekit", "realtime", "vad")


def parse_chain(stage: str, value: str, known: tuple[str, ...]) -> str:
    """Validate `STT=deepgram,local`-style values: known engine names, no repeats; returns
    the chain normalised (no blanks)."""
    names = [n.strip() for n in value.split(",")]
    for name in names:
        if name not in known:
            raise ConfigError(
                f"{stage.upper()}={value!r}: {name!r} is not one of: {', '.join(sorted(known))}"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"{stage.upper()}={value!r} names an engine twice")
    return ",".join(names)


def get_profile(name: str) -> BrainProfile:
    base = name.removesuffix("-telephony")
    if base not in PROFILES:
        raise ConfigError(f"unknown brain {name!r}; choose one of: {', '.join(PROFILES)}")
    profile = PROFILES[base]
    return profile.for_telephony() if name.endswith("-telephony") else profile
