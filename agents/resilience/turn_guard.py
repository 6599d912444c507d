"""No silent turn: an error that survives every fallback of its stage gets a spoken apology
and the next turn is answered; a call that keeps failing is ended cleanly.

LiveKit's `AgentSession` closes itself after `max_unrecoverable_errors` (3) errors in a row
and, before that, says nothing to the caller about a failed turn. The guard takes those
errors over (it marks them handled, so the session stays up) and decides:

- a failed turn -> the apology (`lines.APOLOGY`), through the TTS, or as pre-rendered audio
  when the TTS is what failed or the brain has none;
- `max_failed_turns` failed turns in a row -> the goodbye (pre-rendered audio), the session
  drains, the job hangs up (`tools.call_control.finish_call`), and `ended_by` says why;
- a realtime model's error -> the failover (`failover.RealtimeFailover`), when one is set.

Every error seen (handled or not) is kept in `errors`, for replay's `summary.json` and the
call record.

Owns: turn-level error handling. Imports: livekit, `tools.call_control`, `lines`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from livekit.agents import AgentSession, llm, stt, tts
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice.events import ConversationItemAddedEvent, ErrorEvent

from tools.call_control import finish_call

from ..log import logger
from .lines import APOLOGY, GOODBYE, clip_frames

STAGES = {
    "llm_error": "llm",
    "stt_error": "stt",
    "tts_error": "tts",
    "realtime_model_error": "realtime",
}
CHAIN_TYPES: dict[str, type] = {
    "llm": llm.FallbackAdapter,
    "stt": stt.FallbackAdapter,
    "tts": tts.FallbackAdapter,
}
QUIET_S = 0.4
"""After a failure, the caller silent and the agent idle this long: the turn went unanswered."""
UNANSWERED_WAIT_S = 15.0
"""How long a failure is watched for an answer that would make the apology unneeded."""


@dataclass
class CallError:
    at: float
    """Seconds since the guard was attached (the call's start)."""
    stage: str
    engine: str
    message: str
    recoverable: bool
    """LiveKit's own verdict: a recoverable error is retried by the plugin itself."""
    action: str
    """What was done: `none` (the plugin retries), `fallback` / `recovered` (a chain moved
    to its next engine / back), `apology`, `goodbye` or `failover`."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Failover = Callable[[CallError], Awaitable[bool]]
"""Takes a failed realtime model's call over; False when it cannot."""


class TurnGuard:
    def __init__(
        self,
        session: AgentSession,
        *,
        max_failed_turns: int = 3,
        failover: Failover | None = None,
        on_error: Callable[[CallError], None] | None = None,
    ) -> None:
        self._session = session
        self._max_failed = max_failed_turns
        self._failover = failover
        self._on_error = on_error
        self._t0 = time.monotonic()
        self._failed_turns = 0
        self._last_spoken = -1e9
        self._watching: asyncio.Future[None] | None = None
        self._own_lines = {APOLOGY, GOODBYE}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[CallError] = []
        self.ended_by: str | None = None
        """`errors` once the guard has ended the call."""

    @property
    def failover_to(self) -> str | None:
        """The brain a realtime call was switched to, if it was."""
        return getattr(self._failover, "switched_to", None)

    def attach(self) -> TurnGuard:
        self._t0 = time.monotonic()
        self._session.on("error", self._on_session_error)
        self._session.on("conversation_item_added", self._on_item)
        return self

    def watch_chains(self, *engines: Any) -> TurnGuard:
        """Record the switches of the stages' fallback chains (LiveKit's adapters retry the
        next engine silently): one `fallback` entry when an engine goes down, one
        `recovered` when it is back."""
        for engine in engines:
            for stage, chain_type in CHAIN_TYPES.items():
                if isinstance(engine, chain_type):
                    on = engine.on  # type: ignore[attr-defined]
                    on(f"{stage}_availability_changed", self._chain_handler(stage))
        return self

    def _chain_handler(self, stage: str) -> Callable[[Any], None]:
        def on_change(ev: Any) -> None:
            member = getattr(ev, stage)
            record = CallError(
                at=round(time.monotonic() - self._t0, 3),
                stage=stage,
                engine=str(getattr(member, "label", member)),
                message="back: preferred again" if ev.available else "down: next engine used",
                recoverable=True,
                action="recovered" if ev.available else "fallback",
            )
            self.errors.append(record)
            logger.warning("%s chain: %s %s", stage, record.engine, record.message)
            if self._on_error is not None:
                self._on_error(record)

        return on_change

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage) or item.role != "assistant":
            return
        self._last_spoken = time.monotonic()
        if (item.text_content or "") not in self._own_lines:
            self._failed_turns = 0  # the brain answered: the failures are behind us

    def _on_session_error(self, ev: ErrorEvent) -> None:
        err = ev.error
        stage = STAGES.get(getattr(err, "type", ""), "other")
        record = CallError(
            at=round(time.monotonic() - self._t0, 3),
            stage=stage,
            engine=str(getattr(err, "label", "")),
            message=f"{type(err.error).__name__}: {err.error}"[:300],
            recoverable=bool(err.recoverable),
            action="none",
        )
        self.errors.append(record)
        if not err.recoverable and self.ended_by is None:
            # ours to handle from here: LiveKit would otherwise count it towards closing the
            # session, with nothing said to the caller
            err.recoverable = True
            if stage == "realtime" and self._failover is not None:
                record.action = "failover"
                self._spawn(self._fail_over(record))
            else:
                self._watch_turn(record)
        logger.warning(
            "%s error from %s (%s): %s", stage, record.engine, record.action, record.message
        )
        if self._on_error is not None and record.action != "none":
            self._on_error(record)

    async def _fail_over(self, record: CallError) -> None:
        assert self._failover is not None
        if not await self._failover(record):
            record.action = "none"
            self._watch_turn(record)

    def _watch_turn(self, record: CallError) -> None:
        """Apologise if the failed turn stays unanswered. The error may come from a
        preemptive generation (started while the caller was still talking) that LiveKit
        then runs again, or from one attempt of a turn that a later attempt answers: the
        apology waits until the caller has stopped, the agent has gone quiet and nothing was
        said since the error."""
        if self._watching is None or self._watching.done():
            self._watching = asyncio.ensure_future(self._apologise_if_unanswered(record))

    async def _apologise_if_unanswered(self, record: CallError) -> None:
        since = time.monotonic()
        quiet_since: float | None = None
        deadline = since + UNANSWERED_WAIT_S
        while time.monotonic() < deadline and self.ended_by is None:
            await asyncio.sleep(0.1)
            if self._last_spoken > since:
                return  # the caller heard an answer (a retry or fallback succeeded)
            s = self._session
            idle = s.user_state != "speaking" and s.agent_state in ("listening", "idle")
            now = time.monotonic()
            quiet_since = (quiet_since or now) if idle else None
            if quiet_since is not None and now - quiet_since >= QUIET_S:
                break
        else:
            if self.ended_by is not None:
                return
        record.action = self._failed_turn(record.stage)
        logger.warning("%s failure left a turn unanswered: %s", record.stage, record.action)
        if self._on_error is not None:
            self._on_error(record)

    def _failed_turn(self, stage: str) -> str:
        self._failed_turns += 1
        if self._failed_turns >= self._max_failed:
            self.ended_by = "errors"
            self._spawn(self._goodbye())
            return "goodbye"
        return "apology" if self._apologise(stage) is not None else "none"

    def _speaks_with_tts(self, stage: str) -> bool:
        return stage not in ("tts", "realtime") and self._session.tts is not None

    def _apologise(self, stage: str) -> SpeechHandle | None:
        try:
            if self._speaks_with_tts(stage):
                return self._session.say(APOLOGY)
            return self._session.say(APOLOGY, audio=clip_frames("apology"))
        except Exception:  # the session is closing: nothing left to say it to
            logger.warning("the apology could not be spoken", exc_info=True)
            return None

    async def _goodbye(self) -> None:
        logger.error("ending the call after %d failed turns in a row", self._failed_turns)
        await finish_call(
            self._session, goodbye=GOODBYE, audio=clip_frames("goodbye"), reason="errors"
        )
