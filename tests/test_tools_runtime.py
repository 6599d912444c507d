"""ToolRuntime inside an AgentSession with a scripted LLM: timeout, filler, barge-in
cancellation, argument guard, event records (text mode), and a spoken barge-in (the caller's
audio through Silero VAD and Whisper over a slow tool and over filler speech, the agent's
audio through a real-time output)."""

from __future__ import annotations

import asyncio
import json
import time
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession, RunContext, llm
from livekit.agents.voice import io
from livekit.agents.voice.run_result import RunResult
from livekit.plugins import fasterwhisper, piper, silero  # noqa: F401  (register on the main thread)

from evals.replay.io import RealtimeAudioOutput
from tests.fakes import Call, FakeLLM
from tools import ToolCallRecord, ToolRuntime, ToolRuntimeOptions, tool_event_log


def _session(fake: FakeLLM) -> AgentSession:
    return AgentSession(llm=fake)


async def test_timeout_returns_apology_and_session_goes_on():
    state: dict[str, bool] = {}

    async def slow_lookup(ctx: RunContext, query: str) -> str:
        """Slow lookup."""
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise
        return "never"

    rt = ToolRuntime(ToolRuntimeOptions(timeout=0.3, filler_phrases=()))
    fake = FakeLLM([[Call("slow_lookup", {"query": "x"})], "Sorry about that.", "Sure."])
    async with _session(fake) as session:
        await session.start(Agent(instructions="t", tools=[rt.tool(slow_lookup)]))
        result: RunResult[None] = await session.run(user_input="look it up")
        result.expect.next_event().is_function_call(name="slow_lookup")
        out = result.expect.next_event().is_function_call_output()
        assert out.event().item.output == rt.options.timeout_message
        assert not out.event().item.is_error
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        # the session goes on
        again: RunResult[None] = await session.run(user_input="ok thanks")
        again.expect.next_event().is_message(role="assistant")
    assert state["cancelled"]
    assert [r.status for r in rt.events.records] == ["timeout"]


async def test_filler_is_spoken_during_slow_tool():
    async def slow(ctx: RunContext) -> str:
        """Slow."""
        await asyncio.sleep(0.8)
        return "ready"

    rt = ToolRuntime(ToolRuntimeOptions(filler_delay=0.15, filler_phrases=("Hang on a sec.",)))
    fake = FakeLLM([[Call("slow")], "Here it is."])
    async with _session(fake) as session:
        await session.start(Agent(instructions="t", tools=[rt.tool(slow)]))
        result: RunResult[None] = await session.run(user_input="go")
        result.expect.next_event().is_function_call(name="slow")
        filler = result.expect.next_event().is_message(role="assistant").event().item
        assert filler.text_content == "Hang on a sec."
        result.expect.next_event().is_function_call_output(output="ready")
        result.expect.next_event().is_message(role="assistant")
        texts = [
            i.text_content
            for i in session.history.items
            if i.type == "message" and i.role == "assistant"
        ]
        assert "Hang on a sec." in texts
    assert rt.events.records[-1].filler is True


async def test_fast_tool_has_no_filler():
    async def fast(ctx: RunContext) -> str:
        """Fast."""
        return "ok"

    rt = ToolRuntime(ToolRuntimeOptions(filler_delay=0.5))
    fake = FakeLLM([[Call("fast")], "Done."])
    async with _session(fake) as session:
        await session.start(Agent(instructions="t", tools=[rt.tool(fast)]))
        result: RunResult[None] = await session.run(user_input="go")
        result.expect.next_event().is_function_call(name="fast")
        result.expect.next_event().is_function_call_output(output="ok")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()


