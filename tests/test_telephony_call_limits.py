"""Call limits end the call the LiveKit way: the maximum duration and the silence timeout
("are you still there?", then goodbye) each hang up through the server API (the loopback
Twirp server) inside LiveKit's fake job whose room holds a SIP caller, even when the TTS
stalls on the goodbye; the worker's entrypoint gives every live call its limits, a playground
caller's too; the worker waits for `sip.callStatus` to turn `active` before greeting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    Agent,
    AgentSession,
    APIConnectOptions,
    tts,
    utils,
)
from livekit.agents.testing import fake_job_context

from agents import worker
from agents.call_limits import CallLimitOptions, CallLimits, wait_for_answer
from agents.config import Settings
from evals.replay.io import RealtimeAudioOutput
from evals.replay.telephony import PhoneCaller
from tests.fakes import FakeLLM
from tests.loopback.livekit_api import LiveKitApiServer
from tests.test_worker_entrypoint import ServerlessRoom, dispatched_job, participant


@contextlib.asynccontextmanager
async def _phone_job(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Any, LiveKitApiServer]]:
    async with LiveKitApiServer() as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        room = PhoneCaller().room("limits-room")
        async with utils.http_context.open():
            with fake_job_context(room=room) as job:
                shutdowns: list[str] = []
                job._on_shutdown = shutdowns.append
                job.shutdowns = shutdowns  # type: ignore[attr-defined]
                yield job, server


async def _limited_session(
    options: CallLimitOptions,
) -> tuple[AgentSession, CallLimits, asyncio.Event]:
    closed = asyncio.Event()
    session: AgentSession = AgentSession(
        llm=FakeLLM(default_reply="Sure."),
        user_away_timeout=options.silence_timeout or None,
    )
    limits = CallLimits(session, options).attach()
    session.on("close", lambda _ev: closed.set())
    await session.start(Agent(instructions="t"))
    return session, limits, closed


def _said(session: AgentSession) -> list[str]:
    return [
        i.text_content or ""
        for i in session.history.items
        if i.type == "message" and i.role == "assistant"
    ]


async def _until_hung_up(server: LiveKitApiServer, closed: asyncio.Event) -> None:
    await asyncio.wait_for(closed.wait(), 10)
    for _ in range(100):
        if server.calls:
            return
        await asyncio.sleep(0.05)


async def test_silence_asks_then_says_goodbye_and_hangs_up(monkeypatch):
    opts = CallLimitOptions(silence_timeout=0.4)
    async with _phone_job(monkeypatch) as (job, server):
        session, limits, closed = await _limited_session(opts)
        await _until_hung_up(server, closed)
        assert _said(session) == [opts.still_there, opts.silence_goodbye]
        assert limits.ended_by == "silence"
        assert server.methods() == ["DeleteRoom"]
        assert server.calls[0][1].room == "limits-room"
        assert job.shutdowns == ["silence"]


async def test_a_caller_who_answers_the_prompt_keeps_the_call(monkeypatch):
    opts = CallLimitOptions(silence_timeout=0.6)
    async with _phone_job(monkeypatch) as (job, server):
        session, limits, closed = await _limited_session(opts)
        for _ in range(100):  # the prompt comes after 0.6 s of silence
            if opts.still_there in _said(session):
                break
            await asyncio.sleep(0.05)
        assert _said(session) == [opts.still_there]
        # the caller speaks (VAD says so), then asks for something
        session._update_user_state("speaking")
        session._update_user_state("listening")
        await session.run(user_input="yes, sorry, a latte please")
        await asyncio.sleep(0.3)  # less than the timeout: no goodbye yet
        assert limits.ended_by is None and not closed.is_set()
        # the next silence asks again rather than hanging up
        for _ in range(100):
            if _said(session).count(opts.still_there) == 2:
                break
            await asyncio.sleep(0.05)
        assert _said(session)[-1] == opts.still_there
        assert server.calls == [] and job.shutdowns == []
        await session.aclose()


async def test_max_duration_says_goodbye_and_hangs_up(monkeypatch):
    opts = CallLimitOptions(max_duration=0.5)
    async with _phone_job(monkeypatch) as (job, server):
        session, limits, closed = await _limited_session(opts)
        await session.run(user_input="hi")
        await _until_hung_up(server, closed)
        assert _said(session)[-1] == opts.time_limit_goodbye
        assert limits.ended_by == "max_duration"
        assert server.methods() == ["DeleteRoom"]
        assert job.shutdowns == ["max_duration"]


class _StallingTTS(tts.TTS):
    """A TTS whose every synthesis hangs without a frame or an error (a provider that
    accepted the request and went quiet)."""

    def __init__(self) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False), sample_rate=24000, num_channels=1
        )
        self.texts: list[str] = []

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        self.texts.append(text)
        return _Stalled(tts=self, input_text=text, conn_options=conn_options)


class _Stalled(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        await asyncio.Event().wait()


async def test_a_stalled_tts_does_not_keep_the_call_open(monkeypatch):
    """The time-limit goodbye goes to a TTS that never answers: after `goodbye_timeout` the
    goodbye is cut off and the call is hung up all the same."""
    opts = CallLimitOptions(max_duration=0.3, goodbye_timeout=1.0)
    async with _phone_job(monkeypatch) as (job, server):
        stalls = _StallingTTS()
        closed = asyncio.Event()
        session: AgentSession = AgentSession(llm=FakeLLM(default_reply="Sure."), tts=stalls)
        session.output.audio = RealtimeAudioOutput()
        limits = CallLimits(session, opts).attach()
        session.on("close", lambda _ev: closed.set())
        await session.start(Agent(instructions="t"))
        t0 = asyncio.get_running_loop().time()
        await _until_hung_up(server, closed)
        took = asyncio.get_running_loop().time() - t0
        # the goodbye's first sentence reached the TTS, and stalled there
        assert stalls.texts and opts.time_limit_goodbye.startswith(stalls.texts[0])
        assert limits.ended_by == "max_duration"
        assert server.methods() == ["DeleteRoom"]
        assert job.shutdowns == ["max_duration"]
        assert took < opts.max_duration + opts.goodbye_timeout + 3.0, took


async def test_every_live_call_gets_the_limits_a_playground_caller_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The worker's entrypoint, a playground (non-SIP) participant on the plain cascade:
    the call's session gets the silence clock and the limits are attached."""
    s = Settings(
        orders_db=str(tmp_path / "orders.sqlite"), openai_api_key="test", brain="native",
        call_records_dir="off", max_call_duration=120.0, silence_timeout=7.0,
    )  # fmt: skip
    monkeypatch.setattr(worker, "settings", lambda: s)
    attached: list[CallLimits] = []
    real_attach = CallLimits.attach

    def spy_attach(self: CallLimits) -> CallLimits:
        attached.append(self)
        return real_attach(self)

    sessions: list[AgentSession] = []

    async def record_start(self: AgentSession, agent: Any = None, **kwargs: Any) -> None:
        sessions.append(self)  # room I/O needs a server: recorded, not run

    monkeypatch.setattr(CallLimits, "attach", spy_attach)
    monkeypatch.setattr(AgentSession, "start", record_start)
    room = ServerlessRoom("playground-room")
    room.join(participant("playground-user"))
    with dispatched_job(room) as ctx:
        await asyncio.wait_for(worker.entrypoint(ctx), 120)
        (session,) = sessions
        assert [lim.options for lim in attached] == [CallLimitOptions.from_settings(s)]
        assert attached[0]._session is session
        assert session.options.user_away_timeout == 7.0
        for callback in ctx._shutdown_callbacks:
            await callback("room deleted")


