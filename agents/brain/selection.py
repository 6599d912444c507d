"""Which brain answers a call, and why.

Order (first usable answer wins; a request whose keys are missing or whose name is unknown
is skipped with a note, never fatal, so a call is always answered):

1. the job's dispatch metadata, JSON `{"brain": "native"}` (explicit dispatch, SIP dispatch
   rule `room_config.agents[].metadata`, or `lk dispatch create --metadata`);
2. the caller's participant attribute `brain` (set in the playground token or by a SIP
   dispatch rule's attributes);
3. the `BRAIN` environment variable;
4. the first of `AUTO_ORDER` (cascade, native, local) whose provider keys are present:
   `local` needs none, so a machine with no keys always gets the offline brain.

A SIP caller then gets the telephony-tuned variant of whatever was chosen, then the
per-stage overrides (`STT=`, `LLM=`, `TTS=`, `TURN_DETECTOR=`) apply, and last, with
`LOCAL_FALLBACK` on (the default when the local engines are installed), every cascade stage
gets the local engine at the end of its chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..config import Settings
from .chains import local_fallback_on
from .credentials import missing_keys
from .profiles import AUTO_ORDER, PROFILES, BrainProfile

BRAIN_ATTRIBUTE = "brain"


@dataclass(frozen=True)
class Caller:
    """What the selection needs to know about the remote participant."""

    identity: str = ""
    is_sip: bool = False
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_participant(cls, participant: object) -> Caller:
        from livekit import rtc

        kind = getattr(participant, "kind", None)
        return cls(
            identity=str(getattr(participant, "identity", "")),
            is_sip=kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
            attributes=dict(getattr(participant, "attributes", {}) or {}),
        )


@dataclass(frozen=True)
class BrainChoice:
    profile: BrainProfile
    source: str
    """`metadata`, `participant`, `env` or `auto`."""
    reason: str
    notes: tuple[str, ...] = ()

    def explain(self) -> str:
        text = f"brain {self.profile.name!r}: {self.reason}"
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


def _brain_from_metadata(metadata: str, notes: list[str]) -> str:
    if not metadata.strip():
        return ""
    try:
        data = json.loads(metadata)
    except json.JSONDecodeError:
        notes.append("dispatch metadata is not JSON, ignored")
        return ""
    if not isinstance(data, dict):
        notes.append("dispatch metadata is not a JSON object, ignored")
        return ""
    brain = data.get("brain", "")
    if not isinstance(brain, str):
        notes.append("dispatch metadata 'brain' is not a string, ignored")
        return ""
    return brain.strip().lower()


def _usable(name: str, origin: str, settings: Settings, notes: list[str]) -> BrainProfile | None:
    if not name:
        return None
    if name not in PROFILES:
        notes.append(f"{origin} asked for unknown brain {name!r}")
        return None
    profile = PROFILES[name]
    missing = missing_keys(profile, settings)
    if missing:
        notes.append(f"{origin} asked for {name!r} but {', '.join(missing)} missing")
        return None
    return profile


def choose_brain(
    settings: Settings, *, job_metadata: str = "", caller: Caller | None = None
) -> BrainChoice:
    notes: list[str] = []
    requests = (
        ("metadata", "dispatch metadata", _brain_from_metadata(job_metadata, notes)),
        (
            "participant",
            f"participant attribute '{BRAIN_ATTRIBUTE}'",
            (caller.attributes.get(BRAIN_ATTRIBUTE, "").strip().lower() if caller else ""),
        ),
        ("env", "BRAIN", settings.brain),
    )
    chosen: tuple[BrainProfile, str, str] | None = None
    for source, origin, name in requests:
        profile = _usable(name, origin, settings, notes)
        if profile is not None:
            chosen = (profile, source, f"{origin} asked for it")
            break
    if chosen is None:
        for name in AUTO_ORDER:
            profile = PROFILES[name]
            if not missing_keys(profile, settings):
                why = (
                    "no provider keys are set, so the offline brain"
                    if name == "local"
                    else f"the keys of {name!r} are present"
                )
                chosen = (profile, "auto", f"automatic choice: {why}")
                break
    assert chosen is not None, "AUTO_ORDER must end with a brain that needs no keys"
    profile, source, reason = chosen

    if caller is not None and caller.is_sip:
        profile = profile.for_telephony()
        notes.append("SIP caller: telephony variant")
    overridden = profile.with_overrides(
        stt=settings.stt, llm=settings.llm, tts=settings.tts, turn_detector=settings.turn_detector
    )
    if overridden != profile:
        changed = [f"{k}={v}" for k, v in overridden.stages().items() if profile.stages()[k] != v]
        notes.append("stage overrides " + ", ".join(changed))
    if local_fallback_on(settings):
        chained = overridden.with_local_fallback()
        if chained != overridden:
            notes.append("local engines as the last fallback of each stage")
            overridden = chained
    return BrainChoice(profile=overridden, source=source, reason=reason, notes=tuple(notes))