async def test_barge_in_cancels_cancellable_tool():
    state: dict[str, bool] = {}
    started = asyncio.Event()

    async def search(ctx: RunContext, query: str) -> str:
        """Search."""
        started.set()
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise
        return "found"

    rt = ToolRuntime(ToolRuntimeOptions(filler_phrases=()))
    fake = FakeLLM([[Call("search", {"query": "q"})]])
    async with _session(fake) as session:
        await session.start(Agent(instructions="t", tools=[rt.tool(search, cancellable=True)]))
        run: RunResult[None] = session.run(user_input="find it")
        await asyncio.wait_for(started.wait(), 5)
        session.interrupt()  # what a barge-in does to the current speech
        result = await asyncio.wait_for(run, 5)
        outs = [e for e in result.events if e.type == "function_call_output"]
        assert outs and outs[0].item.output == rt.options.cancelled_message
    assert state["cancelled"]
    assert rt.events.records[-1].status == "cancelled"
    assert rt.events.records[-1].duration_s < 2


async def test_non_cancellable_tool_survives_barge_in():
    started = asyncio.Event()

    async def write(ctx: RunContext) -> str:
        """Write."""
        started.set()
        await asyncio.sleep(0.3)
        return "written"

    rt = ToolRuntime(ToolRuntimeOptions(filler_phrases=()))
    fake = FakeLLM([[Call("write")]])
    async with _session(fake) as session:
        await session.start(Agent(instructions="t", tools=[rt.tool(write)]))
        run: RunResult[None] = session.run(user_input="save")
        await asyncio.wait_for(started.wait(), 5)
        session.interrupt()
        await asyncio.wait_for(run, 5)
        await asyncio.sleep(0.5)
    assert rt.events.records[-1].status == "ok"
    assert rt.events.records[-1].result == "written"


async def test_argument_guard_and_event_records():
    async def echo(ctx: RunContext, text: str) -> dict:
        """Echo."""
        return {"text": text}

    rt = ToolRuntime(ToolRuntimeOptions(max_arg_chars=50))
    started: list[dict] = []
    finished: list[ToolCallRecord] = []
    on_session: list[ToolCallRecord] = []
    rt.events.on("tool_call_started", started.append)
    rt.events.on("tool_call_finished", finished.append)
    fake = FakeLLM(
        [[Call("echo", {"text": "y" * 80})], "Too long.", [Call("echo", {"text": "hi"})], "Ok."]
    )
    async with _session(fake) as session:
        session.on("tool_call_finished", on_session.append)  # type: ignore[arg-type]
        await session.start(Agent(instructions="t", tools=[rt.tool(echo)]))
        r1: RunResult[None] = await session.run(user_input="a")
        r1.expect.next_event().is_function_call(name="echo")
        err = r1.expect.next_event().is_function_call_output().event().item
        assert err.is_error and "too long" in err.output
        r2: RunResult[None] = await session.run(user_input="b")
        r2.expect.next_event().is_function_call(name="echo", arguments={"text": "hi"})
        r2.expect.next_event().is_function_call_output(output='{"text": "hi"}')
        per_session = list(tool_event_log(session).records)
    assert [s["name"] for s in started] == ["echo", "echo"]
    assert [r.status for r in finished] == ["error", "ok"]
    bad, good = finished
    assert bad.error and "too long" in bad.error and bad.result is None
    assert good.arguments == {"text": "hi"} and good.result == {"text": "hi"}
    assert good.call_id and good.turn_id and good.duration_s >= 0
    assert good.model_dump()["type"] == "tool_call_finished"
    assert on_session == finished == per_session


def test_wrap_requires_ctx_first():
    async def bad(query: str) -> str:
        return query

    with pytest.raises(TypeError):
        ToolRuntime().tool(bad)


# ---- spoken barge-in: caller audio through Silero VAD, the agent's audio through a real-time
# sink (the replay's `RealtimeAudioOutput`), local Whisper and Piper; only the LLM is scripted


ORDER_CALL = Path(__file__).resolve().parent.parent / "samples" / "order_call.wav"
BARGE_IN_LINE = 1
"""`samples/order_call.json` turn 2: "And a hot chocolate too, please." (2.3 s of speech)."""


