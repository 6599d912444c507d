"""`tools.schema_cache`: each tool's argument model and JSON schema are derived once, not on
every LLM request (LiveKit 1.8 re-derives them per request and per tool call: 9.5-14.5 ms of
CPU per request for a call's eleven tools), and what a request carries is unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from livekit.agents import llm
from livekit.agents.llm import utils as lk_utils

from tools import ToolRuntime, build_call_control_tools, schema_cache
from tools.coffee import OrderStore, build_coffee_tools


async def _tools(tmp_path: Path) -> tuple[OrderStore, list[Any]]:
    store = await OrderStore(str(tmp_path / "orders.sqlite")).open()
    runtime = ToolRuntime()
    return store, [*build_coffee_tools(store, runtime), *build_call_control_tools(runtime)]


async def test_a_request_s_tool_schemas_are_derived_once_and_stay_the_same(
    tmp_path: Path,
) -> None:
    store, tools = await _tools(tmp_path)
    try:
        ctx = llm.ToolContext(tools)
        first = ctx.parse_function_tools("openai", strict=True)
        derived = schema_cache.stats["derived"]
        again = llm.ToolContext(tools).parse_function_tools("openai", strict=True)
        assert schema_cache.stats["derived"] == derived, "nothing derived for a second request"
        assert again == first
        assert again[0] is not first[0], "each request gets its own copy"
        # exactly what LiveKit itself derives
        build = schema_cache.originals["build_strict_openai_schema"]
        assert first == [build(t) for t in ctx.function_tools.values()]
        legacy = llm.ToolContext(tools).parse_function_tools("openai", strict=False)
        assert [s["function"]["name"] for s in legacy] == [s["function"]["name"] for s in first]
    finally:
        await store.close()


async def test_a_tool_call_s_arguments_are_still_validated(tmp_path: Path) -> None:
    """The cached argument model validates and coerces as LiveKit's own does."""
    store, tools = await _tools(tmp_path)
    try:
        menu = next(t for t in tools if t.info.name == "get_menu_items")
        assert lk_utils.validated_arguments(menu, {"query": "mocha"})["query"] == "mocha"
        reused = schema_cache.stats["reused"]
        lk_utils.validated_arguments(menu, {"query": "latte"})
        assert schema_cache.stats["reused"] > reused
        try:
            lk_utils.validated_arguments(menu, {"query": {"not": "a string"}})
        except Exception as e:  # pydantic's ValidationError, as without the cache
            assert "query" in str(e)
        else:
            raise AssertionError("a wrong argument type was accepted")
    finally:
        await store.close()
