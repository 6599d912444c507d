"""Call control tools: end_call, transfer_to_human, get_dtmf_digits (+ the DTMF buffer).

* `end_call` returns at once (no reply is requested), and when the turn that called it has
  finished playing, `finish_call` speaks `goodbye`, waits for that playout (a caller who
  speaks before or over it calls the hang-up off: the call goes on), shuts the session
  down and, inside a job, hangs the call up through the LiveKit server API (`hang_up`: delete
  the call's room, or remove just the SIP participant) and shuts the job down. Without a job
  (console, tests) it only ends the session. The call limits (`agents.call_limits`) end a
  call the same way.
* `transfer_to_human` transfers a SIP caller (participant kind SIP) to the target the caller
  of `build_call_control_tools` passes (`transfer_to=`, e.g. `tel:+15551234567` or
  `sip:desk@pbx`; the app passes its settings' `transfer_to`) with livekit-api
  `transfer_sip_participant`. With no room, no SIP caller or no target it returns a spoken
  explanation that nobody can take the call by phone, and the conversation goes on.
* `DtmfBuffer` subscribes to the room's `sip_dtmf_received` and buffers keypad digits;
  `get_dtmf_digits` hands them to the model (e.g. a phone or order number), waiting briefly
  for the caller to finish typing (`#` ends early).

Owns: call control (hang-up, SIP transfer, DTMF). May import: livekit (agents, rtc, api), the
standard library and `tools.runtime`; never a domain (`tools.coffee`), `agents` or `evals`.
Reads no environment variables: every setting comes from the arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import weakref
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any

from livekit import api, rtc
from livekit.agents import AgentSession, llm
from livekit.agents.job import JobContext, get_job_context
from livekit.agents.llm import FunctionTool, ToolError, ToolResult
from livekit.agents.voice import RunContext, SpeechHandle

from .runtime import ToolRuntime

logger = logging.getLogger("tools.call_control")

DTMF_DIGITS = set("0123456789*#")


@dataclass(frozen=True)
class CallControlOptions:
    transfer_to: str = ""
    """SIP transfer target, `tel:+1...` or `sip:...`; empty = no transfer (see `transfer_to=`)."""
    goodbye: str = "Thanks for calling. Goodbye!"
    delete_room: bool = True
    transfer_timeout: float = 45.0
    """Transfers dial a phone: allowed longer than the runtime's default timeout."""
    no_human_message: str = (
        "Nobody is available to take the call by phone right now. Tell the caller you are "
        "sorry, and offer to keep helping with their order."
    )
    dtmf_wait: float = 5.0
    """Default seconds get_dtmf_digits waits for the caller to type."""


class DtmfBuffer:
    """Buffers SIP keypad digits from a room (`sip_dtmf_received`).

    `attach(room)` subscribes, `detach()` unsubscribes, `feed("1")` injects a digit (tests,
    console). `await collect(...)` takes the buffered digits, waiting up to `wait` seconds for
    more until `max_digits` or a `#`. With `deliver_entries(session)`, an entry ended with `#`
    while nothing is collecting becomes the caller's turn.
    """

    def __init__(self) -> None:
        self._digits: list[tuple[float, str]] = []
        self._changed = asyncio.Event()
        self._room: rtc.Room | None = None
        self._collecting = 0
        self._session: AgentSession | None = None
        self._entry_format = "{digits}"

    def deliver_entries(self, session: AgentSession, *, fmt: str = "{digits}") -> DtmfBuffer:
        """Keypad input for every brain: digits typed and ended with `#` while no
        `get_dtmf_digits` call is collecting become the caller's turn (`fmt` with
        `{digits}`), as if said, e.g. an order number typed after "what's the number?"."""
        self._session = session
        self._entry_format = fmt
        return self

    def attach(self, room: rtc.Room) -> DtmfBuffer:
        if self._room is room:
            return self
        self.detach()
        room.on("sip_dtmf_received", self._on_dtmf)
        self._room = room
        return self

    def detach(self) -> None:
        if self._room is not None:
            with contextlib.suppress(Exception):
                self._room.off("sip_dtmf_received", self._on_dtmf)
            self._room = None

    @property
    def attached(self) -> bool:
        return self._room is not None

    def _on_dtmf(self, ev: rtc.SipDTMF) -> None:
        self.feed(ev.digit)

    def feed(self, digits: str) -> None:
        for d in digits:
            if d in DTMF_DIGITS:
                self._digits.append((time.monotonic(), d))
        logger.debug("dtmf buffered", extra={"count": len(self._digits)})
        self._changed.set()
        if "#" in digits and not self._collecting and self._session is not None:
            entry = self.peek().split("#", 1)[0]
            self.clear()
            if entry:
                self._deliver(self._session, entry)

    def _deliver(self, session: AgentSession, entry: str) -> None:
        try:
            session.interrupt()  # typing is the caller taking the turn
            session.generate_reply(user_input=self._entry_format.format(digits=entry))
        except RuntimeError as e:  # the session is not running (yet, or any more)
            logger.info("keypad entry not delivered: %s", e)

    def peek(self) -> str:
        return "".join(d for _, d in self._digits)

    def clear(self) -> None:
        self._digits.clear()

    async def collect(
        self, *, max_digits: int = 16, wait: float = 5.0, inter_digit: float = 2.0
    ) -> str:
        """Digits typed so far (consumed), waiting up to `wait` s overall for the first one and
        `inter_digit` s between digits; stops at `#` (not returned) or `max_digits`."""
        self._collecting += 1
        try:
            return await self._collect(max_digits=max_digits, wait=wait, inter_digit=inter_digit)
        finally:
            self._collecting -= 1

    async def _collect(self, *, max_digits: int, wait: float, inter_digit: float) -> str:
        deadline = time.monotonic() + wait
        while True:
            text = self.peek()
            if "#" in text or len(text) >= max_digits:
                break
            now = time.monotonic()
            last = self._digits[-1][0] if self._digits else None
            until = deadline if last is None else min(deadline, last + inter_digit)
            if self._digits and now >= last + inter_digit:  # type: ignore[operator]
                break
            if now >= until:
                break
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=until - now)
        text = self.peek()
        self.clear()
        text = text.split("#", 1)[0]
        return text[:max_digits]