class CallerMicrophone(io.AudioInput):
    """The caller's microphone: 20 ms frames paced in real time, silence until the test makes
    the caller `say` a recorded line (so a barge-in is timed by what the agent is doing, not
    by a wall-clock guess)."""

    def __init__(self, sample_rate: int = 16000) -> None:
        super().__init__(label="CallerMicrophone")
        self._rate = sample_rate
        self._spf = sample_rate // 50
        self._pending = np.zeros(0, dtype=np.int16)
        self._t0: float | None = None
        self._index = 0
        self.spoke_at: float | None = None

    def say(self, pcm: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, pcm.astype(np.int16)])
        self.spoke_at = time.time()

    async def __anext__(self) -> rtc.AudioFrame:
        if self._t0 is None:
            self._t0 = time.time()
        self._index += 1
        delay = self._t0 + self._index * self._spf / self._rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk, self._pending = self._pending[: self._spf], self._pending[self._spf :]
        if len(chunk) < self._spf:
            chunk = np.concatenate([chunk, np.zeros(self._spf - len(chunk), dtype=np.int16)])
        return rtc.AudioFrame(chunk.tobytes(), self._rate, 1, self._spf)


@dataclass
class Playback:
    """One segment the agent's audio output played: what it heard, and how it ended."""

    started_at: float
    finished_at: float | None = None
    position: float | None = None
    interrupted: bool | None = None


class PlaybackLog:
    def __init__(self, out: io.AudioOutput) -> None:
        self.segments: list[Playback] = []
        self.changed = asyncio.Event()
        out.on("playback_started", self._started)
        out.on("playback_finished", self._finished)

    def _started(self, ev: io.PlaybackStartedEvent) -> None:
        self.segments.append(Playback(started_at=ev.created_at))
        self.changed.set()

    def _finished(self, ev: io.PlaybackFinishedEvent) -> None:
        seg = self.segments[-1]
        seg.finished_at, seg.position = time.time(), ev.playback_position
        seg.interrupted = ev.interrupted
        self.changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 120) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


GREETING = "Hi, thanks for calling the coffee shop. What can I get started for you today?"
SLOW_TOOL_TIMEOUT = 300.0
"""Longer than any test: Whisper on a loaded 2-core box has taken 12 s to transcribe the
barge-in, and only the barge-in may end these tools."""


ANSWER = "One hot chocolate, coming up."


async def _until_answered(session: AgentSession, timeout: float = 180) -> None:
    """Until the agent's answer to the barge-in is in the history (added once it has played)."""
    added = asyncio.Event()
    session.on("conversation_item_added", lambda _: added.set())

    def answered() -> bool:
        return any(
            i.type == "message" and i.role == "assistant" and i.text_content == ANSWER
            for i in session.history.items
        )

    async with asyncio.timeout(timeout):
        while not answered():
            added.clear()
            await added.wait()


