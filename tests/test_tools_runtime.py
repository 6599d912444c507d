"""ToolRuntime inside a text-mode AgentSession with a scripted LLM: timeout, filler,
barge-in cancellation, argument guard, event records."""

from __future__ import annotations

import asyncio

import pytest
from livekit.agents import Agent, AgentSession, RunContext

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
        result = await session.run(user_input="look it up")
        result.expect.next_event().is_function_call(name="slow_lookup")
        out = result.expect.next_event().is_function_call_output()
        assert out.event().item.output == rt.options.timeout_message
        assert not out.event().item.is_error
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        # the session goes on
        again = await session.run(user_input="ok thanks")
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
        result = await session.run(user_input="go")
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
        result = await session.run(user_input="go")
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
        run = session.run(user_input="find it")
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
        run = session.run(user_input="save")
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
        r1 = await session.run(user_input="a")
        r1.expect.next_event().is_function_call(name="echo")
        err = r1.expect.next_event().is_function_call_output().event().item
        assert err.is_error and "too long" in err.output
        r2 = await session.run(user_input="b")
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