def _sip_participant(room: rtc.Room) -> rtc.RemoteParticipant | None:
    for p in room.remote_participants.values():
        if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP:
            return p
    return None


def _valid_target(target: str) -> bool:
    return bool(re.fullmatch(r"(tel:\+?[0-9]{3,20}|sip:[^\s]{3,200})", target))


def job_and_room() -> tuple[JobContext | None, rtc.Room | None]:
    """The current LiveKit job and its room; (None, None) outside a job (replay, tests)."""
    job = get_job_context(required=False)
    if job is None:
        return None, None
    try:
        return job, job.room
    except Exception:
        return job, None


async def hang_up(job: JobContext, *, delete_room: bool = True) -> str:
    """Hang up the call through the LiveKit server API: delete the room (every participant,
    the SIP leg included, is disconnected; each call has its own room), or with
    `delete_room=False` remove only the SIP participant (the SIP service hangs its leg up).
    Returns the API call made (`delete_room`, `remove_participant`) or `none`; a server
    error is logged, never raised (the session is over either way)."""
    room = job.room
    try:
        lkapi = job.api
    except ValueError as e:  # no LIVEKIT_URL: console or replay, nothing to hang up
        logger.info("no LiveKit server to hang up on (%s)", e)
        return "none"
    try:
        if delete_room:
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room.name))
            return "delete_room"
        sip = _sip_participant(room)
        if sip is None:
            return "none"
        await lkapi.room.remove_participant(
            api.RoomParticipantIdentity(room=room.name, identity=sip.identity)
        )
        return "remove_participant"
    except Exception as e:
        logger.warning("hang-up through the LiveKit API failed: %s", e)
        return "failed"


def say_line(session: AgentSession, text: str, *, allow_interruptions: bool = True) -> SpeechHandle:
    """Speak a fixed line with whatever voice the session has: its TTS, or a speech-to-speech
    model told to say it word for word (which has no TTS for `session.say`)."""
    if isinstance(session.llm, llm.RealtimeModel) and session.tts is None:
        # a model with its own server-side turn detection cannot be made uninterruptible:
        # LiveKit refuses the request (and the goodbye was never spoken), so it is not asked
        server_turns = session.llm.capabilities.turn_detection
        return session.generate_reply(
            instructions=f"Say exactly: {text}",
            tool_choice="none",
            allow_interruptions=True if server_turns else allow_interruptions,
        )
    return session.say(text, allow_interruptions=allow_interruptions)


_finishing: weakref.WeakSet[AgentSession] = weakref.WeakSet()

GOODBYE_PLAYOUT_TIMEOUT = 15.0
"""Seconds `finish_call` waits for the goodbye to play out (a goodbye is 3-6 s of speech)
before it cuts it off and hangs up anyway: a stalled TTS never keeps a call open."""


