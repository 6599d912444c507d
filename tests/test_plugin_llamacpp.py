"""livekit-plugins-llamacpp: streaming chat and grammar-constrained tool calls (SmolLM2-135M)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from livekit.agents import llm
from livekit.agents.llm.utils import function_arguments_to_pydantic_model
from livekit.plugins import llamacpp
from livekit.plugins.llamacpp import prompt, tool_calls


@llm.function_tool
async def get_menu_items(query: str) -> str:
    """Look up drinks and food on the coffee shop menu that match a search query.

    Args:
        query: what to search for, e.g. "latte"
    """
    return "latte, oat latte, vanilla latte"


@llm.function_tool
async def add_order_item(item: str, quantity: int = 1) -> str:
    """Add an item to the customer's order."""
    return f"added {quantity} {item}"


def make_test_chat_ctx(user_text: str = "What kinds of lattes do you have?") -> llm.ChatContext:
    ctx = llm.ChatContext()
    ctx.add_message(
        role="system",
        content="You are a friendly barista at a coffee shop. Answer in one short sentence.",
    )
    ctx.add_message(role="user", content=user_text)
    return ctx


async def collect(stream: llm.LLMStream) -> list[llm.ChatChunk]:
    chunks: list[llm.ChatChunk] = []
    async with stream:
        async for chunk in stream:
            chunks.append(chunk)
    return chunks


def text_of(chunks: list[llm.ChatChunk]) -> str:
    return "".join(c.delta.content or "" for c in chunks if c.delta)


def tool_calls_of(chunks: list[llm.ChatChunk]) -> list[llm.FunctionToolCall]:
    return [tc for c in chunks if c.delta for tc in c.delta.tool_calls]


# ---- no model needed ---------------------------------------------------------------------


def test_missing_or_invalid_model_is_a_clear_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model_path"):
        llamacpp.LLM(model_path=tmp_path / "missing.gguf")
    not_gguf = tmp_path / "fake.gguf"
    not_gguf.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="model_path"):
        llamacpp.LLM(model_path=not_gguf)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"n_ctx": 0}, "n_ctx"),
        ({"n_threads": -1}, "n_threads"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": -0.5}, "temperature"),
    ],
)
def test_bad_numbers_name_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        llamacpp.LLM(**kwargs)


def test_defaults_point_at_the_bundled_smollm2() -> None:
    model = llamacpp.LLM()
    assert model.options.max_tokens == 96 and model.options.n_ctx == 4096
    assert model.model.startswith("SmolLM2-135M-Instruct")
    with llamacpp.default_model_path().open("rb") as f:
        assert f.read(4) == b"GGUF"


def test_chat_context_becomes_template_turns() -> None:
    ctx = make_test_chat_ctx()
    ctx.add_message(role="developer", content="Prices are in dollars.")
    ctx.items.append(
        llm.FunctionCall(call_id="c1", name="get_menu_items", arguments='{"query": "latte"}')
    )
    ctx.items.append(
        llm.FunctionCallOutput(
            call_id="c1", name="get_menu_items", output="oat latte", is_error=False
        )
    )
    specs = tool_calls.tool_specs([get_menu_items])
    messages = prompt.to_chat_messages(ctx, tool_prompt=prompt.describe_tools(specs))

    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "Prices are in dollars." in messages[0]["content"]
    assert "get_menu_items(query: string)" in messages[0]["content"]
    assert messages[2]["content"].startswith(tool_calls.TOOL_CALL_MARKER)
    assert json.loads(messages[2]["content"][len(tool_calls.TOOL_CALL_MARKER) :]) == {
        "name": "get_menu_items",
        "arguments": {"query": "latte"},
    }
    assert "oat latte" in messages[3]["content"]


def test_tool_grammar_compiles_for_several_tools() -> None:
    from llama_cpp import LlamaGrammar

    grammar = tool_calls.tool_call_grammar(tool_calls.tool_specs([get_menu_items, add_order_item]))
    assert grammar.startswith('root ::= "<tool_call>"')
    assert '\\"get_menu_items\\"' in grammar and '\\"add_order_item\\"' in grammar
    LlamaGrammar.from_string(grammar, verbose=False)


