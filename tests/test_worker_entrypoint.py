"""The worker's job entrypoint (`agents.worker.entrypoint`) as LiveKit runs it for a dispatched
room: a real `JobContext` (not a fake job, so it waits for the caller), a room holding real
`rtc.RemoteParticipant` objects, brain selection from the job's metadata and the participant's
attributes, the telephony variant for a SIP caller, the session started on that participant,
and the job's shutdown callbacks closing the call.

With no LiveKit server here, two things are stood in for: the room's connection (an
unconnected `rtc.Room` that reports itself connected and lets the test add participants, as
the SDK does when the server announces them) and `AgentSession.start`'s room I/O (which needs
a server to publish a track): `start` is recorded, not run. Everything between (the worker's
settings, `choose_brain`, `open_call` with its real brain, store and tools, the agent) is the
production code.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import AgentSession, JobContext
from livekit.agents.job import (
    JobAcceptArguments,
    JobExecutorType,
    JobProcess,
    RunningJobInfo,
    _JobContextVar,
)
from livekit.agents.utils import shortuuid
from livekit.protocol import agent as agent_proto
from livekit.protocol import models
from livekit.rtc._proto import handle_pb2, participant_pb2

from agents import worker
from agents.coffee_agent import TELEPHONY_NOTE, CoffeeAgent
from agents.config import Settings
from tools.coffee import OrderStore

KIND = rtc.ParticipantKind


class ServerlessRoom(rtc.Room):
    """An `rtc.Room` as a job sees it once connected, without a server: participants are
    added by the test the way the SDK adds them when the server announces one."""

    def __init__(self, name: str = "call-room") -> None:
        super().__init__()
        self._info.name = name

    def isconnected(self) -> bool:
        return True

    def join(self, participant: rtc.RemoteParticipant) -> None:
        self._remote_participants[participant.identity] = participant
        self.emit("participant_connected", participant)
        self.emit("participant_active", participant)

    @property
    def someone_waits_for_a_participant(self) -> bool:
        return bool(self._events.get("participant_active"))


def participant(
    identity: str,
    kind: rtc.ParticipantKind.ValueType = KIND.PARTICIPANT_KIND_STANDARD,
    attributes: dict[str, str] | None = None,
) -> rtc.RemoteParticipant:
    """A real `rtc.RemoteParticipant`, active, with no native handle (it never joined a server)."""
    info = participant_pb2.ParticipantInfo(
        sid=shortuuid("PA_"),
        identity=identity,
        kind=kind,  # type: ignore[arg-type]
        attributes=attributes or {},
        state=participant_pb2.ParticipantState.PARTICIPANT_STATE_ACTIVE,
    )
    owned = participant_pb2.OwnedParticipant(handle=handle_pb2.FfiOwnedHandle(id=0), info=info)
    return rtc.RemoteParticipant(owned)


@contextmanager
def dispatched_job(room: rtc.Room, metadata: str = "", url: str = "") -> Iterator[JobContext]:
    """A real `JobContext` for a room dispatch, built as `livekit.agents.testing.
    fake_job_context` builds one, but *not* a fake job: the entrypoint treats it as a live
    call (a fake job is the console's, which has no caller to wait for)."""
    job = agent_proto.Job(
        id=shortuuid("AJ_"),
        room=models.Room(name=room.name, sid=shortuuid("RM_")),
        type=agent_proto.JobType.JT_ROOM,
        metadata=metadata,
    )
    info = RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity="agent", name="", metadata=""),
        job=job, url=url, token="", worker_id="test-worker", fake_job=False,
    )  # fmt: skip
    proc = JobProcess(executor_type=JobExecutorType.THREAD, user_arguments=None, http_proxy=None)
    ctx = JobContext(
        proc=proc, info=info, room=room, on_connect=lambda: None,
        on_shutdown=lambda _reason: None, inference_executor=None,  # type: ignore[arg-type]
    )  # fmt: skip
    ctx._connected = True  # the room above is "connected"; nothing to dial
    token = _JobContextVar.set(ctx)
    try:
        yield ctx
    finally:
        _JobContextVar.reset(token)


@dataclass
class Started:
    session: AgentSession
    agent: Any
    room: rtc.Room | None
    participant_identity: Any


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Started]:
    """Every `AgentSession.start` the entrypoint makes, recorded instead of opening room I/O."""
    calls: list[Started] = []

    async def record_start(self: AgentSession, agent: Any = None, **kwargs: Any) -> None:
        options = kwargs.get("room_options")
        identity = getattr(options, "participant_identity", None)
        calls.append(Started(self, agent, kwargs.get("room"), identity))

    monkeypatch.setattr(AgentSession, "start", record_start)
    return calls