async def test_console_and_plain_replays_keep_livekits_defaults() -> None:
    from agents.call_limits import LIVEKIT_AWAY_TIMEOUT, limits_apply, user_away_timeout

    opts = CallLimitOptions(max_duration=120.0, silence_timeout=7.0)
    assert limits_apply(telephony=False, caller_kind="participant")
    assert limits_apply(telephony=False, caller_kind="sip")
    assert limits_apply(telephony=True, caller_kind="replay-sip")
    assert not limits_apply(telephony=False, caller_kind="console")
    assert not limits_apply(telephony=False, caller_kind="replay")
    assert user_away_timeout(opts, limited=False) == LIVEKIT_AWAY_TIMEOUT
    assert user_away_timeout(opts, limited=True) == 7.0


async def test_limits_come_from_settings():
    s = Settings.from_env({"MAX_CALL_DURATION": "120", "SILENCE_TIMEOUT": "0"})
    opts = CallLimitOptions.from_settings(s)
    assert (opts.max_duration, opts.silence_timeout, opts.active) == (120.0, 0.0, True)
    assert not CallLimitOptions.from_settings(
        Settings.from_env({"MAX_CALL_DURATION": "0", "SILENCE_TIMEOUT": "0"})
    ).active


def _ringing_room(status: str) -> tuple[rtc.Room, rtc.RemoteParticipant]:
    caller = PhoneCaller(extra_attributes={"sip.callStatus": status})
    room = caller.room()
    return room, room.remote_participants[caller.identity]


async def test_wait_for_answer_until_the_call_is_active():
    room, participant = _ringing_room("ringing")
    waiting = asyncio.create_task(wait_for_answer(room, participant, timeout=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    room.emit("participant_attributes_changed", {"sip.callStatus": "active"}, participant)
    assert await asyncio.wait_for(waiting, 1) is True


async def test_wait_for_answer_gives_up_on_hangup_or_timeout():
    room, participant = _ringing_room("dialing")
    waiting = asyncio.create_task(wait_for_answer(room, participant, timeout=5))
    await asyncio.sleep(0.05)
    room.emit("participant_attributes_changed", {"sip.callStatus": "hangup"}, participant)
    assert await asyncio.wait_for(waiting, 1) is False
    room, participant = _ringing_room("ringing")
    assert await wait_for_answer(room, participant, timeout=0.2) is False
    room, participant = _ringing_room("active")
    assert await wait_for_answer(room, participant, timeout=0.01) is True
    room, participant = _ringing_room("ringing")
    assert await wait_for_answer(room, participant, timeout=0) is True  # ANSWER_TIMEOUT=0