# ---- real model --------------------------------------------------------------------------


@pytest.mark.slow
async def test_text_reply_streams_in_many_chunks_with_usage() -> None:
    model = llamacpp.LLM()
    chunks = await collect(model.chat(chat_ctx=make_test_chat_ctx()))

    content_chunks = [c for c in chunks if c.delta and c.delta.content]
    assert len(content_chunks) > 1
    assert len(text_of(chunks).split()) >= 3
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1
    assert usage[0].prompt_tokens > 20
    assert 1 < usage[0].completion_tokens <= model.options.max_tokens + 2
    assert usage[0].total_tokens == usage[0].prompt_tokens + usage[0].completion_tokens


@pytest.mark.slow
async def test_required_tool_choice_gives_a_schema_valid_function_call() -> None:
    model = llamacpp.LLM()
    calls = []
    for _ in range(2):
        chunks = await collect(
            model.chat(
                chat_ctx=make_test_chat_ctx(), tools=[get_menu_items], tool_choice="required"
            )
        )
        assert text_of(chunks) == ""
        calls += tool_calls_of(chunks)

    assert len(calls) == 2
    assert calls[0].call_id != calls[1].call_id
    for call in calls:
        assert call.name == "get_menu_items"
        args = json.loads(call.arguments)
        assert set(args) == {"query"} and isinstance(args["query"], str)
        function_arguments_to_pydantic_model(get_menu_items).model_validate(args)


@pytest.mark.slow
async def test_named_tool_choice_forces_that_function() -> None:
    chunks = await collect(
        llamacpp.LLM().chat(
            chat_ctx=make_test_chat_ctx("I'd like two cappuccinos please."),
            tools=[get_menu_items, add_order_item],
            tool_choice={"type": "function", "function": {"name": "add_order_item"}},
        )
    )
    (call,) = tool_calls_of(chunks)
    assert call.name == "add_order_item"
    args = json.loads(call.arguments)
    function_arguments_to_pydantic_model(add_order_item).model_validate(args)
    assert isinstance(args["item"], str)


@pytest.mark.slow
async def test_tool_call_bias_opens_a_tool_call_for_the_user_only() -> None:
    biased = llamacpp.LLM(tool_call_bias=30.0)
    chunks = await collect(
        biased.chat(chat_ctx=make_test_chat_ctx(), tools=[get_menu_items], tool_choice="auto")
    )
    (call,) = tool_calls_of(chunks)
    assert call.name == "get_menu_items"
    # after a tool result the bias is off: the reply is the model's own choice, never forced
    ctx = make_test_chat_ctx()
    ctx.insert(llm.FunctionCall(call_id=call.call_id, name=call.name, arguments=call.arguments))
    ctx.insert(
        llm.FunctionCallOutput(
            call_id=call.call_id, name=call.name, output="Latte, Chai Latte", is_error=False
        )
    )
    stream = biased.chat(chat_ctx=ctx, tools=[get_menu_items])
    assert not stream._replying_to_user()
    await stream.aclose()
    with pytest.raises(ValueError, match="tool_call_bias"):
        llamacpp.LLM(tool_call_bias=1000.0)


@pytest.mark.slow
async def test_tool_choice_none_gives_text_only() -> None:
    chunks = await collect(
        llamacpp.LLM().chat(
            chat_ctx=make_test_chat_ctx(), tools=[get_menu_items], tool_choice="none"
        )
    )
    assert tool_calls_of(chunks) == []
    text = text_of(chunks)
    assert text.strip() and "<" not in text


