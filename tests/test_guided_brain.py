"""The offline brain takes the order: the caller's words understood against the menu, the
right tools called with the right arguments through a real AgentSession and SQLite store, a
spoken reply after every tool result, and the order placed only after a read-back and a yes.

The caller turns here were written for these tests (not taken from the dataset or from the
turns the policy was developed on); the fallback model is a recording double that fails the
test if the policy hands it a turn it should have understood."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice.run_result import ChatMessageEvent, FunctionCallEvent, RunResult

from agents.brain.guided import GuidedLLM, understand
from agents.brain.model_files import installed_model
from agents.config import ConfigError
from tools import ToolRuntime, ToolRuntimeOptions, build_call_control_tools
from tools.coffee import COFFEE_INSTRUCTIONS, MAX_TOOL_STEPS, OrderStore, build_coffee_tools

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------- understanding

UNDERSTANDING = [
    # text, [(quantity, drink, {attribute: option}, [addons])], acts
    ("could I grab a cappuccino", [(1, "Cappuccino", {}, [])], set()),
    ("Four americanos for the office please.", [(4, "Americano", {}, [])], set()),
    ("I'd love an iced latte made with almond milk", [(1, "Latte", {"hot-or-iced": "Iced", "milk-options": "Almond Milk"}, [])], set()),
    ("2 decaf mochas", [(2, "Mocha", {"caffeine": "Decaf"}, [])], set()),
    ("a macchiato with a triple shot and hazelnut", [(1, "Macchiato", {"espresso-shots": "Triple"}, ["hazelnut-sweetener"])], set()),
    ("one chai with oat milk and a cold brew", [(1, "Chai Latte", {"milk-options": "Oat Milk"}, []), (1, "Cold Brew", {}, [])], set()),
    # shots of espresso in another drink are its shots, not an Espresso; alone, one is
    ("a cappuccino with 2% milk, and I'd like a double shot of espresso", [(1, "Cappuccino", {"milk-options": "2% Milk", "espresso-shots": "Double"}, [])], set()),
    ("a latte and an extra shot of espresso", [(1, "Latte", {"espresso-shots": "Double"}, [])], set()),
    ("just a shot of espresso please", [(1, "Espresso", {}, [])], set()),
    ("um can we get uh two lavender earl greys", [(2, "Lavender Earl Grey", {}, [])], set()),
    ("a latte with skim milk and a mocha with whole milk", [(1, "Latte", {"milk-options": "Non-fat Milk"}, []), (1, "Mocha", {"milk-options": "Whole Milk"}, [])], set()),
    ("Do you guys have a matcha latte?", [(1, "Matcha Latte", {}, [])], {"ask"}),
    ("nope that's everything", [], {"done", "no"}),
    ("yeah that sounds right", [], {"yes"}),
    ("the order looks fine to me", [], {"yes"}),
    ("go ahead and place my order", [], {"place"}),
    ("what teas have you got", [], {"menu"}),
    ("can you read my order back", [], {"order_status"}),
    ("get rid of... no, cancel the cortado", [(1, "Cortado", {}, [])], {"remove"}),
    ("I need to speak to a manager", [], {"human"}),
    ("alright thanks, goodbye", [], {"goodbye"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "drinks", "acts"), UNDERSTANDING, ids=[c[0] for c in UNDERSTANDING]
)
def test_caller_words_are_understood_against_the_menu(
    text: str, drinks: list[tuple[int, str, dict[str, str], list[str]]], acts: set[str]
) -> None:
    turn = understand(text)
    got = [(d.quantity, d.name, d.attributes, d.addons) for d in turn.drinks]
    assert got == drinks
    assert acts <= turn.acts, turn.acts


@pytest.mark.parametrize(
    "text", ["a pumpkin spice latte please", "can I get a frappuccino", "one strawberry smoothie"]
)
def test_a_drink_we_do_not_have_is_never_ordered(text: str) -> None:
    turn = understand(text)
    assert not turn.drinks and turn.unknown_drink


def test_options_a_drink_does_not_offer_are_reported_not_added() -> None:
    (drink,) = understand("an americano with oat milk").drinks  # the menu's americano: no milk
    assert "milk-options" not in drink.attributes and drink.dropped == ["Oat Milk"]


# ---------------------------------------------------------------------------- whole calls


class RecordingFallback(llm.LLM):
    """The language model behind the policy, as a double: records what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def chat(self, *, chat_ctx: llm.ChatContext, **_: Any) -> llm.LLMStream:
        last = chat_ctx.items[-1]
        self.asked.append((last.text_content if last.type == "message" else "") or "")
        return _Reply(self, chat_ctx=chat_ctx)


