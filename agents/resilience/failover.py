"""Realtime -> cascade failover mid-call (native and hybrid brains).

LiveKit's `RealtimeModelFallbackAdapter` only switches one realtime model for another; when
the speech-to-speech provider is what fails, the call must go on through a text pipeline.
This module does it the way LiveKit documents changing to or from a realtime model: a new
`Agent` with its own STT, LLM, TTS, VAD and turn handling, handed the conversation so far,
through `AgentSession.update_agent`.

Triggers (each ends in one switch, at most once per call):
- the realtime session reports an unrecoverable error (connection lost after its own
  reconnect, 5xx, a fatal server error): `TurnGuard` hands it here;
- the model stays silent: the caller finished a turn and no response started within
  `FAILOVER_DEADLINE` seconds (1.5), or one started but nothing was said (no speech, no
  filler) within `SPEECH_DEADLINE_S`.

The target is the cascade brain when its provider keys are present, else the local brain
when `LOCAL_FALLBACK` allows it (see `failover_profile`). The new agent opens with one short
line (`lines.FAILOVER`) and answers the next turn.

Owns: the switch. Imports: `agents.brain`, `agents.coffee_agent` (its greeting), `lines`,
livekit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from livekit.agents import Agent, AgentSession, llm, vad
from livekit.agents.voice.events import AgentStateChangedEvent, UserStateChangedEvent

from ..brain import Brain, BrainChoice, BrainProfile, build_brain
from ..brain.chains import failover_profile
from ..coffee_agent import GREETING
from ..config import Settings
from ..log import logger
from .lines import FAILOVER, FAILOVER_PENDING
from .turn_guard import CallError

CARRIED_ITEM_TYPES = ("message", "function_call", "function_call_output")
SPEECH_DEADLINE_S = 8.0
"""Once the model has started a response, how long it may take to start speaking (a tool
call covered by filler speech speaks within `FILLER_DELAY`)."""


class MakeAgent(Protocol):
    """Builds the call's agent on another brain (`agents.call` knows its tools and guards)."""

    def __call__(
        self, brain: Brain, *, greeting: str, chat_ctx: llm.ChatContext, answer_pending: bool
    ) -> Agent: ...


def carried_context(session: AgentSession) -> llm.ChatContext:
    """The conversation so far (what was said and the tool calls), without the realtime
    agent's instructions: the new agent brings its own."""
    ctx = session.history.copy(exclude_instructions=True, exclude_empty_message=True)
    ctx.items[:] = [it for it in ctx.items if it.type in CARRIED_ITEM_TYPES]
    return ctx


def opening(carried: llm.ChatContext) -> tuple[str, bool]:
    """What the failover brain says first, and whether it then answers the caller's last
    turn: a call that had not started gets the greeting; a caller left waiting hears a short
    line and the answer; otherwise, "where were we?"."""
    said = [it for it in carried.items if it.type == "message" and it.role in ("user", "assistant")]
    if not any(it.role == "user" for it in said):  # type: ignore[union-attr]
        return GREETING, False
    last = said[-1]
    if last.role == "user" and (last.text_content or "").strip():  # type: ignore[union-attr]
        return FAILOVER_PENDING, True
    return FAILOVER, False


class RealtimeFailover:
    """Switches a realtime call to the failover brain; the `Failover` of `TurnGuard`."""

    def __init__(
        self,
        session: AgentSession,
        settings: Settings,
        choice: BrainChoice,
        *,
        make_agent: MakeAgent,
        vad_model: vad.VAD | None = None,
        on_switch: Callable[[str, str], None] | None = None,
    ) -> None:
        self._session = session
        self._settings = settings
        self._target = failover_profile(choice.profile, settings)
        self._make_agent = make_agent
        self._vad = vad_model
        self._on_switch = on_switch
        self._deadline: asyncio.TimerHandle | None = None
        self._waited = 0.0
        profile = choice.profile
        # with our own turn detector the turn is committed only after its endpointing delay
        # (up to `max_delay`): the model is not late before that
        self._endpointing = (
            profile.endpointing.max_delay if profile.turn_detector != "realtime" else 0.0
        )
        self.switched_to: str | None = None
        """The failover brain's name once the call has been switched."""

    @property
    def target(self) -> BrainProfile | None:
        return self._target

    def attach(self) -> RealtimeFailover:
        if self._target is not None and self._settings.failover_deadline > 0:
            self._session.on("user_state_changed", self._on_user_state)
            self._session.on("agent_state_changed", self._on_agent_state)
            self._session.on("close", lambda _: self._cancel_deadline())
        return self

    # --- the silence deadline -------------------------------------------------------------

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        self._cancel_deadline()
        if ev.old_state == "speaking" and ev.new_state == "listening" and not self.switched_to:
            self._start_deadline(self._settings.failover_deadline + self._endpointing)

    def _start_deadline(self, seconds: float) -> None:
        self._cancel_deadline()
        self._waited = seconds
        self._deadline = asyncio.get_running_loop().call_later(seconds, self._deadline_passed)

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            self._cancel_deadline()
        elif ev.new_state == "thinking" and self._deadline is not None:
            # a sign of life (the response started): it now has longer to start speaking
            self._start_deadline(max(4 * self._settings.failover_deadline, SPEECH_DEADLINE_S))

    def _deadline_passed(self) -> None:
        self._deadline = None
        record = CallError(
            at=0.0,
            stage="realtime",
            engine=str(getattr(self._session.llm, "label", "realtime")),
            message=f"no answer within {self._waited:.1f} s of the caller's turn",
            recoverable=False,
            action="failover",
        )
        logger.warning("realtime model silent: %s", record.message)
        asyncio.ensure_future(self(record))

    # --- the switch -----------------------------------------------------------------------

    async def __call__(self, record: CallError) -> bool:
        if self.switched_to is not None:
            return True
        if self._target is None:
            return False
        profile = self._target
        try:
            brain = build_brain(profile, self._settings, vad_model=self._vad)
        except Exception:
            logger.exception("failover brain %r could not be built", profile.name)
            return False
        self.switched_to = profile.name
        self._cancel_deadline()
        carried = carried_context(self._session)
        greeting, pending = opening(carried)
        agent = self._make_agent(brain, greeting=greeting, chat_ctx=carried, answer_pending=pending)
        logger.warning(
            "realtime model failed (%s): the call goes on on brain %r with %d items carried",
            record.message,
            profile.name,
            len(carried.items),
        )
        if self._on_switch is not None:
            self._on_switch(profile.name, record.message)
        self._session.update_agent(agent)
        return True