@pytest.mark.slow
async def test_closing_the_stream_early_stops_generation() -> None:
    model = llamacpp.LLM()
    loaded = model._loaded()
    ctx = make_test_chat_ctx("Tell me a long story about coffee.")
    probe = await collect(model.chat(chat_ctx=ctx, extra_kwargs={"max_tokens": 1}))
    prompt_tokens = next(c.usage for c in probe if c.usage).prompt_tokens

    stream = model.chat(chat_ctx=ctx, extra_kwargs={"max_tokens": 1000})
    seen = 0
    async for chunk in stream:
        if chunk.delta and chunk.delta.content:
            seen += 1
            if seen == 3:
                break
    await stream.aclose()  # barge-in

    started = time.perf_counter()
    while loaded.lock.locked():
        assert time.perf_counter() - started < 15.0, "generation kept running after close"
        await asyncio.sleep(0.005)
    # llama.cpp's context holds prompt + every token it generated: at most a couple past ours
    generated = loaded.llama.n_tokens - prompt_tokens
    assert generated <= seen + 3, generated

    # the model is free again for the next turn
    chunks = await collect(model.chat(chat_ctx=make_test_chat_ctx("Hi!")))
    assert text_of(chunks).strip()


@pytest.mark.slow
async def test_agent_session_answers_with_the_local_llm() -> None:
    from livekit.agents import Agent, AgentSession, ChatMessageEvent
    from livekit.agents.voice.run_result import RunResult

    class Barista(Agent):
        def __init__(self) -> None:
            super().__init__(
                instructions="You are a friendly barista at a coffee shop. Answer in one short sentence.",
                tools=[get_menu_items],
            )

    model = llamacpp.LLM()
    model.prewarm()  # outside a loop: loads now
    async with AgentSession(llm=model) as session:
        await session.start(Barista())
        result: RunResult[None] = await session.run(user_input="Hello! Are you open today?")

    replies = [
        ev.item.text_content
        for ev in result.events
        if isinstance(ev, ChatMessageEvent) and ev.item.role == "assistant"
    ]
    assert replies and replies[-1] and replies[-1].strip()


async def test_a_30_minute_call_never_overflows_the_context() -> None:
    """~30 minutes of talk (200 exchanges, far beyond n_ctx=1024) still gets a reply, about
    the latest turn: the oldest turns are dropped, the system turn and the last one kept."""
    model = llamacpp.LLM(n_ctx=1024, max_tokens=16)
    ctx = llm.ChatContext()
    ctx.add_message(role="system", content="You are a coffee shop assistant. Be brief.")
    for i in range(200):
        ctx.add_message(role="user", content=f"Turn {i}: could I get a small latte with oat milk?")
        ctx.add_message(role="assistant", content=f"Sure, small oat latte number {i} added.")
    ctx.add_message(role="user", content="What is the capital of France?")
    chunks = await collect(model.chat(chat_ctx=ctx))
    text = "".join(c.delta.content or "" for c in chunks if c.delta)
    assert text.strip()
    usage = [c.usage for c in chunks if c.usage]
    assert usage and usage[-1].prompt_tokens <= 1024


async def test_a_latest_turn_too_long_for_the_window_is_a_clear_error() -> None:
    model = llamacpp.LLM(n_ctx=256, max_tokens=16)
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content="latte " * 400)
    with pytest.raises(Exception, match="does not fit the context window"):
        await collect(model.chat(chat_ctx=ctx))


# ---- prompt prefix reuse (llama.cpp's KV cache) ------------------------------------------

PREFIX_CTX = 2048
"""A window no other test uses: these tests get their own loaded model and KV cache."""


def _usage_of(chunks: list[llm.ChatChunk]) -> llm.CompletionUsage:
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1
    return usage[0]


def _system_tokens(model: llamacpp.LLM, ctx: llm.ChatContext) -> int:
    loaded = model._loaded()
    messages = prompt.to_chat_messages(ctx, tool_prompt=None)[:1]
    text = prompt.render_prompt(loaded, messages, add_generation_prompt=False)
    return len(loaded.llama.tokenize(text.encode(), add_bos=False, special=True))