class _Reply(llm.LLMStream):
    def __init__(self, owner: llm.LLM, *, chat_ctx: llm.ChatContext) -> None:
        from livekit.agents import DEFAULT_API_CONNECT_OPTIONS

        super().__init__(
            owner, chat_ctx=chat_ctx, tools=[], conn_options=DEFAULT_API_CONNECT_OPTIONS
        )

    async def _run(self) -> None:
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id="x",
                delta=llm.ChoiceDelta(
                    role="assistant", content="Hello! 🎉 What can I get you? Sure. More."
                ),
            )
        )


def turn_events(
    result: RunResult[None],
) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """A turn's tool calls (name, arguments) and what the agent said, in order."""
    calls = [
        (ev.item.name, json.loads(ev.item.arguments))
        for ev in result.events
        if isinstance(ev, FunctionCallEvent)
    ]
    said = [
        ev.item.text_content or ""
        for ev in result.events
        if isinstance(ev, ChatMessageEvent) and ev.item.role == "assistant"
    ]
    return calls, said


async def run_call(
    turns: list[str], tmp_path: Path
) -> tuple[list[tuple[str, list[tuple[str, dict[str, Any]]], str]], OrderStore, RecordingFallback]:
    """Each caller turn -> (turn, [(tool, arguments)], what the agent said last)."""
    store = await OrderStore(tmp_path / "orders.sqlite").open()
    runtime = ToolRuntime(ToolRuntimeOptions(filler_phrases=(), emit_on_session=False))
    tools: list[llm.Tool | llm.Toolset] = [
        *build_coffee_tools(store, runtime),
        *build_call_control_tools(runtime),
    ]
    fallback = RecordingFallback()
    out = []
    async with AgentSession(llm=GuidedLLM(fallback), max_tool_steps=MAX_TOOL_STEPS) as session:
        await session.start(Agent(instructions=COFFEE_INSTRUCTIONS, tools=tools))
        for text in turns:
            result: RunResult[None] = await session.run(user_input=text)
            calls, said = turn_events(result)
            if calls and calls[-1][0] != "end_call":
                # a spoken reply after every tool result: the turn ends with the agent talking
                assert isinstance(result.events[-1], ChatMessageEvent), (text, result.events)
            out.append((text, calls, said[-1] if said else ""))
    return out, store, fallback


async def _orders(store: OrderStore) -> list[dict[str, Any]]:
    async def q(tx: Any) -> list[dict[str, Any]]:
        rows = await tx.fetchall(
            "SELECT o.order_id, o.status, m.name, oi.quantity, oi.attributes, oi.addons "
            "FROM orders o JOIN order_items oi USING (order_id) JOIN menu_items m USING (menu_item_id) "
            "ORDER BY oi.created_at, oi.order_item_id"
        )
        return [dict(r) for r in rows]

    return await store._run(q)


async def test_an_order_is_taken_read_back_confirmed_and_placed(tmp_path: Path) -> None:
    calls, store, fallback = await run_call(
        [
            "Hello, I'd like two iced lattes with oat milk please",
            "and a mocha with vanilla",
            "that's everything",
            "no thanks, bye",
        ],
        tmp_path,
    )
    (_, c1, s1), (_, c2, s2), (_, c3, s3), (_, c4, _) = calls
    assert [n for n, _ in c1] == [
        "get_menu_items", "get_addons", "add_order_item", "get_order_details",
    ]  # fmt: skip
    assert c1[0][1] == {"query": "Latte"}
    assert c1[1][1] == {"query": "Oat Milk OR Iced", "menu_item_id": "latte"}
    assert c1[2][1] == {
        "menu_item_id": "latte",
        "quantity": 2,
        "attributes": [
            {"attribute_id": "hot-or-iced", "option": "Iced"},
            {"attribute_id": "milk-options", "option": "Oat Milk"},
        ],
    }
    # the whole order is read back after every addition, with the question that gates placing
    assert "two iced lattes with oat milk" in s1.lower() and s1.endswith("shall I place the order?")
    assert [n for n, _ in c2] == [
        "get_menu_items", "get_addons", "add_order_item", "get_order_details",
    ]  # fmt: skip
    order_id = c2[2][1]["order_id"]  # the second drink joins the first one's order
    assert c2[2][1]["addons"] == [{"addon_id": "vanilla-sweetener", "option": "ADD"}]
    assert "one mocha with vanilla sweetener" in s2.lower()
    assert c3 == [("finish_order", {"order_id": order_id})] and "placed" in s3
    assert c4 == [("end_call", {})]
    rows = await _orders(store)
    assert [(r["name"], r["quantity"], r["status"]) for r in rows] == [
        ("Latte", 2, "finished"),
        ("Mocha", 1, "finished"),
    ]
    assert json.loads(rows[0]["attributes"]) == {"hot-or-iced": "Iced", "milk-options": "Oat Milk"}
    assert fallback.asked == []  # every turn was understood
    await store.close()


