"""Resilience: no provider failure leaves a caller in silence.

- per-stage fallback chains (`LLM=openai,local`) live with the brain: `agents.brain.chains`
- `turn_guard`: a turn that fails after every fallback gets a spoken apology; a call that
  keeps failing ends cleanly (goodbye, hang-up, the record says why)
- `failover`: a realtime (native / hybrid) call switches to the cascade or local brain,
  conversation carried over, when the realtime model fails or goes silent
- `lines`: what is said then, also as pre-rendered audio (plays with every TTS down)

May import: `agents.brain`, `agents.config`, `agents.coffee_agent`, `tools.call_control`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from livekit.agents import AgentSession, APIConnectOptions, vad
from livekit.agents.voice.agent_session import SessionConnectOptions

from ..brain import BrainChoice
from ..config import Settings
from .failover import MakeAgent, RealtimeFailover, failover_profile
from .turn_guard import CallError, TurnGuard


class _Record(Protocol):
    """What the guard writes to the call record (`agents.side_channel.CallRecord`)."""

    def event(self, kind: str, **fields: object) -> None: ...
    def end(self, reason: str) -> None: ...


TTS_STALL_S = 1.5
"""A TTS with no audio frame for this long counts as failed (its first frame normally comes
within ~0.3 s of the text; LiveKit's default wait is 10 s per frame)."""


def session_conn_options(settings: Settings) -> SessionConnectOptions:
    """Retries per stage as `FALLBACK_RETRIES` says (LiveKit's default, 3 retries with
    back-off, is ~4 s of dead air before anything is said); the guard, not LiveKit's error
    counter, decides when a failing call ends."""
    retry = APIConnectOptions(max_retry=settings.fallback_retries, retry_interval=0.5)
    # a TTS that goes quiet (no audio frame for TTS_STALL_S) counts as failed, so its chain
    # moves on to the next engine
    tts_wait = min(settings.fallback_attempt_timeout, TTS_STALL_S)
    return SessionConnectOptions(
        stt_conn_options=retry,
        llm_conn_options=retry,
        tts_conn_options=dataclasses.replace(retry, timeout=tts_wait),
        max_unrecoverable_errors=settings.max_failed_turns + 1,
    )


def attach_resilience(
    session: AgentSession,
    settings: Settings,
    choice: BrainChoice,
    *,
    make_agent: MakeAgent,
    vad_model: vad.VAD | None = None,
    record: _Record | None = None,
    chains: Sequence[object] = (),
) -> TurnGuard:
    """The turn guard of a call, with the realtime failover when the brain has one;
    `chains`: the brain's engines, whose fallback switches are recorded."""
    failover: RealtimeFailover | None = None
    if choice.profile.realtime is not None:

        def switched(brain: str, why: str) -> None:
            if record is not None:
                record.event("failover", to=brain, why=why)

        failover = RealtimeFailover(
            session,
            settings,
            choice,
            make_agent=make_agent,
            vad_model=vad_model,
            on_switch=switched,
        ).attach()

    def on_error(err: CallError) -> None:
        if record is None or err.action in ("none", "recovered"):
            return
        record.event("recovery", stage=err.stage, engine=err.engine, action=err.action)
        if err.action == "goodbye":
            record.end("error")

    return (
        TurnGuard(
            session,
            max_failed_turns=settings.max_failed_turns,
            failover=failover,
            on_error=on_error,
        )
        .attach()
        .watch_chains(*chains)
    )


__all__ = [
    "CallError",
    "MakeAgent",
    "RealtimeFailover",
    "TurnGuard",
    "attach_resilience",
    "session_conn_options",
    "failover_profile",
]