@pytest.mark.slow
async def test_the_system_prompt_is_reused_across_turns() -> None:
    """Turn after turn, the fixed system prompt is taken from the KV cache, not evaluated
    again: the usage's cached tokens and the plugin's counters both say so."""
    model = llamacpp.LLM(n_ctx=PREFIX_CTX, max_tokens=8)
    model.load()
    model.clear_prompt_cache()
    ctx = make_test_chat_ctx("Do you have oat milk?")
    n_system = _system_tokens(model, ctx)
    before = model.prompt_cache

    first = _usage_of(await collect(model.chat(chat_ctx=ctx)))
    assert first.prompt_cached_tokens == 0  # nothing evaluated yet

    # the next turn's window has slid: the old caller turn is gone, a new one follows
    ctx2 = make_test_chat_ctx("And how much is a latte?")
    second = _usage_of(await collect(model.chat(chat_ctx=ctx2)))
    assert second.prompt_cached_tokens >= n_system
    assert second.prompt_cached_tokens < second.prompt_tokens

    after = model.prompt_cache
    assert after.requests - before.requests == 2
    assert after.reused_tokens - before.reused_tokens == second.prompt_cached_tokens
    assert after.evaluated_tokens - before.evaluated_tokens == (
        first.prompt_tokens + second.prompt_tokens - second.prompt_cached_tokens
    )


@pytest.mark.slow
async def test_a_prefilled_history_leaves_only_the_new_words_to_evaluate() -> None:
    """What `prefill` evaluated while the caller spoke is reused by the turn that follows:
    the request evaluates only the caller's new turn and the reply opener."""
    model = llamacpp.LLM(n_ctx=PREFIX_CTX, max_tokens=8)
    model.load()
    model.clear_prompt_cache()
    ctx = make_test_chat_ctx("Can I get a latte?")
    ctx.add_message(role="assistant", content="Sure, one latte. Anything else?")
    evaluated = await model.prefill(ctx)
    assert evaluated > 20
    assert await model.prefill(ctx) == 0  # already there: nothing to do

    ctx.add_message(role="user", content="Yes, a muffin.")
    usage = _usage_of(await collect(model.chat(chat_ctx=ctx)))
    assert usage.prompt_cached_tokens == evaluated
    assert usage.prompt_tokens - usage.prompt_cached_tokens < 20


@pytest.mark.slow
async def test_a_request_stops_a_prefill_at_its_next_chunk() -> None:
    """A caller's turn never waits for a whole prefill: once a request is waiting for the
    model, the prefill stops after the chunk it is on and keeps what it evaluated."""
    import threading

    from livekit.plugins.llamacpp import worker

    model = llamacpp.LLM(n_ctx=PREFIX_CTX, max_tokens=4)
    loaded = model._loaded()
    model.clear_prompt_cache()
    long_ctx = make_test_chat_ctx("latte " * 300)
    loop = asyncio.get_running_loop()
    request_done = asyncio.Event()
    chunks_evaluated = 0
    real_eval = loaded.llama.eval

    async def request() -> None:
        await collect(model.chat(chat_ctx=make_test_chat_ctx("Hi.")))
        request_done.set()

    def eval_then_let_a_request_in(tokens: Sequence[int]) -> None:
        nonlocal chunks_evaluated
        real_eval(tokens)
        chunks_evaluated += 1
        if chunks_evaluated == 1:
            # a request arrives during the first chunk: wait until it is queued for the model
            asyncio.run_coroutine_threadsafe(request(), loop)
            for _ in range(12_000):  # bounded: a broken queue fails the asserts below
                if loaded.wanted():
                    break
                threading.Event().wait(0.01)

    before = model.prompt_cache
    loaded.llama.eval = eval_then_let_a_request_in  # type: ignore[method-assign]
    try:
        evaluated = await model.prefill(long_ctx)
    finally:
        loaded.llama.eval = real_eval  # type: ignore[method-assign]
    await asyncio.wait_for(request_done.wait(), timeout=120)
    after = model.prompt_cache
    assert chunks_evaluated == 1
    assert evaluated == worker.PREFILL_CHUNK
    assert after.preempted_prefills - before.preempted_prefills == 1
    assert after.requests - before.requests == 1