async def finish_call(
    session: AgentSession,
    *,
    goodbye: str,
    delete_room: bool = True,
    reason: str = "end_call",
    audio: AsyncIterable[rtc.AudioFrame] | None = None,
    playout_timeout: float = GOODBYE_PLAYOUT_TIMEOUT,
    caller_can_stop: bool = False,
) -> bool:
    """Speak `goodbye`, wait for its playout (at most `playout_timeout` seconds: then it is
    cut off), end the session and, inside a LiveKit job, hang up (`hang_up`) and shut the job
    down. Used by `end_call` and by the call limits (maximum duration, silence). False if the
    call was already being finished, or if the caller called the hang-up off.

    `caller_can_stop` (`end_call`): a caller who is speaking when the goodbye would start, or
    who speaks over it (LiveKit's own barge-in interrupts it), is not hung up on: the goodbye
    stops where it was heard, the call goes on and their words are answered as any turn is.
    A barista does not hang up on a caller who is still talking ("Bye. Oh, and a latte"). The
    call limits and the error goodbye keep it uninterruptible: those calls end regardless."""
    if session in _finishing:
        return False
    if caller_can_stop and session.user_state == "speaking":
        logger.info("hang-up called off: the caller is speaking", extra={"reason": reason})
        return False
    _finishing.add(session)
    try:
        if audio is not None:  # pre-rendered: plays when no TTS can (agents/resilience)
            handle = session.say(goodbye, audio=audio, allow_interruptions=caller_can_stop)
        else:
            handle = say_line(session, goodbye, allow_interruptions=caller_can_stop)
        try:
            await asyncio.wait_for(handle.wait_for_playout(), playout_timeout)
        except asyncio.TimeoutError:
            logger.warning(
                "the goodbye did not play out within %.0f s: hanging up anyway", playout_timeout
            )
            # a speech that never ends would also hold the session's drain below
            handle.interrupt(force=True)
        else:
            if caller_can_stop and handle.interrupted:
                _finishing.discard(session)
                logger.info(
                    "hang-up called off: the caller spoke over the goodbye",
                    extra={"reason": reason},
                )
                return False
    except Exception:
        logger.warning("goodbye could not be spoken", exc_info=True)
    job, _ = job_and_room()
    session.shutdown(drain=True)
    if job is not None:
        how = await hang_up(job, delete_room=delete_room)
        logger.info("call hung up", extra={"reason": reason, "api_call": how})
        job.shutdown(reason=reason)
    return True


def build_call_control_tools(
    runtime: ToolRuntime,
    *,
    options: CallControlOptions | None = None,
    transfer_to: str | None = None,
    dtmf: DtmfBuffer | None = None,
    on_hangup: Callable[[], Any] | None = None,
) -> list[FunctionTool]:
    """end_call, transfer_to_human, get_dtmf_digits, wrapped by `runtime`.

    `transfer_to` (else options.transfer_to) is the transfer target; empty means nobody to
    transfer to (the tool then says so). Pass a `DtmfBuffer` already attached to the room to
    keep digits typed before the first tool call; otherwise one is attached lazily to the job's
    room. `on_hangup` is called after the session is shut down by end_call (tests, metrics)."""
    opts = options or CallControlOptions()
    target = transfer_to if transfer_to is not None else opts.transfer_to
    buffer = dtmf or DtmfBuffer()
    hangup_tasks: set[asyncio.Task[None]] = set()

    async def _hangup(ctx: RunContext) -> None:
        hung_up = await finish_call(
            ctx.session, goodbye=opts.goodbye, delete_room=opts.delete_room, caller_can_stop=True
        )
        if hung_up and on_hangup is not None:
            on_hangup()

    async def end_call(ctx: RunContext) -> ToolResult:
        """End the phone call after the caller is done and has said goodbye or has nothing
        else to order. Do not use to pause or transfer."""

        def _after_turn(_: Any) -> None:
            task = asyncio.ensure_future(_hangup(ctx))
            hangup_tasks.add(task)
            task.add_done_callback(hangup_tasks.discard)

        ctx.speech_handle.add_done_callback(_after_turn)
        return ToolResult(
            "The call is ending; the goodbye is spoken for you.", reply_required=False
        )

    async def transfer_to_human(ctx: RunContext, reason: str = "") -> str:
        """Transfer the caller to a human staff member when they ask for a person or you
        cannot help them.

        Args:
            reason: a few words on why, for the staff member
        """
        job, room = job_and_room()
        sip = _sip_participant(room) if room is not None else None
        if sip is None or room is None or job is None:
            return opts.no_human_message
        if not target or not _valid_target(target):
            logger.warning("transfer requested but the transfer target is not a tel:/sip: URI")
            return opts.no_human_message
        try:
            await job.api.sip.transfer_sip_participant(
                api.TransferSIPParticipantRequest(
                    room_name=room.name,
                    participant_identity=sip.identity,
                    transfer_to=target,
                    play_dialtone=True,
                )
            )
        except Exception as e:
            logger.warning("SIP transfer failed: %s", e)
            return (
                "The transfer did not go through. Apologise, and offer to keep helping with "
                "the order."
            )
        return "The caller has been transferred to a staff member."

    async def get_dtmf_digits(ctx: RunContext, max_digits: int = 10) -> dict[str, Any]:
        """Read the digits the caller typed on their phone keypad, e.g. for a phone number or
        an order number. Ask them to type it and press pound first.

        Args:
            max_digits: the most digits expected, 1 to 20
        """
        if not 1 <= max_digits <= 20:
            raise ToolError("max_digits must be between 1 and 20.")
        if not buffer.attached:
            _, room = job_and_room()
            if room is not None:
                buffer.attach(room)
        digits = await buffer.collect(max_digits=max_digits, wait=opts.dtmf_wait)
        if not digits:
            return {
                "digits": "",
                "note": "No keypad digits were received. Ask the caller to say it.",
            }
        return {"digits": digits}

    return [
        runtime.tool(end_call, filler=False),
        runtime.tool(
            transfer_to_human,
            filler=True,
            timeout=max(opts.transfer_timeout, runtime.options.timeout),
        ),
        runtime.tool(
            get_dtmf_digits,
            filler=False,
            timeout=max(opts.dtmf_wait + 3.0, runtime.options.timeout),
        ),
    ]
