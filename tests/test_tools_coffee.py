"""Whole turns: `session.run(user_input=...)` over the coffee tools with a scripted LLM,
on both order-store back ends (SQLite, PostgreSQL: tests/pgcluster.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice.run_result import RunResult

from tests.fakes import Call, FakeLLM
from tests.pgcluster import require_postgres
from tools import ToolRuntime, ToolRuntimeOptions
from tools.coffee import COFFEE_INSTRUCTIONS, OrderStore, build_coffee_tools

NAMES = ["get_menu_items", "show_menu", "get_addons", "add_order_item", "update_order_item",
         "update_order", "get_order_details", "finish_order"]  # fmt: skip


def last_output(chat_ctx: llm.ChatContext, name: str) -> dict:
    for item in reversed(chat_ctx.items):
        if item.type == "function_call_output" and item.name == name:
            return json.loads(item.output)
    raise AssertionError(f"no output of {name}")


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request, tmp_path):
    """The same turns on both back ends: a SQLite file, a fresh PostgreSQL database."""
    db = (
        require_postgres(migrated=True)
        if request.param == "postgresql"
        else tmp_path / "orders.sqlite"
    )
    s = OrderStore(db)
    yield s
    await s.close()


async def _start(fake: FakeLLM, store: OrderStore) -> tuple[AgentSession[Any], ToolRuntime]:
    rt = ToolRuntime(ToolRuntimeOptions(filler_phrases=()))
    session: AgentSession[Any] = AgentSession(llm=fake)
    await session.start(
        Agent(instructions=COFFEE_INSTRUCTIONS, tools=list[Any](build_coffee_tools(store, rt)))
    )
    return session, rt


def test_tool_names_match_dataset(tmp_path):
    tools = build_coffee_tools(OrderStore(tmp_path / "x.db"), ToolRuntime())
    assert [t.info.name for t in tools] == NAMES
    assert "finish_order" in COFFEE_INSTRUCTIONS and "*" not in COFFEE_INSTRUCTIONS


async def test_order_a_chai_latte_end_to_end(store):
    fake = FakeLLM(
        [
            [Call("get_menu_items", {"query": "Chai Latte"})],
            [Call("add_order_item", {"menu_item_id": "chai-latte", "quantity": 1})],
            lambda ctx: [
                Call(
                    "get_order_details",
                    {"order_id": last_output(ctx, "add_order_item")["order_id"]},
                )
            ],
            "One chai latte. Is that right?",
            lambda ctx: [
                Call("finish_order", {"order_id": last_output(ctx, "add_order_item")["order_id"]})
            ],
            "It will be ready shortly at the bar.",
        ]
    )
    session, rt = await _start(fake, store)
    async with session:
        r: RunResult[Any] = await session.run(user_input="one Chai Latte please")
        r.expect.next_event().is_function_call(
            name="get_menu_items", arguments={"query": "Chai Latte"}
        )
        menu = r.expect.next_event().is_function_call_output().event().item
        assert json.loads(menu.output)["menu_items"] == [
            {"menu_item_id": "chai-latte", "name": "Chai Latte"}
        ]
        r.expect.next_event().is_function_call(name="add_order_item")
        r.expect.next_event().is_function_call_output()
        r.expect.next_event().is_function_call(name="get_order_details")
        details = json.loads(r.expect.next_event().is_function_call_output().event().item.output)
        assert details["menu_items"][0]["menu_item_name"] == "Chai Latte"
        r.expect.next_event().is_message(role="assistant")
        r.expect.no_more_events()

        r2: RunResult[Any] = await session.run(user_input="yes")
        r2.expect.next_event().is_function_call(name="finish_order")
        assert json.loads(r2.expect.next_event().is_function_call_output().event().item.output)[
            "success"
        ]
        r2.expect.next_event().is_message(role="assistant")
    assert await store.count("orders") == 1
    assert [r.name for r in rt.events.records] == ["get_menu_items", "add_order_item",
                                                   "get_order_details", "finish_order"]  # fmt: skip


async def test_duplicate_call_in_same_turn_is_not_added_twice(store):
    add = Call("add_order_item", {"menu_item_id": "latte", "quantity": 1})
    fake = FakeLLM([[add], [add], "Added.", [add], "Added another."])
    session, _ = await _start(fake, store)
    async with session:
        r: RunResult[Any] = await session.run(user_input="a latte")
        outs = [json.loads(e.item.output) for e in r.events if e.type == "function_call_output"]
        assert outs[0]["order_item_id"] == outs[1]["order_item_id"]
        assert outs[1]["duplicate"] is True and "note" in outs[1]
        assert await store.count("order_items") == 1
        # a new user turn asking again is a new item, in the same order
        r2: RunResult[Any] = await session.run(user_input="and another latte")
        out = json.loads(next(e for e in r2.events if e.type == "function_call_output").item.output)
        assert out["order_id"] == outs[0]["order_id"] and "duplicate" not in out
    assert await store.count("order_items") == 2
    assert await store.count("orders") == 1


async def test_parallel_duplicate_calls_and_double_finish(store):
    add = Call("add_order_item", {"menu_item_id": "mocha", "quantity": 2})
    fake = FakeLLM(
        [
            [add, Call("add_order_item", {"menu_item_id": "mocha", "quantity": 2})],
            "Ok.",
            lambda ctx: (
                [Call("finish_order", {"order_id": last_output(ctx, "add_order_item")["order_id"]})]
                * 2
            ),
            "Done.",
        ]
    )
    session, _ = await _start(fake, store)
    async with session:
        await session.run(user_input="two mochas")
        r: RunResult[Any] = await session.run(user_input="yes that's it")
        outs = [json.loads(e.item.output) for e in r.events if e.type == "function_call_output"]
        assert len(outs) == 2 and all(o["success"] for o in outs)
    assert await store.count("order_items") == 1
    assert await store.count("orders") == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (Call("add_order_item", {"menu_item_id": "unicorn-latte", "quantity": 1}), "no menu item"),
        (Call("add_order_item", {"menu_item_id": "latte", "quantity": -2}), "at least 1"),
        (Call("add_order_item", {"menu_item_id": "latte", "quantity": 100000}), "at most"),
        (Call("get_order_details", {"order_id": "00000"}), "no order"),
        (Call("finish_order", {"order_id": ""}), "no order yet"),
        (
            Call("get_addons", {"query": "milk", "menu_item_id": "'; DROP TABLE orders;--"}),
            "no menu item",
        ),
        (Call("get_menu_items", {"query": "x" * 600}), "too long"),
        (Call("update_order_item", {"order_item_id": "123"}), "what to change"),
    ],
)
async def test_bad_inputs_become_tool_errors(store, call, message):
    fake = FakeLLM([[call], "Sorry, let me fix that."])
    session, rt = await _start(fake, store)
    async with session:
        r: RunResult[Any] = await session.run(user_input="hmm")
        r.expect.next_event().is_function_call(name=call.name)
        out = r.expect.next_event().is_function_call_output().event().item
        assert out.is_error and message in out.output, out.output
        r.expect.next_event().is_message(role="assistant")
    assert await store.count("orders") == 0


async def test_injection_in_query_and_notes_is_data(store):
    evil = "'; DROP TABLE orders;--"
    fake = FakeLLM(
        [
            [Call("get_menu_items", {"query": evil})],
            "No such drink.",
            [Call("add_order_item", {"menu_item_id": "latte", "notes": evil})],
            "Ok.",
        ]  # fmt: skip
    )
    session, _ = await _start(fake, store)
    async with session:
        r: RunResult[Any] = await session.run(user_input=evil)
        out = json.loads(next(e for e in r.events if e.type == "function_call_output").item.output)
        assert out["menu_items"] == [] and "note" in out
        await session.run(user_input="a latte with that note")
    assert await store.count("order_items") == 1


async def test_show_menu_and_addons_shapes(store):
    fake = FakeLLM(
        [
            [Call("show_menu")],
            "We have coffee and tea.",
            [Call("get_addons", {"query": "Oat Milk OR vanilla", "menu_item_id": "latte-4456"})],
            "Yes.",
            [Call("get_addons", {"query": "to go", "scope": "order"})],
            "Sure.",
        ]  # fmt: skip
    )
    session, _ = await _start(fake, store)
    async with session:
        r: RunResult[Any] = await session.run(user_input="what do you have")
        menu = json.loads(next(e for e in r.events if e.type == "function_call_output").item.output)
        assert menu["success"] and "coffee" in menu["menu"] and "tea" in menu["menu"]
        assert "Oat Milk" in menu["milk"] and "Almond Milk" in menu["milk"]
        r = await session.run(user_input="oat milk and vanilla in a latte?")
        ad = json.loads(next(e for e in r.events if e.type == "function_call_output").item.output)
        assert [a["attribute_id"] for a in ad["attributes"]] == ["milk-options"]
        assert {a["addon_id"] for a in ad["addons"]} >= {"vanilla-sweetener"}
        r = await session.run(user_input="to go")
        sc = json.loads(next(e for e in r.events if e.type == "function_call_output").item.output)
        assert sc["attributes"][0]["attribute_id"] == "order-type"


async def test_a_call_retried_on_another_worker_carries_on_with_its_order(store):
    """Worker 1 takes the first drink and goes away; LiveKit retries the job on worker 2 (same
    room, so the same owner). Its tools find the open order in the database and finish it
    without being told the id; a different call's tools see no order."""
    first = FakeLLM([[Call("add_order_item", {"menu_item_id": "latte"})], "Added."])
    session, _ = await _start(first, store)
    async with session:
        await session.run(user_input="a latte")
    same_call = OrderStore(store.target.location, owner=store.owner)
    other_call = OrderStore(store.target.location, owner="another-room")
    try:
        retried = FakeLLM([[Call("finish_order", {"order_id": ""})], "Placed."])
        session2, _ = await _start(retried, same_call)
        async with session2:
            r: RunResult[Any] = await session2.run(user_input="that's all")
            out = json.loads(
                next(e for e in r.events if e.type == "function_call_output").item.output
            )
            assert out["success"] is True and "already_finished" not in out
        stranger = FakeLLM([[Call("get_order_details", {"order_id": ""})], "Hm."])
        session3, _ = await _start(stranger, other_call)
        async with session3:
            r = await session3.run(user_input="what did I order?")
            err = next(e for e in r.events if e.type == "function_call_output").item
            assert err.is_error and "no order yet" in err.output
    finally:
        await same_call.close()
        await other_call.close()