def _caller_line(index: int) -> np.ndarray:
    manifest = json.loads(ORDER_CALL.with_suffix(".json").read_text())
    turn = manifest["caller_turns"][index]
    with wave.open(str(ORDER_CALL)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return pcm[int(turn["start"] * 16000) : int(turn["end"] * 16000) + 1600]


def _answer_the_last_caller_line(ctx: llm.ChatContext) -> str:
    said = [i.text_content or "" for i in ctx.items if i.type == "message" and i.role == "user"]
    if said and "chocolate" in said[-1].lower():
        return ANSWER
    return "Okay."


@asynccontextmanager
async def _spoken_session(
    fake: FakeLLM, agent: Agent
) -> AsyncIterator[tuple[AgentSession, CallerMicrophone, PlaybackLog]]:
    session: AgentSession = AgentSession(
        llm=fake,
        stt=fasterwhisper.STT(),
        tts=piper.TTS(),
        vad=silero.VAD.load(),
        turn_handling={"turn_detection": "vad"},
    )
    mic, out = CallerMicrophone(), RealtimeAudioOutput()
    session.input.audio, session.output.audio = mic, out
    playback = PlaybackLog(out)
    async with session:
        await session.start(agent)
        # a call opens with the greeting; it also spends LiveKit's echo-cancellation warm-up
        # (`aec_warmup_duration`, 3 s of agent speech during which no barge-in counts)
        await session.say(GREETING)
        yield session, mic, playback


@pytest.mark.slow
async def test_spoken_barge_in_over_filler_speech_cuts_it_and_the_next_turn_is_answered() -> None:
    started = asyncio.Event()

    async def find_drink(ctx: RunContext, query: str) -> str:
        """Find a drink."""
        started.set()
        await asyncio.sleep(2 * SLOW_TOOL_TIMEOUT)
        return "found"

    # ~20 s of speech: the caller's voice only pauses it (LiveKit resumes a paused reply 2 s
    # after the caller stops if no words came), and the cut lands once Whisper has the words,
    # which took 12 s on a loaded 2-core box
    filler = (
        "Let me look that up for you, it will only take a moment. I am checking what we have "
        "today, and which sizes and milks go with it. Thank you for waiting, I am nearly there. "
        "Our menu changes with the season, so I want to be sure about every option before I "
        "tell you. The system is a little slow this morning, thank you for your patience."
    )
    rt = ToolRuntime(
        ToolRuntimeOptions(
            timeout=SLOW_TOOL_TIMEOUT, filler_delay=0.2, filler_phrases=(filler,), max_fillers=1
        )
    )
    fake = FakeLLM([[Call("find_drink", {"query": "latte"})]], default_reply="Okay.")
    fake.push(*[_answer_the_last_caller_line] * 4)
    agent = Agent(instructions="t", tools=[rt.tool(find_drink, cancellable=True)])
    async with _spoken_session(fake, agent) as (session, mic, playback):
        greeted = len(playback.segments)
        session.generate_reply(user_input="Do you have a latte?")
        await asyncio.wait_for(started.wait(), 60)
        await playback.until(lambda: len(playback.segments) > greeted)  # the filler plays
        mic.say(_caller_line(BARGE_IN_LINE))  # the caller talks over it
        await playback.until(lambda: playback.segments[greeted].interrupted is not None)
        await _until_answered(session)
        history = list(session.history.items)
    cut, answer = playback.segments[greeted], playback.segments[-1]
    # the filler was cut by the caller's voice: interrupted, after the caller started talking
    assert cut.interrupted is True
    assert mic.spoke_at is not None and cut.finished_at is not None
    assert cut.finished_at > mic.spoke_at
    filler_said = next(i for i in history if i.type == "message" and i.text_content == filler)
    assert filler_said.interrupted
    # the read-only tool was cancelled by the barge-in and said so
    assert [r.status for r in rt.events.records] == ["cancelled"]
    # the caller's words were heard (Silero + Whisper) and answered, in full
    users = [i for i in history if i.type == "message" and i.role == "user"]
    assert "chocolate" in (users[-1].text_content or "").lower(), users[-1].text_content
    replies = [i for i in history if i.type == "message" and i.role == "assistant"]
    assert replies[-1].text_content == ANSWER
    # played in full, after the cut
    assert not replies[-1].interrupted and answer.interrupted is False
    assert answer.position and answer.position > 0.5 and answer.started_at > cut.started_at


@pytest.mark.slow
async def test_spoken_barge_in_while_a_slow_tool_runs_silently() -> None:
    """No filler yet (the tool is silent): the caller's voice alone cancels the read-only
    lookup, and a write that is already running completes; the caller is answered."""
    started = asyncio.Event()
    finished: list[str] = []

    async def find_drink(ctx: RunContext, query: str) -> str:
        """Find a drink."""
        started.set()
        await asyncio.sleep(2 * SLOW_TOOL_TIMEOUT)
        return "found"

    async def save_note(ctx: RunContext, note: str) -> str:
        """Save a note."""
        await started.wait()
        await asyncio.sleep(3)
        finished.append(note)
        return "saved"

    rt = ToolRuntime(ToolRuntimeOptions(timeout=SLOW_TOOL_TIMEOUT, filler_phrases=()))
    fake = FakeLLM(
        [[Call("find_drink", {"query": "latte"}), Call("save_note", {"note": "latte"})]],
        default_reply="Okay.",
    )
    fake.push(*[_answer_the_last_caller_line] * 4)
    tools: list[llm.Tool | llm.Toolset] = [
        rt.tool(find_drink, cancellable=True),
        rt.tool(save_note),
    ]
    async with _spoken_session(fake, Agent(instructions="t", tools=[*tools])) as (
        session,
        mic,
        playback,
    ):
        greeted = len(playback.segments)
        session.generate_reply(user_input="A latte, and note it down.")
        await asyncio.wait_for(started.wait(), 60)
        assert len(playback.segments) == greeted  # nothing is being said
        mic.say(_caller_line(BARGE_IN_LINE))
        await _until_answered(session)
        history = list(session.history.items)
    by_name = {r.name: r.status for r in rt.events.records}
    assert by_name == {"find_drink": "cancelled", "save_note": "ok"}
    assert finished == ["latte"]
    users = [i for i in history if i.type == "message" and i.role == "user"]
    assert "chocolate" in (users[-1].text_content or "").lower()
    replies = [i for i in history if i.type == "message" and i.role == "assistant"]
    assert replies[-1].text_content == ANSWER and not replies[-1].interrupted
    assert playback.segments[-1].interrupted is False


@pytest.mark.slow
async def test_a_caller_who_speaks_over_the_goodbye_is_not_hung_up_on() -> None:
    """`end_call`'s goodbye plays; the caller talks over it ("Bye. Oh, and a hot chocolate"):
    LiveKit's barge-in stops the goodbye, the hang-up is called off, and the caller's words
    are heard and answered. Real Silero, Whisper and Piper; the production `end_call`."""
    from tools import CallControlOptions, build_call_control_tools

    hung_up: list[bool] = []
    closed = asyncio.Event()
    goodbye = (
        "Thanks so much for calling the coffee shop today. We hope to see you again very "
        "soon, and have a lovely rest of your day. Goodbye!"
    )  # long enough for a barge-in to land on it
    tools = build_call_control_tools(
        ToolRuntime(ToolRuntimeOptions(filler_phrases=())),
        options=CallControlOptions(goodbye=goodbye),
        on_hangup=lambda: hung_up.append(True),
    )
    fake = FakeLLM([[Call("end_call")]], default_reply="Okay.")
    fake.push(*[_answer_the_last_caller_line] * 4)
    async with _spoken_session(fake, Agent(instructions="t", tools=[*tools])) as (
        session,
        mic,
        playback,
    ):
        session.on("close", lambda _ev: closed.set())
        greeted = len(playback.segments)
        session.generate_reply(user_input="That's all, bye.")
        await playback.until(lambda: len(playback.segments) > greeted)  # the goodbye plays
        mic.say(_caller_line(BARGE_IN_LINE))  # "And a hot chocolate too, please."
        await playback.until(lambda: playback.segments[greeted].interrupted is not None)
        await _until_answered(session)
        history = list(session.history.items)
        assert not closed.is_set() and not hung_up  # the call goes on
    cut = playback.segments[greeted]
    assert cut.interrupted is True  # the goodbye stopped where the caller spoke
    said = next(i for i in history if i.type == "message" and i.text_content == goodbye)
    assert said.interrupted
    users = [i for i in history if i.type == "message" and i.role == "user"]
    assert "chocolate" in (users[-1].text_content or "").lower(), users[-1].text_content
    replies = [i for i in history if i.type == "message" and i.role == "assistant"]
    assert replies[-1].text_content == ANSWER
