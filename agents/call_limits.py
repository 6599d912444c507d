"""Limits of a live call: answer before greeting, a maximum duration, a silence timeout.

* `wait_for_answer(room, participant)`: a SIP caller's leg is usable once its participant
  attribute `sip.callStatus` is `active`; the worker waits for that before the session (and
  its greeting) starts, and gives up when the caller hangs up first or after `timeout`.
* `CallLimits(session, options).attach()`: once the session runs,
  - after `max_duration` seconds it says the time-limit goodbye and hangs up;
  - when caller and agent have both been silent for `silence_timeout` seconds (LiveKit's
    `user_away_timeout`, which the session is built with: the user state turns `away`) it
    asks "Are you still there?"; if another `silence_timeout` passes with no word from the
    caller it says goodbye and hangs up. Any caller speech resets the prompt.
  Hanging up is `tools.call_control.finish_call`, exactly what `end_call` does: the goodbye
  is played out (cut off after `goodbye_timeout`, 15 s, so a stalled TTS cannot keep the
  call open), the session ends and, inside a LiveKit job, the room is deleted (or the SIP
  participant removed) through the server API.

Both limits are 0 = off; `Settings.max_call_duration` / `silence_timeout` (`MAX_CALL_DURATION`,
`SILENCE_TIMEOUT`) set them for every live call (`limits_apply`: a SIP caller, a playground or
any other room participant) and every call on the telephony variant (a phone-leg replay
included). Console sessions and plain `agent.py replay` runs, which a developer drives, keep
LiveKit's defaults.

May import: `agents.config`, `tools.call_control`, livekit.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.voice.events import AgentStateChangedEvent, UserStateChangedEvent

from tools.call_control import GOODBYE_PLAYOUT_TIMEOUT, finish_call, say_line

from .config import Settings

logger = logging.getLogger("voice_suite.call_limits")

SIP_CALL_STATUS = "sip.callStatus"
ANSWERED = "active"
HUNG_UP = "hangup"


@dataclass(frozen=True)
class CallLimitOptions:
    max_duration: float = 0.0
    """Seconds from the session's start to the time-limit goodbye; 0 = no limit."""
    silence_timeout: float = 0.0
    """Seconds of silence (caller and agent) before "are you still there?"; 0 = never."""
    still_there: str = "Are you still there?"
    silence_goodbye: str = (
        "I haven't heard anything, so I'll hang up now. Thanks for calling. Goodbye!"
    )
    time_limit_goodbye: str = (
        "I'm sorry, we've reached the time limit for this call. Thanks for calling. Goodbye!"
    )
    delete_room: bool = True
    goodbye_timeout: float = GOODBYE_PLAYOUT_TIMEOUT
    """Seconds the goodbye may take to play before the call is hung up anyway."""

    @classmethod
    def from_settings(cls, settings: Settings) -> CallLimitOptions:
        return cls(
            max_duration=settings.max_call_duration, silence_timeout=settings.silence_timeout
        )

    @property
    def active(self) -> bool:
        return self.max_duration > 0 or self.silence_timeout > 0


class CallLimits:
    """Ends a call that runs too long or goes silent (see the module docstring)."""

    def __init__(self, session: AgentSession, options: CallLimitOptions) -> None:
        self._session = session
        self._opts = options
        self._timer: asyncio.TimerHandle | None = None
        self._asked = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.ended_by: str | None = None
        """`max_duration` or `silence` once a limit has ended the call."""

    @property
    def options(self) -> CallLimitOptions:
        return self._opts

    def attach(self) -> CallLimits:
        """Listen to the session; the duration clock starts with its first state change."""
        self._session.on("agent_state_changed", self._on_agent_state)
        self._session.on("user_state_changed", self._on_user_state)
        self._session.on("close", self._on_close)
        return self

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        if self._timer is None and self._opts.max_duration > 0 and self.ended_by is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._opts.max_duration, self._time_up)

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "speaking":
            self._asked = False
        elif ev.new_state == "away" and self._opts.silence_timeout > 0:
            if not self._asked:
                self._asked = True
                logger.info("caller silent for %.0f s: asking", self._opts.silence_timeout)
                # back to `listening`: the away clock restarts once the question has played
                self._session.reset_away_timer()
                say_line(self._session, self._opts.still_there)
            else:
                self._end("silence", self._opts.silence_goodbye)

    def _time_up(self) -> None:
        self._end("max_duration", self._opts.time_limit_goodbye)

    def _end(self, why: str, goodbye: str) -> None:
        if self.ended_by is not None:
            return
        self.ended_by = why
        logger.info("call limit reached: %s", why)
        task = asyncio.ensure_future(
            finish_call(
                self._session,
                goodbye=goodbye,
                delete_room=self._opts.delete_room,
                reason=why,
                playout_timeout=self._opts.goodbye_timeout,
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_close(self, _: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()


async def wait_for_answer(
    room: rtc.Room, participant: rtc.RemoteParticipant, *, timeout: float
) -> bool:
    """True once a SIP participant's call is answered (`sip.callStatus` == `active`); False
    when it hangs up first or `timeout` passes. Non-SIP participants, and SIP participants
    without the attribute (older SIP services), count as answered; `timeout` 0 does not wait."""
    if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_SIP or timeout <= 0:
        return True
    status = participant.attributes.get(SIP_CALL_STATUS)
    if status is None or status == ANSWERED:
        return True
    if status == HUNG_UP:
        return False
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[bool] = loop.create_future()

    def on_changed(changed: dict[str, str], p: rtc.Participant) -> None:
        if p.identity != participant.identity or answered.done():
            return
        new = changed.get(SIP_CALL_STATUS)
        if new == ANSWERED:
            answered.set_result(True)
        elif new == HUNG_UP:
            answered.set_result(False)

    def on_left(p: rtc.RemoteParticipant) -> None:
        if p.identity == participant.identity and not answered.done():
            answered.set_result(False)

    room.on("participant_attributes_changed", on_changed)
    room.on("participant_disconnected", on_left)
    logger.info("waiting for the SIP call to be answered (%s)", status)
    try:
        return await asyncio.wait_for(answered, timeout)
    except asyncio.TimeoutError:
        logger.warning("the SIP call was not answered within %.0f s", timeout)
        return False
    finally:
        room.off("participant_attributes_changed", on_changed)
        room.off("participant_disconnected", on_left)


LIVEKIT_AWAY_TIMEOUT: float | None = (
    inspect.signature(AgentSession).parameters["user_away_timeout"].default
)
"""LiveKit's own default `user_away_timeout` (what a call without limits keeps)."""


LIVE_CALLERS = frozenset({"sip", "participant", "room"})
"""`open_call`'s `caller_kind` of a live call: a SIP caller, a room participant (the
playground, a web or mobile client), or a room whose caller is not named."""


def limits_apply(*, telephony: bool, caller_kind: str) -> bool:
    """Whether a call gets the limits: every live call and every telephony-variant call;
    not a console session or a plain replay."""
    return telephony or caller_kind in LIVE_CALLERS


def user_away_timeout(options: CallLimitOptions, *, limited: bool) -> float | None:
    """The session's `user_away_timeout`: the silence clock of a limited call with a silence
    timeout; LiveKit's default otherwise."""
    return (options.silence_timeout or None) if limited else LIVEKIT_AWAY_TIMEOUT