@pytest.fixture
def closed_stores(monkeypatch: pytest.MonkeyPatch) -> list[OrderStore]:
    closed: list[OrderStore] = []
    real_close = OrderStore.close

    async def spy_close(self: OrderStore) -> None:
        closed.append(self)
        await real_close(self)

    monkeypatch.setattr(OrderStore, "close", spy_close)
    return closed


def use_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **kwargs: Any) -> Settings:
    s = Settings(orders_db=str(tmp_path / "orders.sqlite"), **kwargs)
    monkeypatch.setattr(worker, "settings", lambda: s)
    return s


def brain_logged(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    records = [r for r in caplog.records if hasattr(r, "source") and hasattr(r, "brain")]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    return records[0]


async def shut_down(ctx: JobContext, reason: str = "room deleted") -> None:
    """What LiveKit does when the job ends: every shutdown callback, with the reason."""
    for callback in ctx._shutdown_callbacks:
        await callback(reason)


async def test_waits_for_the_caller_and_starts_the_session_on_them(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    started: list[Started],
    closed_stores: list[OrderStore],
) -> None:
    use_settings(monkeypatch, tmp_path, brain="local")
    room = ServerlessRoom()
    with dispatched_job(room) as ctx, caplog.at_level(logging.INFO, logger="voice_suite"):
        job = asyncio.create_task(worker.entrypoint(ctx))
        async with asyncio.timeout(30):
            while not room.someone_waits_for_a_participant:
                assert not job.done(), job.exception()
                await asyncio.sleep(0.01)
        # the job is parked on the room's participant event: no brain, no session yet
        assert started == [] and not job.done()
        room.join(participant("other-agent", KIND.PARTICIPANT_KIND_AGENT))  # not a caller
        await asyncio.sleep(0.05)
        assert started == [] and not job.done()
        room.join(participant("playground-user"))
        await asyncio.wait_for(job, 120)
        assert len(started) == 1
        run = started[0]
        assert run.room is room
        assert run.participant_identity == "playground-user"
        assert isinstance(run.agent, CoffeeAgent)
        assert TELEPHONY_NOTE not in str(run.agent.instructions)
        assert brain_logged(caplog).brain == "local"  # type: ignore[attr-defined]
        assert ctx._shutdown_callbacks, "the call must be closed when the job ends"
        await shut_down(ctx)
    assert len(closed_stores) == 1, "the call's order store is closed at shutdown"


@pytest.mark.parametrize(
    ("metadata", "attributes", "brain", "source"),
    [
        # dispatch metadata wins over the participant's attribute
        (json.dumps({"brain": "native"}), {"brain": "local"}, "native", "metadata"),
        # no metadata: the participant's attribute (playground token attributes)
        ("", {"brain": "native"}, "native", "participant"),
        ("", {"brain": "local"}, "local", "participant"),
        # an unusable request is skipped, never fatal: the next source answers
        ('{"brain": "telepathy"}', {"brain": "local"}, "local", "participant"),
    ],
)
async def test_brain_from_job_metadata_then_participant_attributes(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    started: list[Started],
    metadata: str,
    attributes: dict[str, str],
    brain: str,
    source: str,
) -> None:
    # keys for native are present; BRAIN (the third source) is never reached here
    use_settings(monkeypatch, tmp_path, openai_api_key="test", brain="cascade")
    room = ServerlessRoom()
    room.join(
        participant("caller", attributes=attributes)
    )  # already in the room when the job starts
    with dispatched_job(room, metadata) as ctx, caplog.at_level(logging.INFO, logger="voice_suite"):
        await asyncio.wait_for(worker.entrypoint(ctx), 120)
        await shut_down(ctx)
    record = brain_logged(caplog)
    assert (record.brain, record.source) == (brain, source)  # type: ignore[attr-defined]
    assert [s.participant_identity for s in started] == ["caller"]


async def test_a_sip_caller_gets_the_telephony_variant(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    started: list[Started],
    closed_stores: list[OrderStore],
) -> None:
    use_settings(monkeypatch, tmp_path, openai_api_key="test")
    room = ServerlessRoom("sip-call")
    sip_caller = participant(
        "sip_+15550100123",
        KIND.PARTICIPANT_KIND_SIP,
        {"sip.phoneNumber": "+15550100123", "sip.callStatus": "active"},
    )
    room.join(sip_caller)
    metadata = json.dumps({"brain": "native"})  # a SIP dispatch rule's agent metadata
    with dispatched_job(room, metadata) as ctx, caplog.at_level(logging.INFO, logger="voice_suite"):
        await asyncio.wait_for(worker.entrypoint(ctx), 120)
        assert brain_logged(caplog).brain == "native-telephony"  # type: ignore[attr-defined]
        (run,) = started
        assert run.participant_identity == "sip_+15550100123"
        assert TELEPHONY_NOTE in run.agent.instructions
        await shut_down(ctx, "sip hangup")
    assert len(closed_stores) == 1
