"""end_call, transfer_to_human, DTMF buffer and get_dtmf_digits."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession, RunResult, utils
from livekit.agents.testing import fake_job_context

import tools.call_control as cc
from evals.replay.telephony import PhoneCaller
from tests.fakes import Call, FakeLLM
from tests.loopback.livekit_api import LiveKitApiServer
from tools import (
    CallControlOptions,
    DtmfBuffer,
    ToolRuntime,
    ToolRuntimeOptions,
    build_call_control_tools,
)


def _rt() -> ToolRuntime:
    return ToolRuntime(ToolRuntimeOptions(filler_phrases=()))


async def test_end_call_says_goodbye_then_ends_session():
    hung_up = asyncio.Event()
    closed = asyncio.Event()
    tools = build_call_control_tools(
        _rt(), options=CallControlOptions(goodbye="Bye now!"), on_hangup=hung_up.set
    )
    fake = FakeLLM([[Call("end_call")]])
    session: AgentSession[None] = AgentSession(llm=fake)
    session.on("close", lambda _ev: closed.set())
    await session.start(Agent(instructions="t", tools=[*tools]))
    r: RunResult[None] = await session.run(user_input="that's all, bye")
    r.expect.next_event().is_function_call(name="end_call")
    await asyncio.wait_for(hung_up.wait(), 5)
    await asyncio.wait_for(closed.wait(), 5)
    texts = [
        i.text_content
        for i in session.history.items
        if i.type == "message" and i.role == "assistant"
    ]
    assert texts[-1] == "Bye now!"


async def test_transfer_without_room_explains_and_goes_on():
    opts = CallControlOptions()
    fake = FakeLLM([[Call("transfer_to_human", {"reason": "complaint"})], "Sorry, nobody is free."])
    async with AgentSession(llm=fake) as session:
        await session.start(
            Agent(
                instructions="t",
                tools=[*build_call_control_tools(_rt(), transfer_to="tel:+15550100")],
            )
        )
        r: RunResult[None] = await session.run(user_input="get me a human")
        r.expect.next_event().is_function_call(name="transfer_to_human")
        r.expect.next_event().is_function_call_output(output=opts.no_human_message)
        r.expect.next_event().is_message(role="assistant")


class _FakeSip:
    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def transfer_sip_participant(self, req: Any) -> None:
        self.requests.append(req)


def _fake_job(kind: int) -> Any:
    caller = SimpleNamespace(identity="sip_caller", kind=kind)
    room = SimpleNamespace(name="call-room", remote_participants={"sip_caller": caller})
    return SimpleNamespace(room=room, api=SimpleNamespace(sip=_FakeSip()))


async def test_transfer_sip_caller_uses_livekit_api(monkeypatch):
    job = _fake_job(rtc.ParticipantKind.PARTICIPANT_KIND_SIP)
    monkeypatch.setattr(cc, "get_job_context", lambda required=False: job)
    fake = FakeLLM([[Call("transfer_to_human")], "Transferring."])
    async with AgentSession(llm=fake) as session:
        await session.start(
            Agent(
                instructions="t",
                tools=[*build_call_control_tools(_rt(), transfer_to="tel:+15550100")],
            )
        )
        r: RunResult[None] = await session.run(user_input="a person please")
        r.expect.next_event().is_function_call(name="transfer_to_human")
        r.expect.next_event().is_function_call_output(
            output="The caller has been transferred to a staff member."
        )
    (req,) = job.api.sip.requests
    assert (req.room_name, req.participant_identity, req.transfer_to) == (
        "call-room",
        "sip_caller",
        "tel:+15550100",
    )


async def test_transfer_non_sip_or_no_target(monkeypatch):
    job = _fake_job(rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD)
    monkeypatch.setattr(cc, "get_job_context", lambda required=False: job)
    monkeypatch.delenv("TRANSFER_TO", raising=False)
    fake = FakeLLM([[Call("transfer_to_human")], "Sorry."])
    async with AgentSession(llm=fake) as session:
        await session.start(
            Agent(instructions="t", tools=[*build_call_control_tools(_rt(), transfer_to="")])
        )
        r: RunResult[None] = await session.run(user_input="a person please")
        r.expect.next_event().is_function_call(name="transfer_to_human")
        r.expect.next_event().is_function_call_output(output=CallControlOptions().no_human_message)
    assert job.api.sip.requests == []


async def test_dtmf_buffer_room_events_and_collect():
    room: rtc.EventEmitter[str] = rtc.EventEmitter()  # the buffer only needs on/off from the room
    buf = DtmfBuffer().attach(room)  # type: ignore[arg-type]
    for d in "4155#9":
        room.emit("sip_dtmf_received", rtc.SipDTMF(code=0, digit=d))
    assert await buf.collect(max_digits=10, wait=0.5) == "4155"
    assert buf.peek() == ""
    buf.detach()
    room.emit("sip_dtmf_received", rtc.SipDTMF(code=0, digit="1"))
    assert buf.peek() == ""

    async def typing() -> None:
        for d in "123":
            await asyncio.sleep(0.05)
            buf.feed(d)

    task = asyncio.create_task(typing())
    assert await buf.collect(max_digits=3, wait=2.0) == "123"
    await task
    assert await buf.collect(wait=0.1) == ""


async def test_get_dtmf_digits_tool():
    buf = DtmfBuffer()
    buf.feed("28740#")
    fake = FakeLLM([[Call("get_dtmf_digits", {"max_digits": 5})], "Order 28740."])
    async with AgentSession(llm=fake) as session:
        await session.start(
            Agent(instructions="t", tools=[*build_call_control_tools(_rt(), dtmf=buf)])
        )
        r: RunResult[None] = await session.run(user_input="I typed my order number")
        r.expect.next_event().is_function_call(name="get_dtmf_digits")
        out = r.expect.next_event().is_function_call_output().event().item
        assert json.loads(out.output) == {"digits": "28740"}


# ---------------------------------------------------------------- inside a LiveKit job
# The job is LiveKit's own fake job (`livekit.agents.testing.fake_job_context`) whose room
# holds a SIP caller; the server API is the loopback Twirp server, reached through the real
# livekit-api client that `JobContext.api` builds from LIVEKIT_URL / key / secret.


@contextlib.asynccontextmanager
async def _phone_job(
    monkeypatch: pytest.MonkeyPatch, *, fail_transfer: bool = False
) -> AsyncIterator[tuple[Any, LiveKitApiServer]]:
    async with LiveKitApiServer(fail_transfer=fail_transfer) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        room = PhoneCaller(phone_number="+15550100777").room("call-room")
        async with utils.http_context.open():
            with fake_job_context(room=room) as job:
                shutdowns: list[str] = []
                job._on_shutdown = shutdowns.append  # what the worker does on shutdown
                job.shutdowns = shutdowns  # type: ignore[attr-defined]
                yield job, server


async def _end_call_in_job(options: CallControlOptions, server: LiveKitApiServer) -> Any:
    closed = asyncio.Event()
    fake = FakeLLM([[Call("end_call")]])
    session: AgentSession[None] = AgentSession(llm=fake)
    session.on("close", lambda _ev: closed.set())
    await session.start(
        Agent(instructions="t", tools=[*build_call_control_tools(_rt(), options=options)])
    )
    r: RunResult[None] = await session.run(user_input="that's all, goodbye")
    r.expect.next_event().is_function_call(name="end_call")
    await asyncio.wait_for(closed.wait(), 5)
    for _ in range(50):  # the hang-up follows the session's close
        if server.calls:
            break
        await asyncio.sleep(0.05)
    return session


async def test_end_call_in_a_job_deletes_the_room_after_the_goodbye(monkeypatch):
    async with _phone_job(monkeypatch) as (job, server):
        session = await _end_call_in_job(CallControlOptions(goodbye="Bye now!"), server)
        await asyncio.sleep(0.2)
        assert server.methods() == ["DeleteRoom"]
        assert server.calls[0][1].room == "call-room"
        assert job.shutdowns == ["end_call"]
    said = [i.text_content for i in session.history.items if i.type == "message"]
    assert said[-1] == "Bye now!"


async def test_end_call_can_remove_just_the_sip_participant(monkeypatch):
    async with _phone_job(monkeypatch) as (job, server):
        await _end_call_in_job(CallControlOptions(delete_room=False), server)
        await asyncio.sleep(0.2)
        assert server.methods() == ["RemoveParticipant"]
        req = server.calls[0][1]
        assert (req.room, req.identity) == ("call-room", "sip_+15550100777")
        assert job.shutdowns == ["end_call"]


async def test_transfer_failure_is_spoken_and_the_call_goes_on(monkeypatch):
    async with _phone_job(monkeypatch, fail_transfer=True) as (job, server):
        fake = FakeLLM(
            [
                [Call("transfer_to_human", {"reason": "complaint"})],
                "I'm sorry, the transfer didn't go through. Can I help with your order?",
                "Sure, one latte.",
            ]
        )
        async with AgentSession(llm=fake) as session:
            await session.start(
                Agent(
                    instructions="t",
                    tools=[*build_call_control_tools(_rt(), transfer_to="tel:+15550100")],
                )
            )
            r: RunResult[None] = await session.run(user_input="put me through to a manager")
            r.expect.next_event().is_function_call(name="transfer_to_human")
            out = r.expect.next_event().is_function_call_output().event().item
            assert "did not go through" in out.output
            r.expect.next_event().is_message(role="assistant")
            r.expect.no_more_events()
            # the call goes on: the next turn is answered in the same session
            r2: RunResult[None] = await session.run(user_input="fine, a latte then")
            r2.expect.next_event().is_message(role="assistant")
        (method, req) = server.calls[0]
        assert method == "TransferSIPParticipant"
        assert (req.room_name, req.participant_identity, req.transfer_to) == (
            "call-room",
            "sip_+15550100777",
            "tel:+15550100",
        )
        assert job.shutdowns == []
        assert "DeleteRoom" not in server.methods()


def test_a_realtime_model_with_server_turns_is_asked_for_the_goodbye_as_it_can_say_it() -> None:
    """LiveKit refuses `allow_interruptions=False` for a realtime model with server-side turn
    detection; asking for it left a native call's goodbye unspoken. `say_line` asks for
    what the model can do, and an uninterruptible line where the model allows it."""
    from types import SimpleNamespace

    from livekit.plugins import openai

    from tools.call_control import say_line

    asked: list[dict[str, object]] = []
    for turn_detection in (True, False):
        model = openai.realtime.RealtimeModel(api_key="test")
        model._capabilities.turn_detection = turn_detection  # as built with/without server VAD
        session = SimpleNamespace(llm=model, tts=None, generate_reply=lambda **kw: asked.append(kw))
        say_line(session, "Thanks for calling. Goodbye!", allow_interruptions=False)  # type: ignore[arg-type]
    assert asked[0]["allow_interruptions"] is True
    assert asked[1]["allow_interruptions"] is False
    assert asked[0]["instructions"] == "Say exactly: Thanks for calling. Goodbye!"