async def test_the_order_is_never_placed_without_a_read_back_and_a_yes(tmp_path: Path) -> None:
    calls, store, _ = await run_call(
        [
            "a cortado please",
            "no, make it with almond milk",  # a change, not a confirmation: read back again
            "what do I have so far",  # a status read-back asks nothing
            "ok place the order",  # so this is not a yes to anything: read back and ask
            "yes",
        ],
        tmp_path,
    )
    names = [[n for n, _ in c] for _, c, _ in calls]
    assert names[1] == ["get_addons", "update_order_item", "get_order_details"]
    assert calls[1][1][1][1]["attributes"] == [
        {"attribute_id": "milk-options", "option": "Almond Milk"}
    ]
    assert "almond milk" in calls[1][2] and calls[1][2].endswith("shall I place the order?")
    assert names[2] == ["get_order_details"] and calls[2][2].endswith("Anything else?")
    assert names[3] == ["get_order_details"] and calls[3][2].endswith("Shall I place the order?")
    assert "finish_order" not in sum(names[:4], [])
    assert names[4] == ["finish_order"]
    rows = await _orders(store)
    assert [(r["name"], r["status"]) for r in rows] == [("Cortado", "finished")]
    assert json.loads(rows[0]["attributes"]) == {"milk-options": "Almond Milk"}
    await store.close()


async def test_changes_removals_and_questions(tmp_path: Path) -> None:
    calls, store, fallback = await run_call(
        [
            "do you have a steamer?",
            "yes please",  # the drink just described
            "and an americano and a mocha",
            "actually make that three",  # the last drink
            "take off the americano",
            "can I get a pumpkin spice latte",  # not on the menu: no tool, an apology
            "what's the weather like today",  # not understood: the model answers
        ],
        tmp_path,
    )
    assert calls[0][1] == [("get_menu_items", {"query": "Steamer", "fields": ["description"]})]
    assert "Would you like one?" in calls[0][2]
    assert [n for n, _ in calls[1][1]] == ["get_menu_items", "add_order_item", "get_order_details"]
    assert calls[1][1][1][1]["menu_item_id"] == "steamer"
    added = [a["menu_item_id"] for n, a in calls[2][1] if n == "add_order_item"]
    assert added == ["americano", "mocha"]
    assert [n for n, _ in calls[3][1]] == ["update_order_item", "get_order_details"]
    assert calls[3][1][0][1]["quantity"] == 3
    assert [n for n, _ in calls[4][1]] == ["update_order_item", "get_order_details"]
    assert calls[4][1][0][1]["remove"] is True
    # looked up before "we don't have a pumpkin spice latte" is said
    assert calls[5][1] == [("get_menu_items", {"query": "pumpkin spice latte"})]
    assert "don't have a pumpkin spice latte" in calls[5][2]
    assert fallback.asked == ["what's the weather like today"]
    spoken = calls[6][2]
    assert "🎉" not in spoken and spoken.count(".") + spoken.count("?") <= 2  # phone-sized
    rows = await _orders(store)
    assert [(r["name"], r["quantity"]) for r in rows] == [("Steamer", 1), ("Mocha", 3)]
    await store.close()


# ---------------------------------------------------------------------------- model files


def _installer() -> Any:
    spec = importlib.util.spec_from_file_location(
        "install_models_rt", ROOT / "scripts" / "install_models.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_a_model_is_used_only_while_its_install_stamp_vouches_for_it(tmp_path: Path) -> None:
    im = _installer()
    data = b"GGUF" + bytes(range(256)) * 64
    model = im.Model(
        name="tiny", requirements=("x==1",), chunk_pattern=r"x", out="tiny.gguf",
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), licence="t", source="t",
    )  # fmt: skip
    assert installed_model(tmp_path, "tiny.gguf") is None  # not installed: wheel default
    (tmp_path / "tiny.gguf").write_bytes(data)
    with pytest.raises(ConfigError, match="no valid install stamp"):
        installed_model(tmp_path, "tiny.gguf")  # there, but never verified: not loaded
    im._write_stamp(tmp_path, model)
    assert installed_model(tmp_path, "tiny.gguf") == tmp_path / "tiny.gguf"
    with (tmp_path / "tiny.gguf").open("ab") as f:
        f.write(b"\0")  # a partial copy / corruption after install
    with pytest.raises(ConfigError, match="changed after it was verified"):
        installed_model(tmp_path, "tiny.gguf")
