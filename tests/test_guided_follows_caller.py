"""The offline brain follows its caller (issue 20): a question is not an order, a near miss
earns a question, a farewell inside an order is not a goodbye, changes to drinks already
ordered call the right tool and are read back, an ambiguous removal asks which, a caller
who wants another business is told what this line does, and nothing written for the model
(a tool's instructions, a fallback reply claiming an order change) is ever spoken.

Every call runs through a real AgentSession, the real coffee tools and a SQLite store; the
fallback model is a double whose reply each test chooses, so a test fails if the policy
hands it a turn it should have handled, or if its words reach the caller unchecked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, Agent, AgentSession, llm

from agents.brain.guided import GuidedLLM, understand
from agents.brain.guided.grounding import ASK_AGAIN
from agents.brain.guided.policy import OFF_TOPIC_LINE
from tests.test_guided_brain import _orders, turn_events
from tools import ToolRuntime, ToolRuntimeOptions, build_call_control_tools
from tools.coffee import COFFEE_INSTRUCTIONS, MAX_TOOL_STEPS, OrderStore, build_coffee_tools


class ScriptedFallback(llm.LLM):
    """The model behind the policy as a double: answers every turn with `reply`, streamed
    in small pieces as a model would, and records what it was asked."""

    def __init__(self, reply: str = "Hello there.") -> None:
        super().__init__()
        self.reply = reply
        self.asked: list[str] = []

    def chat(self, *, chat_ctx: llm.ChatContext, **_: Any) -> llm.LLMStream:
        last = chat_ctx.items[-1]
        self.asked.append((last.text_content if last.type == "message" else "") or "")
        return _Pieces(self, self.reply, chat_ctx=chat_ctx)


class _Pieces(llm.LLMStream):
    def __init__(self, owner: llm.LLM, text: str, *, chat_ctx: llm.ChatContext) -> None:
        super().__init__(
            owner, chat_ctx=chat_ctx, tools=[], conn_options=DEFAULT_API_CONNECT_OPTIONS
        )
        self._text = text

    async def _run(self) -> None:
        words = self._text.split(" ")
        for i, w in enumerate(words):
            piece = w if i == 0 else " " + w
            self._event_ch.send_nowait(
                llm.ChatChunk(id="x", delta=llm.ChoiceDelta(role="assistant", content=piece))
            )


Turn = tuple[str, list[tuple[str, dict[str, Any]]], str]


class Caller:
    """One call: `await say(text)` -> (tool calls, what the agent said)."""

    def __init__(self, tmp_path: Path, fallback: ScriptedFallback, **tool_opts: Any) -> None:
        self.tmp_path = tmp_path
        self.fallback = fallback
        self.guided = GuidedLLM(fallback)
        self.tool_opts = tool_opts
        self.spoken: list[str] = []

    async def __aenter__(self) -> Caller:
        self.store = await OrderStore(self.tmp_path / "orders.sqlite").open()
        runtime = ToolRuntime(ToolRuntimeOptions(filler_phrases=(), emit_on_session=False))
        tools: list[llm.Tool | llm.Toolset] = [
            *build_coffee_tools(self.store, runtime),
            *build_call_control_tools(runtime, **self.tool_opts),
        ]
        self.session: AgentSession[None] = AgentSession(
            llm=self.guided, max_tool_steps=MAX_TOOL_STEPS
        )
        await self.session.__aenter__()
        await self.session.start(Agent(instructions=COFFEE_INSTRUCTIONS, tools=tools))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.__aexit__(None, None, None)
        await self.store.close()

    async def say(
        self, text: str, *, heard: float | None = None
    ) -> tuple[list[tuple[str, dict[str, Any]]], str]:
        """`heard`: the words come from an STT with this confidence (typed when None)."""
        if heard is not None:
            self.guided.note_hearing(text, heard)
        calls, said = turn_events(await self.session.run(user_input=text))
        self.spoken += said
        return calls, " ".join(said)

    async def addons(self) -> list[tuple[str, list[str]]]:
        """Each order line's drink and add-on ids."""
        return [(r["name"], json.loads(r["addons"] or "[]")) for r in await _orders(self.store)]

    async def order(self) -> list[tuple[str, int, dict[str, str], str]]:
        return [
            (r["name"], r["quantity"], json.loads(r["attributes"] or "{}"), r["status"])
            for r in await _orders(self.store)
        ]


def names(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [n for n, _ in calls]


def looked_up_only(calls: list[tuple[str, dict[str, Any]]]) -> bool:
    """A check question's turn: the drinks it names were looked up (their options checked),
    and nothing was added or changed."""
    return bool(calls) and {n for n, _ in calls} <= {"get_menu_items", "get_addons"}


WRITES = {"add_order_item", "update_order_item", "finish_order", "update_order"}


async def asked_first(call: Caller, line: str, question: str) -> None:
    """`line` changes nothing in the order and is answered with exactly `question`."""
    calls, said = await call.say(line)
    assert not set(names(calls)) & WRITES, calls
    assert said == question, said


# ---------------------------------------------------------------------------- questions


QUESTIONS = [
    # a typed question, and a word the answer must hold
    ("How much is a latte?", "latte"),
    ("Do you have anything with caramel?", "caramel"),
    ("What would you recommend for someone who does not like coffee?", "chocolate"),
    ("What's in a cortado?", "espresso"),
    ("Do you have oat milk?", "oat milk"),
    ("What milks do you have?", "almond"),
    ("Is there anything sweet you'd recommend?", "mocha"),
    ("Do you guys have a matcha latte?", "matcha"),
    ("What can I get in a mocha?", "milk"),
    # shaped as questions, naming a drink: the drink is described and offered, not added
    ("Is the mocha sweet?", "chocolate"),
    ("Does the americano have milk in it?", "hot water"),
    ("How big is a cappuccino?", "foam"),
    ("Which is stronger, a latte or a cappuccino?", "the latte is"),
    ("Is the hot chocolate made with real chocolate?", "would you like one"),
    ("Do you have soy milk?", "we don't have soy milk. we have whole milk, 2% milk"),
    ("Have you got any syrups?", "hazelnut sweetener"),
    ("What's my total?", "i don't have prices"),
    ("What sizes do you have?", "in one size: 12 ounces"),
    ("Could you tell me what types of chai drinks you have?", "chai latte"),
    ("Do you have iced tea?", "yes, we have ginger green cold steep tea"),
    # about the drink just ordered
    ("What's in it?", "the latte is espresso"),
    ("What does it come with?", "the latte comes with"),
]


@pytest.mark.parametrize(("question", "answer_has"), QUESTIONS, ids=[q for q, _ in QUESTIONS])
async def test_a_question_is_answered_and_never_changes_the_order(
    tmp_path: Path, question: str, answer_has: str
) -> None:
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        await call.say("Can I get an iced latte with oat milk?")
        before = await call.order()
        calls, said = await call.say(question)
        assert not set(names(calls)) & WRITES, calls
        assert await call.order() == before
        assert answer_has in said.lower(), said
        assert fallback.asked == []  # answered from the tools, not by the model


@pytest.mark.parametrize(
    ("ask", "listed", "answer", "ordered"),
    [("Can I get a black tea?", "English Breakfast, Lavender Earl Grey and Three Cultivar Red",
      "English breakfast.", "English Breakfast"),
     ("A herbal tea please.", "Peppermint Rose and Tangerine Rooibos", "Peppermint rose.",
      "Peppermint Rose"),
     ("Can I get an oolong?", "Jin Xuan. Would you like one?", "Yes.", "Jin Xuan")],
)  # fmt: skip
async def test_a_kind_of_tea_lists_the_menu_s_teas_of_that_kind(
    tmp_path: Path, ask: str, listed: str, answer: str, ordered: str
) -> None:
    """A kind is not a drink: the caller hears ours of that kind (from the menu tool, its
    descriptions) and picks; the one oolong is offered and a yes orders it."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(ask)
        assert not set(names(calls)) & WRITES and listed in said, said
        await call.say(answer)
        assert [r[:2] for r in await call.order()] == [(ordered, 1)]


@pytest.mark.parametrize(
    ("opening", "reply"),
    [("Hi, I'd like to order please.", "Sure. What can I get you?"),
     ("Can I order for pickup?", "Sure. What can I get you?"),
     ("Hello? Hello, can you hear me?", "Yes, I can hear you. What can I get you?"),
     ("Can I get a flubber?", "Sorry, I didn't catch which drink. Could you say it again?")],
)  # fmt: skip
async def test_an_opening_without_a_drink_is_asked_what_it_wants_never_to_repeat_it(
    tmp_path: Path, opening: str, reply: str
) -> None:
    """ "I'd like to order" named no drink, so "could you say it again?" is wrong there; only
    words not understood are asked again. Neither goes to the model."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(opening)
        assert not set(names(calls)) & WRITES and said == reply, said
        await call.say("A latte, please.")
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]
        assert fallback.asked == []


async def test_a_drink_we_do_not_have_corrected_to_ours_is_never_guessed_as_a_third(
    tmp_path: Path,
) -> None:
    """ "two flat whites, er, I mean two cortados" once asked about "two Cortados and two
    Lattes": a drink the menu lacks is never a near miss of one it has."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Hiya, I'll grab two flat whites, er, I mean two cortados.")
        assert [r[:2] for r in await call.order()] == [("Cortado", 2)], said
        _, said = await call.say("Could I grab a flat white?")
        assert said.startswith("Sorry, we don't have a flat white.") and said.endswith("like?")


@pytest.mark.parametrize(
    ("lines", "kind", "read_back"),
    [(["A latte to go please."], "To go", "That's one Latte, to go."),
     (["A latte please.", "It's for here."], "Here", "That's one Latte, for here."),
     (["Can I get it to go?", "A latte."], "To go", "That's one Latte, to go."),
     (["I'd like to go with a latte."], None, "That's one Latte. Anything")],
)  # fmt: skip
async def test_to_go_or_for_here_sets_the_order_type_and_is_read_back(
    tmp_path: Path, lines: list[str], kind: str | None, read_back: str
) -> None:
    """The order's type is a tool call (`update_order`), said in the read-back; "go with a
    latte" is no order type."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        for line in lines:
            calls, said = await call.say(line)
        assert read_back in said, said
        sets = [a for n, a in calls if n == "update_order"]
        assert sets == ([{"order_id": sets[0]["order_id"], "attributes": [
            {"attribute_id": "order-type", "option": kind}]}] if kind else []), calls  # fmt: skip
        if kind:  # the order's options are checked first, as a drink's are
            at = names(calls).index("update_order")
            assert calls[at - 1] == ("get_addons", {"query": kind, "scope": "order"}), calls
        details = await call.store.get_order_details((await _orders(call.store))[0]["order_id"])
        stored = {a["attribute_id"]: a["option"] for a in details["attributes"]}
        assert stored.get("order-type") == kind


@pytest.mark.parametrize(
    ("lines", "order"),
    [(["I'll take a cappuccino.", "And a cookie?", "Okay, just the cappuccino then."],
      [("Cappuccino", 1)]),
     (["Hey, do you have cold brew?", "Great, two of those please."], [("Cold Brew", 2)]),
     (["Two cold brews please.", "Actually make one a latte."], [("Cold Brew", 1), ("Latte", 1)]),
     (["Can I get three mochas?", "Actually, make that two mochas and a latte."],
      [("Mocha", 2), ("Latte", 1)]),
     (["Can I get a latte?", "Sorry, two lattes."], [("Latte", 2)])],
)  # fmt: skip
async def test_a_mind_changed_in_other_words_changes_the_order_not_adds_to_it(
    tmp_path: Path, lines: list[str], order: list[tuple[str, int]]
) -> None:
    """Each of these once added drinks: "just the cappuccino" a second cappuccino, "make that
    two mochas and a latte" five mochas, "sorry, two lattes" three; "two of those" to "would
    you like one?" ordered one."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        for line in lines:
            _, said = await call.say(line)
        assert [r[:2] for r in await call.order()] == order, said
        assert said.endswith("place the order?"), said


@pytest.mark.parametrize(
    ("question", "tool", "answer_has"),
    [("What kinds of milk do you have?", "show_menu", "we have whole milk, 2% milk, non-fat milk, "
      "oat milk, 2% lactose free milk and almond milk, or none."),
     ("I'd like to know what types of milk you have, please.", "show_menu", "oat milk"),
     ("What kind of syrups do you have?", "get_addons", "vanilla sweetener")],
)  # fmt: skip
async def test_which_milks_is_read_from_the_menu_card_and_which_syrups_from_the_add_ons(
    tmp_path: Path, question: str, tool: str, answer_has: str
) -> None:
    """No drink named: the milks are on the menu card (`show_menu`, as the dataset's agents
    answer it), the syrups and sweeteners are add-ons (`get_addons`); either way the answer is
    the tool's list and nothing is ordered."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(question)
        assert names(calls) == [tool] and answer_has in said.lower(), said
        assert await call.order() == [] and fallback.asked == []


@pytest.mark.parametrize(
    ("question", "tools", "answer_has"),
    [("What kinds of black tea do you have?", ["show_menu", "get_menu_items"],
      "We have English Breakfast, Lavender Earl Grey and Three Cultivar Red."),
     ("What types of chai tea do you have?", ["show_menu", "get_menu_items"], "Chai Latte"),
     ("What kind of coffee do you have?", ["show_menu"], "We have coffee like"),
     ("What different black teas do you have?", ["get_menu_items"],
      "English Breakfast, Lavender Earl Grey and Three Cultivar Red."),
     # asked as "can you tell me ...": the menu and the kind, not the tea part alone
     ("Hi, can you tell me what kinds of black tea you have?", ["show_menu", "get_menu_items"],
      "We have English Breakfast, Lavender Earl Grey and Three Cultivar Red."),
     # drinks of a kind, not the sauce of that name
     ("Do y'all sell any chocolate drinks?", ["get_menu_items"], "Hot Chocolate and Mocha")],
)  # fmt: skip
async def test_a_kind_inside_the_menu_is_answered_with_the_drinks_of_that_kind(
    tmp_path: Path, question: str, tools: list[str], answer_has: str
) -> None:
    """ "What kinds of coffee?" is a part of the menu (`show_menu`); "what kinds of black
    tea?" is a kind inside one, answered with the menu tool's drinks of that kind (before,
    "tea like English Breakfast, Wild Strawberry, Jin Xuan", two of them no black tea; "black
    teas" found every tea). Nothing is ordered."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(question)
        assert names(calls) == tools and answer_has in said, said
        assert await call.order() == [] and fallback.asked == []


async def test_i_ll_have_what_you_recommend_gets_a_recommendation(tmp_path: Path) -> None:
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say("I'll have what you recommend.")
        assert names(calls) == ["show_menu"] and said.endswith("Would you like one of those?")
        assert fallback.asked == []


@pytest.mark.parametrize(
    "line", ["Can I speak to Maria?", "I want to complain about my last order, it was cold."]
)
async def test_a_person_asked_for_by_name_or_a_complaint_is_offered_a_transfer(
    tmp_path: Path, line: str
) -> None:
    """Both went elsewhere (the model; "which drink?"): a person's to handle, so the transfer
    tool is tried, and its failure is said in our words, never the tool's."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(line)
        assert names(calls) == ["transfer_to_human"] and "nobody is available" in said, said
        assert fallback.asked == [] and "Tell the caller" not in said


async def test_a_no_to_a_check_that_says_the_order_again_adds_no_second_drink(
    tmp_path: Path,
) -> None:
    """The phone call `earl-grey-honey` as Whisper wrote it (stop 31): the answer to "one Earl
    Grey, right?" named the Cappuccino ordered too, and a second Cappuccino was added."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Good morning, I'd like Andrew Grey to yando, Cappuccino with honey.")
        _, said = await call.say(
            "Nope, that. That's not right. I'd like one real grey and one Cappuccino with honey."
        )
        assert said == "Just to check: one Earl Grey, right?"
        await call.say("No, that's not right. I'd like one Earl Grey and Cappuccino with a need.")
        assert await call.addons() == [("Cappuccino", ["honey"]), ("Earl Grey", [])]


@pytest.mark.parametrize(
    ("first", "asked", "order"),
    [("Good morning and I speak up like a with oat milk, please.",
      "Which drink would you like with oat milk?", ("Latte", 1, {"milk-options": "Oat Milk"})),
     ("Something iced with oat milk please", "Which drink would you like, iced with oat milk?",
      ("Latte", 1, {"hot-or-iced": "Iced", "milk-options": "Oat Milk"}))],
)  # fmt: skip
async def test_options_heard_without_a_drink_ask_for_the_drink_and_keep_them(
    tmp_path: Path, first: str, asked: str, order: tuple[str, int, dict[str, str]]
) -> None:
    """`iced-decaf-latte-phone` (stop 31): the milk was heard, the drink was not, and the
    model answered "sure, I'd be happy to help!"."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(first)
        assert not set(names(calls)) & WRITES and said.endswith(asked), said
        await call.say("A latte.")
        assert [r[:3] for r in await call.order()] == [order]
        assert fallback.asked == []


@pytest.mark.parametrize(
    ("answer", "said"),
    [("Please.", "Got it. That's one Cappuccino with almond milk."),
     ("You're there.", "Sorry, I didn't catch that. Was that one Cappuccino with almond milk?")],
)  # fmt: skip
async def test_a_check_answered_please_is_a_yes_and_words_not_understood_get_it_again(
    tmp_path: Path, answer: str, said: str
) -> None:
    """blind3's calls of stop 31 (Whisper's words): "Please." and "You're there." answered
    "..., right?" and both went to the model."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        _, asked = await call.say("Can I have a Pappuccino with almond milk?")
        assert asked == "Just to check: one Cappuccino with almond milk, right?"
        _, reply = await call.say(answer)
        assert reply.startswith(said) and fallback.asked == [], reply


async def test_a_correction_that_names_a_drink_ordered_by_a_near_miss_keeps_it(
    tmp_path: Path,
) -> None:
    """blind3's teas call (stop 31): "one peppermint rose and one welled strawberry" took the
    Wild Strawberry off; confirmed, the order is both (and the yes is answered in words)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Hi, can I order at that vermint rose tea and a wild strawberry?")
        calls, said = await call.say(
            "No, that's not right. I'd like one peppermint rose and one welled strawberry."
        )
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Peppermint Rose and one Wild Strawberry, right?"
        _, said = await call.say("Yes.")
        assert said.startswith("Got it. That's one Wild Strawberry and one Peppermint Rose.")
        assert [r[:2] for r in await call.order()] == [
            ("Wild Strawberry", 1),
            ("Peppermint Rose", 1),
        ]


async def test_the_tuned_remove_call_as_whisper_wrote_it_adds_the_drink_heard_and_names_none_unordered(
    tmp_path: Path,
) -> None:
    """`remove-hot-chocolate` of stop 31: "American under hot chocolate" ("a mocha and a hot
    chocolate") got "we don't have that", and the removal then said "There's no Hot Chocolate
    in your order" with no tool result behind it, the run's one ungrounded statement."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("American under hot chocolate, please.")
        assert [r[:2] for r in await call.order()] == [("Hot Chocolate", 1)]
    async with Caller(tmp_path / "2", ScriptedFallback()) as call:
        calls, said = await call.say("Actually, please remove the hot chocolate.")
        assert calls == [] and said == "There's nothing in your order yet. What can I get you?"


async def test_an_answer_not_understood_to_an_option_question_gets_the_question_again(
    tmp_path: Path,
) -> None:
    """`phone-double-espresso` of stop 31: "No, no, please." for "Double, please." answered
    "which espresso shots?" and the model echoed it back four times."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        _, asked = await call.say("Can I get an espresso or not all shot?")
        calls, said = await call.say("No, no, please.")
        assert not set(names(calls)) & WRITES and said == f"Sorry, I didn't catch that. {asked}"
        await call.say("Double, please.")
        assert [r[:3] for r in await call.order()] == [
            ("Espresso", 1, {"espresso-shots": "Double"})
        ]  # fmt: skip
        assert fallback.asked == []


async def test_longer_names_are_taken_only_when_said_never_as_a_near_miss(tmp_path: Path) -> None:
    """`phone-cortados-remove-cold-brew` of stop 31: "Two core tables" came nearest "green tea
    latte" (a longer name added that session) and got "two Matcha Lattes, right?"."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Two core tables and the cold brew, please.")
        assert said == "Just to check: one Cold Brew and two Cortados, right?"


async def test_a_question_is_asked_again_twice_at_most_never_in_a_loop(tmp_path: Path) -> None:
    """Run 3 of stop 31: "I'm old, please." (for "Double, please") got the shots question
    again thirteen times, each with one more "I didn't catch that.". Twice, then no more."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, asked = await call.say("Can I get an espresso or not all shot?")
        _, first = await call.say("Not all, please.")
        _, second = await call.say("No, no, please.")
        _, third = await call.say("I'm old, please.")
        assert first == f"Sorry, I didn't catch that. {asked}"
        assert second == f"Sorry, I'm having trouble hearing you. {asked}"
        assert asked not in third


# ---------------------------------------------------------------------------- uncertainty


@pytest.mark.parametrize("yes", ["Yes.", "Nice.", "Sounds good.", "Alright, thanks."])
async def test_a_near_miss_drink_name_gets_a_question_then_is_added_on_yes(
    tmp_path: Path, yes: str
) -> None:
    """Any plain yes confirms, "Nice." too (Whisper's hearing of a short "Yes.")."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Hi, could I get a cortato with almond milk?")
        assert not set(names(calls)) & WRITES and said.endswith("right?"), said
        assert "cortado" in said.lower()
        calls, said = await call.say(yes)
        assert "add_order_item" in names(calls)
        assert await call.order() == [("Cortado", 1, {"milk-options": "Almond Milk"}, "open")]


async def test_a_near_miss_answered_no_adds_nothing(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("I'll have a mach auto")
        calls, said = await call.say("No.")
        assert calls == [] and "which drink" in said.lower()
        await call.say("A macchiato please")
        assert [r[:2] for r in await call.order()] == [("Macchiato", 1)]


async def test_a_doubtful_number_is_confirmed_and_a_bare_plural_asks_how_many(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("can I get to lattes")  # "two" heard as "to"
        assert looked_up_only(calls) and "two lattes" in said.lower() and said.endswith("right?")
        await call.say("yeah")
        assert [r[:2] for r in await call.order()] == [("Latte", 2)]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        (tmp_path / "b").mkdir(exist_ok=True)
        calls, said = await call.say("mochas for the office please")
        assert calls == [] and "how many" in said.lower()
        await call.say("three")
        assert [r[:2] for r in await call.order()] == [("Mocha", 3)]


@pytest.mark.parametrize(
    "text",
    [
        "Bye, can I get two lattes with oat milk?",
        "Hi bye, a mocha please",
        "Can I get a cappuccino, and then bye for now",
    ],
)
async def test_a_farewell_inside_an_order_is_not_a_goodbye(tmp_path: Path, text: str) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, _ = await call.say(text)
        assert "end_call" not in names(calls)
        assert "add_order_item" in names(calls)


async def test_a_plain_goodbye_still_ends_the_call(tmp_path: Path) -> None:
    assert "goodbye" in understand("okay thanks, bye").acts
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, _ = await call.say("okay thanks, bye")
        assert names(calls) == ["end_call"]


@pytest.mark.parametrize(
    "tail, lead",
    [
        ("Green.", "Sorry, I didn't catch that."),
        ("Um.", "Sorry, I didn't catch that."),
        ("Please.", "Sure."),
        ("Thank you.", "Sure."),
    ],
)
async def test_a_fragment_over_the_read_back_gets_the_read_back_again_not_the_model(
    tmp_path: Path, tail: str, lead: str
) -> None:
    """ "I'll take the English Breakfast, | please.": the tail after a comma pause is a turn of
    its own (blind2's teas caller heard "Green."); it changes nothing, the model never guesses
    at it, and the order is read back again and placed only on a yes."""
    fallback = ScriptedFallback("Got it, one green tea added.")
    async with Caller(tmp_path, fallback) as call:
        await call.say("Hey, what kind of teas do you have?")
        await call.say("I'll take the English Breakfast,")
        calls, said = await call.say(tail)
        assert not set(names(calls)) & WRITES, calls
        assert said == f"{lead} That's one English Breakfast. Shall I place the order?"
        assert fallback.asked == []
        calls, _ = await call.say("Yes, please.")
        assert names(calls) == ["finish_order"]
        assert await call.order() == [("English Breakfast", 1, {}, "finished")]


# ---------------------------------------------------------------------------- changes


@pytest.mark.parametrize(
    "change",
    ["Add caramel to the mocha.", "Put caramel in the mocha.", "Can the mocha have caramel?",
     "I want caramel in the mocha.", "The mocha with caramel please."],
)  # fmt: skip
async def test_an_add_on_for_the_drink_ordered_changes_it_never_adds_a_second(
    tmp_path: Path, change: str
) -> None:
    """ "Add caramel to the mocha" once ordered a second Mocha with caramel: "add" named an
    add-on for the mocha already ordered."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a mocha.")
        calls, said = await call.say(change)
        assert "add_order_item" not in names(calls), calls
        assert said.startswith("Okay. That's one Latte and one Mocha with caramel sauce."), said
        assert await call.addons() == [("Latte", []), ("Mocha", ["caramel-sauce"])]


@pytest.mark.parametrize(
    "line",
    [
        "Can I get a chai tea latte?",
        "A chai tea, please.",
        "A matcha green tea latte, please.",
        "Can I get a cortado, no wait, a macchiato.",
        "A mocha, sorry, no, a latte.",
        "Can I get a hot choc?",
        "I would like to order the Jin Xuan green tea, please.",
        "Could I get a Mocha Latte with no foam?",
    ],
)
async def test_a_longer_way_of_naming_a_drink_orders_one_drink(tmp_path: Path, line: str) -> None:
    """ "a chai tea latte" once ordered a Chai Latte and a Latte, "a cortado, no wait, a
    macchiato" both."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(line)
        assert len(await call.order()) == 1 and (await call.order())[0][1] == 1


async def test_a_list_with_commas_keeps_every_drink(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A mocha, latte and cappuccino, please.")
        assert [r[0] for r in await call.order()] == ["Mocha", "Latte", "Cappuccino"]


async def test_one_with_almond_and_one_with_oat_splits_two_drinks_ordered(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two mochas please.")
        await call.say("Can I get one with almond milk and one with oat?")
        assert sorted(r[2]["milk-options"] for r in await call.order()) == [
            "Almond Milk", "Oat Milk"
        ]  # fmt: skip


async def test_the_second_one_changes_one_drink_of_two(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two lattes please.")
        await call.say("Make the second one decaf.")
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {}), ("Latte", 1, {"caffeine": "Decaf"})
        ]  # fmt: skip


async def test_a_milk_change_on_drinks_already_ordered_updates_them_and_is_read_back(
    tmp_path: Path,
) -> None:
    fallback = ScriptedFallback("Got it. That's one latte with almond milk and one Milk Latte.")
    async with Caller(tmp_path, fallback) as call:
        await call.say("Two iced lattes with oat milk please")
        calls, said = await call.say("Actually, can you make them almond milk instead?")
        assert names(calls) == ["get_addons", "update_order_item", "get_order_details"]
        assert calls[0][1] == {"query": "Almond Milk", "menu_item_id": "latte"}
        assert calls[1][1]["attributes"] == [
            {"attribute_id": "milk-options", "option": "Almond Milk"}
        ]
        assert "two iced lattes with almond milk" in said.lower()
        assert said.endswith("shall I place the order?")
        assert fallback.asked == []
        calls, _ = await call.say("Yes, that's everything.")
        assert names(calls) == ["finish_order"]
        assert await call.order() == [
            ("Latte", 2, {"hot-or-iced": "Iced", "milk-options": "Almond Milk"}, "finished")
        ]


async def test_one_of_them_becomes_a_line_of_its_own(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("two lattes please")
        calls, said = await call.say("make one of them decaf")
        assert names(calls) == ["update_order_item", "add_order_item", "get_order_details"]
        assert "one latte and one decaf latte" in said.lower(), said
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {}),
            ("Latte", 1, {"caffeine": "Decaf"}),
        ]


async def test_a_quantity_change_and_a_correction(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("three mochas and a latte")
        calls, _ = await call.say("actually just two mochas")
        assert names(calls)[0] == "update_order_item" and calls[0][1]["quantity"] == 2
        calls, said = await call.say("no, I said a cortado, not a latte")
        assert "add_order_item" in names(calls)
        assert [r[:2] for r in await call.order()] == [("Mocha", 2), ("Cortado", 1)]
        assert said.endswith("shall I place the order?")


@pytest.mark.parametrize(
    "text",
    [
        "Actually I don't want the mocha anymore.",
        "Never mind the mocha.",
        "Leave out the mocha.",
        "No mocha after all.",
        "I changed my mind about the mocha.",
    ],
)
async def test_a_drink_the_caller_no_longer_wants_comes_off(tmp_path: Path, text: str) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a mocha please.")
        calls, said = await call.say(text)
        assert calls[0][0] == "update_order_item" and calls[0][1].get("remove") is True
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]
        assert said.endswith("shall I place the order?")


async def test_not_wanting_one_drink_but_another_is_a_correction(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a mocha please.")
        await call.say("I don't want the mocha, I'd like a cortado instead.")
        assert [r[:2] for r in await call.order()] == [("Latte", 1), ("Cortado", 1)]


async def test_not_wanting_an_option_never_takes_the_drink_off(tmp_path: Path) -> None:
    fallback = ScriptedFallback("Sure.")
    async with Caller(tmp_path, fallback) as call:
        await call.say("A latte please.")
        calls, _ = await call.say("Actually I don't want the latte iced.")
        assert not set(names(calls)) & WRITES, calls
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {})]


@pytest.mark.parametrize(
    ("first", "then", "quantity"),
    [
        ("Three lattes.", "Just one please.", 1),
        ("Three lattes.", "Only one of those.", 1),
        ("Two cold brews please.", "Oh wait, I only need one.", 1),
        ("Two lattes.", "Actually one less.", 1),
        ("A latte.", "Another one of those please.", 2),
        ("Two lattes.", "One more, please.", 3),
        ("Three hot chocolates.", "Change that to two.", 2),
        ("Three hot chocolates.", "Can we do two instead?", 2),
        ("Three lattes.", "Two instead of three.", 2),
        # "two" as Whisper writes it at the end of a sentence
        ("Four cappuccinos.", "I only need to.", 2),
    ],
)
async def test_a_number_said_without_the_drink_changes_the_drink_ordered(
    tmp_path: Path, first: str, then: str, quantity: int
) -> None:
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        await call.say(first)
        calls, said = await call.say(then)
        assert names(calls) == ["update_order_item", "get_order_details"], calls
        assert sum(r[1] for r in await call.order()) == quantity
        assert said.endswith("shall I place the order?") and fallback.asked == []


@pytest.mark.parametrize(
    ("first", "then", "lines"),
    [
        ("Two lattes.", "One hot and one iced.",
         [("Latte", 1, {"hot-or-iced": "Iced"}), ("Latte", 1, {"hot-or-iced": "Hot"})]),
        ("Two lattes.", "One with oat milk and one with whole milk.",
         [("Latte", 1, {"milk-options": "Whole Milk"}), ("Latte", 1, {"milk-options": "Oat Milk"})]),
        ("Two mochas.", "Make one oat milk and the other almond milk.",
         [("Mocha", 1, {"milk-options": "Almond Milk"}), ("Mocha", 1, {"milk-options": "Oat Milk"})]),
    ],
)  # fmt: skip
async def test_one_this_way_and_one_that_way_splits_the_line(
    tmp_path: Path, first: str, then: str, lines: list[tuple[str, int, dict[str, str]]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(first)
        _, said = await call.say(then)
        assert [r[:3] for r in await call.order()] == lines
        assert said.endswith("shall I place the order?")


async def test_a_question_about_the_order_offers_the_change_and_a_yes_makes_it(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte please.")
        calls, said = await call.say("Is that with whole milk?")
        assert names(calls) == ["get_order_details"]
        assert said == "You have one Latte. Would you like it with whole milk?"
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {})]
        await call.say("Yes please.")
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {"milk-options": "Whole Milk"})]


@pytest.mark.parametrize(
    "text",
    ["Is it possible to get a latte?", "Is there any chance I could get a latte?",
     "Do you think I could get a latte?", "How about a latte?"],
)  # fmt: skip
async def test_a_request_shaped_as_a_question_orders(tmp_path: Path, text: str) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(text)
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]


async def test_an_ambiguous_removal_asks_which(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("an iced oat latte")
        await call.say("and a hot latte with whole milk")
        calls, said = await call.say("Please remove the latte.")
        assert not set(names(calls)) & WRITES and "which one" in said.lower(), said
        calls, said = await call.say("the iced one")
        assert names(calls)[0] == "update_order_item" and calls[0][1].get("remove") is True
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {"hot-or-iced": "Hot", "milk-options": "Whole Milk"})
        ]


@pytest.mark.parametrize(
    "removal",
    ["Take away the cappuccino.", "Take the cappuccino out.", "Leave off the cappuccino.",
     "Lose the cappuccino.", "Skip the cappuccino."],
)  # fmt: skip
async def test_removal_wordings_take_the_drink_off_never_add_it(
    tmp_path: Path, removal: str
) -> None:
    """ "Take away the cappuccino" once added a second cappuccino; "take away" alone stays
    "to go" (`test_to_take_away_is_not_a_removal`)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte, a mocha and a cappuccino, please.")
        calls, said = await call.say(removal)
        assert "add_order_item" not in names(calls), calls
        assert [r[:2] for r in await call.order()] == [("Latte", 1), ("Mocha", 1)], said
        assert said.endswith("shall I place the order?"), said


@pytest.mark.parametrize(
    "line", ["A latte to take away, please.", "Can I get a latte for take out?"]
)
async def test_to_take_away_is_not_a_removal(tmp_path: Path, line: str) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(line)
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]


@pytest.mark.parametrize(
    "cancel",
    ["Never mind, cancel everything.", "Cancel my order please.", "Can we start over?",
     "Remove all of them.", "Actually forget it, I don't want anything."],
)  # fmt: skip
async def test_cancelling_the_whole_order_is_asked_then_done_on_a_yes(
    tmp_path: Path, cancel: str
) -> None:
    fallback = ScriptedFallback("Okay, your order is cancelled.")
    async with Caller(tmp_path, fallback) as call:
        await call.say("A latte and a mocha, please.")
        calls, said = await call.say(cancel)
        assert not set(names(calls)) & WRITES, calls
        assert said == "You have one Latte and one Mocha. Should I cancel the whole order?"
        calls, said = await call.say("Yes.")
        assert names(calls) == ["update_order_item", "update_order_item"], calls
        assert await call.order() == [] and "your order is empty now" in said, said
        await call.say("A cortado, please.")
        assert [r[:2] for r in await call.order()] == [("Cortado", 1)]
        assert fallback.asked == []


async def test_cancelling_answered_no_keeps_the_order_and_a_placed_one_is_not_cancelled(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a mocha, please.")
        await call.say("Cancel my order please.")
        calls, said = await call.say("No, sorry, keep it.")
        assert not set(names(calls)) & WRITES, calls
        assert (
            said == "Okay, I'll keep it. That's one Latte and one Mocha. Shall I place the order?"
        )
        await call.say("Yes.")
        calls, said = await call.say("Cancel my order.")
        assert not set(names(calls)) & WRITES and "placed already" in said, said
        assert {r[3] for r in await call.order()} == {"finished"}


async def test_no_i_don_t_want_anything_else_answers_the_read_back(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a mocha, please.")
        calls, _ = await call.say("No, I don't want anything else.")
        assert names(calls) == ["finish_order"]


@pytest.mark.parametrize(
    ("removal", "left"),
    [("Remove the lattes.", [("Cortado", 1)]),
     ("Remove a latte.", [("Cortado", 1), ("Latte", 1)]),
     ("Remove one latte.", [("Cortado", 1), ("Latte", 1)])],
)  # fmt: skip
async def test_the_lattes_are_all_of_them_and_a_latte_is_one(
    tmp_path: Path, removal: str, left: list[tuple[str, int]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A cortado and two lattes.")
        await call.say(removal)
        assert [r[:2] for r in await call.order()] == left


@pytest.mark.parametrize(
    ("answer", "left", "said"),
    [("The hot one.", [("Latte", 1, {"hot-or-iced": "Iced"})], "That's one iced Latte."),
     ("Both.", [], "I took off the Lattes.")],
)  # fmt: skip
async def test_which_latte_to_take_off_is_answered_by_how_it_is_made(
    tmp_path: Path, answer: str, left: list[Any], said: str
) -> None:
    """ "The hot one" once went to the model; "both" said "the Latte and Latte"."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        await call.say("An iced latte and a hot latte.")
        await call.say("Remove the latte.")
        _, reply = await call.say(answer)
        assert [r[:3] for r in await call.order()] == left and said in reply, reply
        assert fallback.asked == []


async def test_removing_from_a_line_of_two_asks_one_or_all(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("two lattes please")
        calls, said = await call.say("remove the latte")
        # asked after a fresh look at the order (grounded), nothing changed yet
        assert names(calls) == ["get_order_details"] and "one, or all" in said
        calls, said = await call.say("just one")
        assert calls[0] == (
            "update_order_item",
            {"order_item_id": calls[0][1]["order_item_id"], "quantity": 1},
        )
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]


# ---------------------------------------------------------------------------- grounded speech


async def test_a_fallback_reply_claiming_an_order_change_is_never_spoken(tmp_path: Path) -> None:
    claim = "Got it. That's one latte with almond milk and one Milk Latte."
    fallback = ScriptedFallback(claim)
    async with Caller(tmp_path, fallback) as call:
        await call.say("a latte please")
        _, said = await call.say("hmm could you do the thing with the stuff like last time")
        assert fallback.asked, "the turn should have gone to the fallback model"
        assert "got it" not in said.lower() and "almond" not in said.lower()
        assert said == ASK_AGAIN
        assert call.guided.replaced and call.guided.replaced[0][0] == "claim"
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {})]


@pytest.mark.parametrize(
    "reply",
    [
        "I've added an oat latte for you.",
        "Sure, two mochas coming right up!",
        "Your order is placed and ready soon.",
        "Okay, I switched it to decaf.",
    ],
)
async def test_no_order_claim_from_the_model_reaches_the_caller(tmp_path: Path, reply: str) -> None:
    async with Caller(tmp_path, ScriptedFallback(reply)) as call:
        _, said = await call.say("tell me a joke please")
        assert ASK_AGAIN in said
        for word in ("added", "coming", "placed", "switched"):
            assert word not in said.lower()


async def test_harmless_model_small_talk_is_spoken(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback("I'm doing well, thanks for asking!")) as call:
        _, said = await call.say("how are you doing today")
        assert said == "I'm doing well, thanks for asking!"


async def test_no_tool_instruction_text_is_ever_spoken(tmp_path: Path) -> None:
    """transfer_to_human with nobody to transfer to answers with text written for the
    model ("Tell the caller you are sorry..."); the caller hears the agent's own words."""
    fallback = ScriptedFallback("Tell the caller it is sunny. It is sunny here.")
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say("Can I speak to a real person please?")
        assert names(calls) == ["transfer_to_human"]
        assert "nobody is available" in said.lower()
        _, said2 = await call.say("what's the weather")
        for line in call.spoken:
            assert "the caller" not in line.lower() and "tell the" not in line.lower(), line
        assert said2 == "It is sunny here."


async def test_someone_in_a_question_is_not_a_transfer(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, _ = await call.say("What would you recommend for someone who does not like coffee?")
        assert "transfer_to_human" not in names(calls)


# ---------------------------------------------------------------------------- another business


@pytest.mark.parametrize(
    "text",
    [
        "Hi, I'm calling to check if my prescription is ready for pickup",
        "Is this the pharmacy? I need a refill",
        "Sorry, I think I have the wrong number",
        "I'd like to book a table for four tonight, I have a reservation question",
        "Hello, is this the bakery?",
        "Hi, is this Joe's auto repair?",
        "I'd like to order a large pepperoni.",
    ],
)
async def test_a_caller_who_wants_another_business_hears_what_this_line_does(
    tmp_path: Path, text: str
) -> None:
    fallback = ScriptedFallback(
        "Please provide the prescription number so I can assist you further."
    )
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(text)
        assert calls == [] and said == OFF_TOPIC_LINE
        assert fallback.asked == []
        assert await call.order() == []


async def test_the_model_asking_for_another_business_details_is_replaced(tmp_path: Path) -> None:
    fallback = ScriptedFallback(
        "Please provide the prescription number so I can assist you further."
    )
    async with Caller(tmp_path, fallback) as call:
        _, said = await call.say("my thing from last week, is it done")
        assert said == OFF_TOPIC_LINE


async def test_words_the_stt_was_unsure_of_are_confirmed_before_anything_is_added(
    tmp_path: Path,
) -> None:
    """The STT's confidence (the agent's STT node passes each final transcript's to the
    brain) below `LOW_CONFIDENCE`: the drinks heard are read back as a question."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        call.guided.note_hearing("A mocha with oat milk.", 0.3)
        calls, said = await call.say("A mocha with oat milk.")
        assert names(calls) == ["get_menu_items", "get_addons"]  # looked up, nothing added
        assert said.lower() == "just to check: one mocha with oat milk, right?"
        call.guided.note_hearing("Yes.", 0.9)
        calls, _ = await call.say("Yes.")
        assert names(calls) == ["add_order_item", "get_order_details"]  # not looked up again
        call.guided.note_hearing("A cortado.", 0.3)
        await call.say("A cortado.")
        call.guided.note_hearing("Almond.", 0.9)  # the drink asked about, changed: looked up
        calls, _ = await call.say("Almond.")
        assert names(calls)[:2] == ["get_menu_items", "get_addons"], calls
        call.guided.note_hearing("And a latte.", 0.9)  # heard clearly: added at once
        calls, _ = await call.say("And a latte.")
        assert "add_order_item" in names(calls)
        assert [r[:2] for r in await call.order()] == [("Mocha", 1), ("Cortado", 1), ("Latte", 1)]


async def test_no_that_s_it_place_the_order_places_it(tmp_path: Path) -> None:
    """ "No" answers "anything else?" when it comes with "that's it" / "place it"."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("a latte with oat milk")
        calls, _ = await call.say("No, that's it. Please place the order.")
        assert names(calls) == ["finish_order"]


async def test_the_model_naming_a_drink_is_not_spoken(tmp_path: Path) -> None:
    """The model has no tool result to describe a drink from: "It's a traditional Americano
    with a creamy texture" (said on a simulated call) is replaced."""
    fallback = ScriptedFallback("It's a traditional Americano drink with a creamy texture.")
    async with Caller(tmp_path, fallback) as call:
        _, said = await call.say("tell me a story please")
        assert said == ASK_AGAIN


async def test_an_order_for_a_drink_not_understood_is_asked_again_not_guessed(
    tmp_path: Path,
) -> None:
    """ "Could I get a four-toddle without a milk?" (a simulated caller's "cortado with oat
    milk" through Whisper): the agent asks, the model never answers an order; the second
    miss names the menu; "one for tato" is heard as a near miss of cortado."""
    fallback = ScriptedFallback("Sure, I can get a four-toddle for you.")
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say("Could I get a four-toddle without a milk?")
        assert calls == [] and said == "Sorry, I didn't catch which drink. Could you say it again?"
        calls, said = await call.say("I'd like the four-toddle please")
        assert calls == [] and said.startswith("Sorry, I still didn't catch it. We have")
        calls, said = await call.say("No, that's not right. I'd like one for Tato with oat milk.")
        assert looked_up_only(calls) and "cortado with oat milk, right?" in said.lower()
        assert fallback.asked == []


async def test_a_repair_that_changes_nothing_says_the_order_holds_exactly_that(
    tmp_path: Path,
) -> None:
    """ "No, that's not right. I'd like one espresso." with one espresso ordered: nothing
    would change and nothing is added; the agent says, from the order, that it has exactly
    that and asks to place it (stop 33: asking "what should I change?" led a caller who had
    nothing to change into saying the order again, which was then added twice)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get an espresso?")
        calls, said = await call.say("No, that's not right. I'd like one espresso.")
        assert names(calls) == ["get_order_details"]
        assert said == "I have exactly that: one Espresso. Shall I place the order?"


async def test_an_acknowledgement_before_a_replaced_claim_is_not_spoken(tmp_path: Path) -> None:
    """ "Sure, I can get you two mochas." must not come out as "Sure, Sorry, I didn't..."."""
    async with Caller(tmp_path, ScriptedFallback("Sure, I can get you two mochas.")) as call:
        _, said = await call.say("tell me a story please")
        assert said == ASK_AGAIN
    async with Caller(tmp_path / "b", ScriptedFallback("Sure, it is sunny.")) as call:
        _, said = await call.say("tell me a story please")
        assert said == "Sure, it is sunny."
    # nor "Sorry," before it as "Sorry, Sorry, I didn't..." (seen after the "Hmm," of a slow model)
    async with Caller(tmp_path / "c", ScriptedFallback("Sorry, I added two mochas.")) as call:
        _, said = await call.say("tell me a story please")
        assert said == ASK_AGAIN


async def test_moving_on_to_another_drink_confirms_the_one_asked_about(tmp_path: Path) -> None:
    """A recorded caller cannot answer "..., right?": "And a hot chocolate too" after it
    means yes (a phone replay lost the latte when it did not)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        call.guided.note_hearing("Hello there. Can I get a latte with oat milk?", 0.3)
        _, said = await call.say("Hello there. Can I get a latte with oat milk?")
        assert said.endswith("right?")
        calls, _ = await call.say("And a hot chocolate too, please.")
        assert names(calls).count("add_order_item") == 2
        assert [r[:2] for r in await call.order()] == [("Latte", 1), ("Hot Chocolate", 1)]


class PrefillingFallback(ScriptedFallback):
    """A fallback model that can prefill, as the llama.cpp plugin does: records the contexts."""

    def __init__(self) -> None:
        super().__init__("It is sunny here.")
        self.prefilled: list[llm.ChatContext] = []

    async def prefill(self, chat_ctx: llm.ChatContext, tools: object = None) -> int:
        self.prefilled.append(chat_ctx)
        return 0


async def test_after_every_reply_the_model_s_next_prompt_is_prefilled(tmp_path: Path) -> None:
    """The fallback's next prompt (its instructions and the said items up to the reply just
    written) is handed to `prefill` after each reply, policy or model, so a model turn pays
    only for the caller's new words (the plugin's prefix reuse is tested with the real
    model in test_plugin_llamacpp.py)."""
    fallback = PrefillingFallback()
    async with Caller(tmp_path, fallback) as call:
        _, said = await call.say("a latte please")
        await asyncio.sleep(0)
        last = fallback.prefilled[-1].items
        assert last[0].role == "system" and last[-1].text_content == said  # type: ignore[union-attr]
        _, said2 = await call.say("how is the weather")
        await asyncio.sleep(0)
        items = fallback.prefilled[-1].items
        assert items[-1].text_content == said2 == "It is sunny here."  # type: ignore[union-attr]
        assert items[-2].text_content == "how is the weather"  # type: ignore[union-attr]


def test_a_number_never_reaches_across_an_and() -> None:
    """ "Two quartadles and the cold brew" (a phone caller's "two cortados and a cold brew"
    through Whisper) is one cold brew, not two."""
    (drink,) = understand("Two quartadles and the cold brew, please.").drinks
    assert (drink.name, drink.quantity) == ("Cold Brew", 1)


# ---------------------------------------------------------------------------- options not understood


async def test_with_oat_milk_heard_as_without_milk_is_asked_not_guessed(tmp_path: Path) -> None:
    """Whisper writes "with oat milk" as "without milk": the two options are offered, and
    the caller's answer completes the request."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Could I get a cortado without milk?")
        assert not set(names(calls)) & WRITES, calls
        assert "oat milk" in said.lower() and "no milk" in said.lower(), said
        await call.say("Oat milk, please.")
        assert await call.order() == [("Cortado", 1, {"milk-options": "Oat Milk"}, "open")]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("Could I get a latte without milk?")
        await call.say("Without, please.")
        assert await call.order() == [("Latte", 1, {"milk-options": "No Milk"}, "open")]


async def test_a_kind_of_milk_not_understood_is_asked_for(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Could I get a cortado with our milk?")
        assert not set(names(calls)) & WRITES, calls
        assert "which milk" in said.lower() and "almond" in said.lower(), said
        await call.say("Almond milk.")
        assert await call.order() == [("Cortado", 1, {"milk-options": "Almond Milk"}, "open")]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        calls, said = await call.say("Can I get a latte with soy milk?")
        assert not set(names(calls)) & WRITES, calls
        assert "don't have soy milk" in said and "which milk" in said.lower(), said
        await call.say("Oat milk then.")
        assert await call.order() == [("Latte", 1, {"milk-options": "Oat Milk"}, "open")]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("Two lattes with almand milk, please.")
        assert said.endswith("right?") and "almond milk" in said.lower(), said
        await call.say("Yes.")
        assert await call.order() == [("Latte", 2, {"milk-options": "Almond Milk"}, "open")]


async def test_a_restated_order_fixes_the_order_it_does_not_add_to_it(tmp_path: Path) -> None:
    """After "one Americano and one Latte", "No, that's not right, I'd like one Americano
    with hazelnut": the Latte comes off and the Americano ordered gets the hazelnut."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get a new Americano?")  # "a new" is a misheard "an"
        await call.say("And a latte.")
        calls, said = await call.say(
            "No, that's not right, I'd like one Americano with Hazel Nut sweetener."
        )
        assert "add_order_item" not in names(calls), calls
        assert [r[:2] for r in await call.order()] == [("Americano", 1)]
        assert "one Americano with hazelnut sweetener" in said, said
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("A latte and a mocha, please.")
        await call.say("No, I said two lattes.")
        assert [r[:2] for r in await call.order()] == [("Latte", 2)]


async def test_an_add_on_heard_but_not_understood_is_confirmed(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await asked_first(
            call,
            "Hello, I am a Cappuccino with Manila, please.",
            "Just to check: one Cappuccino with vanilla sweetener, right?",
        )
        await call.say("Yes.")
        assert await call.addons() == [("Cappuccino", ["vanilla-sweetener"])]


async def test_a_number_of_shots_not_understood_is_asked_for(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Can I get an espresso or not all shot?")  # "a double"
        assert not set(names(calls)) & WRITES, calls
        assert said == (
            "Which espresso shots would you like in the Espresso: a single shot, a double "
            "shot, a triple shot or a quadruple shot?"
        ), said
        await call.say("Double, please.")
        assert await call.order() == [("Espresso", 1, {"espresso-shots": "Double"}, "open")]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("A latte with a trouble shot.")  # near double and triple
        assert said == "Sorry, was that one Latte with a double shot, or with a triple shot?"
        await call.say("Triple.")
        assert await call.order() == [("Latte", 1, {"espresso-shots": "Triple"}, "open")]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        calls, _ = await call.say("An espresso, just a normal shot.")  # the default: no question
        assert "add_order_item" in names(calls)
    (tmp_path / "d").mkdir()
    async with Caller(tmp_path / "d", ScriptedFallback()) as call:
        await call.say("A latte with another shot.")  # an extra shot: a double
        assert await call.order() == [("Latte", 1, {"espresso-shots": "Double"}, "open")]


async def test_a_drink_said_again_after_what_should_i_change_is_not_added_twice(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get an espresso?")
        calls, first = await call.say("No, that's not right. I'd like one espresso.")
        assert names(calls) == ["get_order_details"], calls
        assert first == "I have exactly that: one Espresso. Shall I place the order?"
        calls, again = await call.say("No, that's not right. I'd like one espresso.")
        assert "add_order_item" not in names(calls), calls
        # said again, it is what the order holds: read back from the tools, not asked again
        assert names(calls) == ["get_order_details"] and "one Espresso" in again, again
        assert again.endswith("Shall I place the order?"), again
        calls, _ = await call.say("A double shot.")
        assert await call.order() == [("Espresso", 1, {"espresso-shots": "Double"}, "open")], calls


@pytest.mark.parametrize(
    ("change", "want"),
    [
        (
            "One of them with oat milk and the other with almond milk.",
            [{"milk-options": "Almond Milk"}, {"milk-options": "Oat Milk"}],
        ),
        (
            "Make one of the lattes iced and the other one decaf.",
            [{"caffeine": "Decaf"}, {"hot-or-iced": "Iced"}],
        ),
    ],
)
async def test_one_of_them_and_the_other_in_one_sentence_changes_both(
    tmp_path: Path, change: str, want: list[dict[str, str]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two lattes, please.")
        calls, said = await call.say(change)
        assert names(calls).count("add_order_item") == 1, calls
        got = sorted((r[2] for r in await call.order()), key=str)
        assert [r[:2] for r in await call.order()] == [("Latte", 1), ("Latte", 1)]
        assert got == sorted(want, key=str), said
        assert said.endswith("shall I place the order?"), said  # read back after the change


async def test_a_bare_bye_as_the_first_words_is_asked_about_not_hung_up_on(
    tmp_path: Path,
) -> None:
    """ "Hi." heard as "Bye." must not end a call before the caller ordered anything."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Bye.")
        assert "end_call" not in names(calls) and "hang up" in said, said
        await call.say("Can I get a latte?")
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("Bye.")
        calls, _ = await call.say("Yes, bye.")
        assert names(calls) == ["end_call"]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say("Bye.")
        # a yes among words not understood is a misheard order, not a yes to hanging up
        calls, said = await call.say("Yes, the calf cup of chino please.")
        assert "end_call" not in names(calls), said
        await call.say("A decaf cappuccino, please.")
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1)]


@pytest.mark.parametrize(
    "heard",
    [
        "Bye there. The calf cup of chino.",  # "Hi there. A decaf cappuccino."
        "Okay, bye, the mock a chiller thing.",
    ],
)
async def test_a_bye_among_words_not_understood_is_asked_about_not_hung_up_on(
    tmp_path: Path, heard: str
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Hi.")
        calls, said = await call.say(heard)
        assert "end_call" not in names(calls) and "hang up" in said, said
        await call.say("No, a decaf cappuccino, please.")
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1)]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("Hi.")
        await call.say(heard)
        calls, _ = await call.say("Yes, goodbye.")
        assert names(calls) == ["end_call"]


@pytest.mark.parametrize("farewell", ["Okay, thanks so much, bye!", "Alright then, goodbye."])
async def test_a_farewell_and_nothing_else_ends_the_call(tmp_path: Path, farewell: str) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Hi.")
        calls, _ = await call.say(farewell)
        assert names(calls) == ["end_call"]


async def test_words_that_match_two_drinks_as_well_get_a_choice_not_a_guess(
    tmp_path: Path,
) -> None:
    """ "Two mochas" heard as "to march us": Mochas and Matcha Lattes sound and spell alike."""
    heard = "Can I get to march us with almond milk?"
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(heard)
        assert calls == [] and said == "Sorry, was that two Matcha Lattes or two Mochas?", said
        await call.say("Two mochas with almond milk, please.")
        assert [r[:3] for r in await call.order()] == [
            ("Mocha", 2, {"milk-options": "Almond Milk"})
        ]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say(heard)
        calls, said = await call.say("The mocha.")  # the number is still a guess: checked
        assert looked_up_only(calls) and "two Mochas with almond milk, right?" in said, said
        await call.say("Yes.")
        assert [r[:2] for r in await call.order()] == [("Mocha", 2)]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say(heard)
        calls, said = await call.say("No.")
        assert calls == [] and "Which drink would you like?" in said, said


async def test_two_lines_of_the_same_drink_are_read_back_as_one_count(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get a latte?")
        _, said = await call.say("And another latte, please.")
        assert "two Lattes" in said and "one Latte and one Latte" not in said, said
        assert sum(r[1] for r in await call.order()) == 2


async def test_an_add_on_near_miss_in_a_change_is_asked_before_the_change(tmp_path: Path) -> None:
    """A change to a drink already ordered, heard near an add-on ("with Hazel not
    sweetener"), is asked about; the drink changes on a yes and stays as it was on a no."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get a new Americano?")
        await call.say("And a latte.")
        calls, said = await call.say(
            "No, that's not right, I'd like one Americano with Hazel not sweetener."
        )
        assert said == "Just to check: one Americano with hazelnut sweetener, right?", said
        assert "add_order_item" not in names(calls), calls
        assert [r[:2] for r in await call.order()] == [("Americano", 1)]  # the Latte is off
        assert json.loads((await _orders(call.store))[0]["addons"] or "[]") == []
        calls, said = await call.say("Yes.")
        assert names(calls).count("update_order_item") == 1, calls
        assert "one Americano with hazelnut sweetener" in said, said
        assert await call.addons() == [("Americano", ["hazelnut-sweetener"])]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("A latte, please.")
        await asked_first(
            call,
            "Can you make the latte with carmel sauce?",
            "Just to check: one Latte with caramel sauce, right?",
        )
        _, said = await call.say("No.")
        assert said == "Sorry about that. What would you like to change?", said
        assert await call.addons() == [("Latte", [])]
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        # the drink asked about, said again in full: the change, never a second drink
        await call.say("A latte, please.")
        await call.say("Can you make the latte with carmel sauce?")
        calls, said = await call.say("No, I'd like one latte with caramel sauce.")
        assert "add_order_item" not in names(calls), calls
        assert await call.addons() == [("Latte", ["caramel-sauce"])]
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]


async def test_a_nice_latte_is_asked_about_as_an_iced_one(tmp_path: Path) -> None:
    """ "an iced latte" and "a nice latte" are the same sounds: a barista asks."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await asked_first(call, "Can I get a nice latte?", "Just to check: one iced Latte, right?")
        await call.say("Yes.")
        assert await call.order() == [("Latte", 1, {"hot-or-iced": "Iced"}, "open")]


@pytest.mark.parametrize(
    ("line", "check"),
    [("Hello, can I get a nice lad with on and milk?",
      "Just to check: one iced Latte with almond milk, right?"),
     ("I'd like one nice lad with on and milk.",
      "Just to check: one iced Latte with almond milk, right?"),
     ("A latte with on and milk, please.", "Just to check: one Latte with almond milk, right?")],
)  # fmt: skip
async def test_a_nice_lad_with_on_and_milk_is_asked_about_as_an_iced_almond_latte(
    tmp_path: Path, line: str, check: str
) -> None:
    """blind9's "over-greeting-iced-almond-latte" (read in stop 36), failed in all three runs:
    Whisper wrote "an iced latte with almond milk" as "a nice lad with on and milk", and the
    agent caught no drink. "a nice" before a near miss is its slot (and the iced asked), and
    "on and milk" is a milk not understood, near Almond Milk; "with honey and milk" is not."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(line)
        assert looked_up_only(calls) and said == check, said
        await call.say("Yes.")
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {**({"hot-or-iced": "Iced"} if "iced" in check else {}),
                          "milk-options": "Almond Milk"})
        ]  # fmt: skip
    assert understand("a latte with honey and milk").drinks[0].unclear == {}


async def test_a_correction_that_names_a_missing_drink_adds_it(tmp_path: Path) -> None:
    """With a Cappuccino ordered, "No, that's not right, I'd like one Earl Grey and one
    Cappuccino" adds the Earl Grey; heard as "one real grey", it is asked about first."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A cappuccino with honey, please.")
        calls, said = await call.say(
            "No, that's not right. I'd like one Earl Grey and one Cappuccino with honey."
        )
        assert names(calls).count("add_order_item") == 1, calls
        assert "one Earl Grey" in said and "one Cappuccino with honey" in said, said
        assert sorted(r[0] for r in await call.order()) == ["Cappuccino", "Earl Grey"]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("A cappuccino with honey, please.")
        await asked_first(
            call,
            "Nope, that's not right. I'd like one real grey and one Cappuccino with honey.",
            "Just to check: one Earl Grey, right?",
        )
        await call.say("Yes.")
        assert sorted(r[0] for r in await call.order()) == ["Cappuccino", "Earl Grey"]


async def test_a_correction_that_restates_the_order_offers_the_option_it_speaks_of(
    tmp_path: Path,
) -> None:
    """ "a double shot" heard as "a normal shot": the Espresso goes on with the default, and
    "No, that's not right, one Espresso with a normal shot" disputes the shots, so the agent
    offers them (not "what should I change?"), and the answer changes the drink ordered."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get an espresso for normal shot?")
        await asked_first(
            call,
            "No, that's not right. I'd like one Espresso with a normal shot.",
            "Which espresso shots would you like in the Espresso: a single shot, a double "
            "shot, a triple shot or a quadruple shot?",
        )
        calls, said = await call.say("A double shot, please.")
        assert names(calls).count("update_order_item") == 1 and "add_order_item" not in names(
            calls
        ), calls
        assert "one Espresso with a double shot" in said, said
        assert await call.order() == [("Espresso", 1, {"espresso-shots": "Double"}, "open")]


async def test_a_drink_named_inside_a_change_to_the_order_is_asked_about(tmp_path: Path) -> None:
    """ "Could you add hazelnut to it?" heard as "could you latte or not to it?": a new
    drink where a change was being said is confirmed, never added at once."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get an Americano?")
        await asked_first(
            call, "Oh, and could you latte or not to it?", "Just to check: one Latte, right?"
        )
        await call.say("No.")
        assert [r[:2] for r in await call.order()] == [("Americano", 1)]


@pytest.mark.parametrize(
    ("text", "answer"),
    [("A tea please.", "Earl Grey"), ("Just a black coffee.", "Americano")],
)
async def test_a_kind_of_drink_asked_for_hears_the_drinks_of_that_kind(
    tmp_path: Path, text: str, answer: str
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(text)
        assert names(calls) == ["get_menu_items"] and answer in said, said
        assert said.startswith("We have") and said.endswith("Which would you like?")
        assert await call.order() == []


async def test_words_after_with_that_are_no_option_ask_which_add_on(tmp_path: Path) -> None:
    """ "a latte with hazelnut" heard as "a latte with tea, no, not": the add-ons are
    offered, never dropped in silence; the answer completes the drink."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Hello, can I order a latte with tea? No, not.")
        assert not set(names(calls)) & WRITES
        assert said.startswith("Sorry, what would you like with the Latte: caramel sauce,")
        assert said.endswith("vanilla sweetener, or nothing?")
        await call.say("Hazelnut Sweetener, please.")
        assert await call.addons() == [("Latte", ["hazelnut-sweetener"])]


async def test_nothing_answers_the_add_on_question(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte with tea no not.")
        await call.say("Nothing, thanks.")
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {})]


async def test_the_order_said_again_takes_off_what_it_leaves_out(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get a cortado and a mocha, please?")
        await call.say("And a mocha.")  # "Never mind the mocha", heard wrong
        _, said = await call.say("No, that's not right. I'd like one Cortado.")
        assert [r[:2] for r in await call.order()] == [("Cortado", 1)]
        assert said == "That's one Cortado. Shall I place the order?"


async def test_a_correction_about_the_drink_ordered_changes_only_it(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a mocha.")
        await call.say("No, I wanted the latte iced.")
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {"hot-or-iced": "Iced"}),
            ("Mocha", 1, {}),
        ]


async def test_a_question_after_a_no_is_still_a_question(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Is the cortado strong?")
        calls, said = await call.say("No, that's not right, is the Cortado strong?")
        assert not set(names(calls)) & WRITES and "Cortado is espresso" in said
        assert await call.order() == []


async def test_a_no_to_a_check_that_names_a_drink_ordered_changes_that_drink(
    tmp_path: Path,
) -> None:
    """ "Just to check: one Latte, right?" - "No, that's not right, I'd like one Americano
    with hazelnut sweetener", an Americano ordered: the Americano changes, none is added."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get an Americano?")
        await call.say("Oh, and could you latte or not to it?")
        await call.say("No, that's not right, I'd like one Americano with Hazel Nut sweetener.")
        assert await call.addons() == [("Americano", ["hazelnut-sweetener"])]


async def test_a_drink_said_again_with_its_options_keeps_only_the_line_it_describes(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An americano.")
        await call.say("And an americano with hazelnut.")
        _, said = await call.say(
            "No, that's not right, I'd like one Americano with hazelnut sweetener."
        )
        assert await call.addons() == [("Americano", ["hazelnut-sweetener"])]
        assert said.endswith("Shall I place the order?")


async def test_an_add_on_answer_heard_wrong_is_matched_to_the_list_and_confirmed(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Hello, can I order a latte with tea? No, but...")
        await asked_first(
            call,
            "Camel nut sweetener, please.",
            "Just to check: one Latte with hazelnut sweetener, right?",
        )
        await call.say("Yes.")
        assert await call.addons() == [("Latte", ["hazelnut-sweetener"])]


@pytest.mark.parametrize(
    ("text", "said"),
    [("Hey, do Americanos, please.", "How many Americanos would you like?"),
     ("I'd like to Americano's.", "Just to check: two Americanos, right?")],
)  # fmt: skip
async def test_two_heard_as_do_or_to_is_asked_about(tmp_path: Path, text: str, said: str) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await asked_first(call, text, said)


@pytest.mark.parametrize(
    ("text", "line"),
    [("I would like to order a chai latte with no foam please", ("Chai Latte", [])),
     ("Hi, I'd like an Americano with Chocolate, please.", ("Americano", ["chocolate-sauce"])),
     ("A cappuccino with extra foam.", ("Cappuccino", []))],
)  # fmt: skip
async def test_with_words_we_understand_or_cannot_make_ask_no_add_on_question(
    tmp_path: Path, text: str, line: tuple[str, list[str]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(text)
        assert await call.addons() == [line]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("Two lattes, one of them with oat milk.",
         [("Latte", 1, {}), ("Latte", 1, {"milk-options": "Oat Milk"})]),
        ("Can I get two lattes, and make one of those oat milk?",
         [("Latte", 1, {}), ("Latte", 1, {"milk-options": "Oat Milk"})]),
        ("Two mochas, one hot and one iced.",
         [("Mocha", 1, {"hot-or-iced": "Hot"}), ("Mocha", 1, {"hot-or-iced": "Iced"})]),
        ("Three lattes, one with almond milk and the others with oat milk.",
         [("Latte", 1, {"milk-options": "Almond Milk"}), ("Latte", 2, {"milk-options": "Oat Milk"})]),
        ("Two lattes, one with oat milk and the other with almond milk.",
         [("Latte", 1, {"milk-options": "Oat Milk"}), ("Latte", 1, {"milk-options": "Almond Milk"})]),
        ("Two iced lattes, one of them decaf.",
         [("Latte", 1, {"hot-or-iced": "Iced"}),
          ("Latte", 1, {"caffeine": "Decaf", "hot-or-iced": "Iced"})]),
        # "one" that says nothing of its own splits nothing
        ("Two lattes, one for me and one for my friend.", [("Latte", 2, {})]),
    ],
)  # fmt: skip
async def test_drinks_of_an_order_said_apart_become_lines_of_their_own(
    tmp_path: Path, text: str, lines: list[tuple[str, int, dict[str, str]]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say(text)
        assert [r[:3] for r in await call.order()] == lines
        assert said.endswith("shall I place the order?")


@pytest.mark.parametrize(
    "restated",
    ["No, one hot mocha and one iced mocha.", "Actually I want one hot Mocha and one iced Mocha.",
     "Sorry, two mochas, one hot and one iced."],
)  # fmt: skip
async def test_a_line_said_again_as_drinks_apart_is_replaced_not_added_to(
    tmp_path: Path, restated: str
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two mochas please.")
        _, said = await call.say(restated)
        assert [r[:3] for r in await call.order()] == [
            ("Mocha", 1, {"hot-or-iced": "Hot"}),
            ("Mocha", 1, {"hot-or-iced": "Iced"}),
        ]
        assert (
            said
            == "Got it. That's one hot Mocha and one iced Mocha. Anything else, or shall I place the order?"
        )


async def test_a_correction_with_a_new_number_and_a_new_drink_does_both(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("I want three double espressos.")
        await call.say("Wait, no, two espressos and a cortado.")
        assert [r[:3] for r in await call.order()] == [
            ("Espresso", 2, {"espresso-shots": "Double"}),
            ("Cortado", 1, {}),
        ]
        calls, _ = await call.say("Actually, no, I also want a mocha.")
        assert "mocha" in [a.get("menu_item_id") for n, a in calls if n == "add_order_item"]
        assert [r[:2] for r in await call.order()] == [
            ("Espresso", 2),
            ("Cortado", 1),
            ("Mocha", 1),
        ]


async def test_scratch_that_before_a_new_drink_replaces_the_last_one(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An espresso please.")
        await call.say("Scratch that, I'll have a cortado instead.")
        assert [r[:2] for r in await call.order()] == [("Cortado", 1)]
        await call.say("And a mocha.")
        await call.say("Cancel that mocha.")
        assert [r[:2] for r in await call.order()] == [("Cortado", 1)]


@pytest.mark.parametrize(
    ("first", "change", "line"),
    [("An iced latte.", "Oh wait, make it hot.", ("Latte", 1, {"hot-or-iced": "Hot"})),
     ("I'd like a latte, please.", "Yeah, with whole milk.",
      ("Latte", 1, {"milk-options": "Whole Milk"})),
     ("Two americanos.", "Take one of the americanos off.", ("Americano", 1, {}))],
)  # fmt: skip
async def test_a_change_after_the_read_back_is_made_not_taken_as_a_yes(
    tmp_path: Path, first: str, change: str, line: tuple[str, int, dict[str, str]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(first)
        calls, _ = await call.say(change)
        assert "finish_order" not in names(calls)
        assert [r[:3] for r in await call.order()] == [line]
        assert (await call.order())[0][3] != "finished"


async def test_asking_the_price_of_the_drink_ordered_adds_no_second_one(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I get a cappuccino?")
        _, said = await call.say("How much is that?")
        assert "Cappuccino" in said and said.endswith("Anything else?")
        await call.say("Okay, that's it.")
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1)]


async def test_what_is_not_coffee_lists_the_rest_of_the_menu(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("What do you have that's not coffee?")
        assert "Steamer" in said and "Cappuccino" not in said


async def test_a_drink_we_do_not_have_is_said_so_not_left_to_the_model(tmp_path: Path) -> None:
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say("Hi, um, I was wondering if I could get a flat white?")
        assert said.startswith("Sorry, we don't have a flat white.") and fallback.asked == []
        assert calls == [("get_menu_items", {"query": "flat white"})]


async def test_a_wrong_number_that_says_goodbye_is_let_go(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Do you fix bikes?")
        assert said.startswith("Sorry, this is the coffee shop's ordering line")
        calls, _ = await call.say("Oh, sorry, wrong number. Bye.")
        assert names(calls) == ["end_call"]


@pytest.mark.parametrize(
    ("first", "fix", "order"),
    [("Two cappuccinos.", "No, I said four cap a chinos.", [("Cappuccino", 4)]),
     ("A latte and two cappuccinos.", "No, that's not right. Four cap of chinos.",
      [("Latte", 1), ("Cappuccino", 4)])],
)  # fmt: skip
async def test_a_near_miss_in_a_correction_confirmed_fixes_the_line_not_adds_to_it(
    tmp_path: Path, first: str, fix: str, order: list[tuple[str, int]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(first)
        await asked_first(call, fix, "Just to check: four Cappuccinos, right?")
        await call.say("Yes.")
        assert [r[:2] for r in await call.order()] == order


async def test_and_a_near_miss_after_an_order_is_asked_about(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two cappuccinos.")
        await asked_first(call, "And a cortato.", "Just to check: one Cortado, right?")
        await call.say("Yes.")
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 2), ("Cortado", 1)]


async def test_a_yes_to_anything_else_after_placing_asks_what_else(tmp_path: Path) -> None:
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        await call.say("A cold brew please.")
        calls, _ = await call.say("That's all.")
        assert "finish_order" in names(calls)
        _, said = await call.say("Yes.")
        assert said == "Sure. What else can I get you?" and fallback.asked == []


@pytest.mark.parametrize(
    ("text", "lines"),
    [("One latte and one mocha, both with oat milk.",
      [("Latte", 1, {"milk-options": "Oat Milk"}), ("Mocha", 1, {"milk-options": "Oat Milk"})]),
     ("A latte, and, um, actually, make that a mocha.", [("Mocha", 1, {})])],
)  # fmt: skip
async def test_words_for_every_drink_and_a_change_of_mind_in_one_sentence(
    tmp_path: Path, text: str, lines: list[tuple[str, int, dict[str, str]]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(text)
        assert [r[:3] for r in await call.order()] == lines


async def test_an_add_on_said_with_no_is_not_added(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("A cappuccino, no sugar.")
        assert await call.addons() == [("Cappuccino", [])] and "sugar" not in said


@pytest.mark.parametrize(
    ("then", "lines"),
    [("Actually, remove the latte and make the cappuccino a double.",
      [("Cappuccino", 1, {"espresso-shots": "Double"})]),
     ("Cancel the latte and add a cortado.", [("Cappuccino", 1, {}), ("Cortado", 1, {})])],
)  # fmt: skip
async def test_a_removal_and_another_change_in_one_sentence_does_both(
    tmp_path: Path, then: str, lines: list[tuple[str, int, dict[str, str]]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a cappuccino.")
        await call.say(then)
        assert [r[:3] for r in await call.order()] == lines


@pytest.mark.parametrize(
    ("question", "answer", "change"),
    [("Does it have caffeine?", "decaf", "Okay, decaf please."),
     ("Is the mocha very sweet?", "chocolate", "Okay, can you make it decaf?")],
)  # fmt: skip
async def test_a_question_about_the_drink_ordered_answers_and_offers_no_second_one(
    tmp_path: Path, question: str, answer: str, change: str
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A mocha please.")
        _, said = await call.say(question)
        assert said.startswith("The Mocha is") and answer in said
        assert said.endswith("Anything else?")  # ordered already: not offered again
        await call.say(change)
        assert [r[:3] for r in await call.order()] == [("Mocha", 1, {"caffeine": "Decaf"})]
        await call.say("Yes.")
        assert [r[:2] for r in await call.order()] == [("Mocha", 1)]


async def test_an_option_said_in_answer_to_a_check_is_a_yes_with_that_option(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await asked_first(
            call, "A latte with allman milk.", "Just to check: one Latte with almond milk, right?"
        )
        await call.say("Almond.")
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {"milk-options": "Almond Milk"})
        ]


@pytest.mark.parametrize(
    ("text", "check"),
    [("Two lattes, the cafe please.", "Just to check: two decaf Lattes, right?"),
     ("Can I get a matter latte with almond milk?",
      "Just to check: one Matcha Latte with almond milk, right?"),
     ("Two matter lattes.", "Just to check: two Matcha Lattes, right?")],
)  # fmt: skip
async def test_words_heard_near_an_option_or_a_longer_name_are_asked_about(
    tmp_path: Path, text: str, check: str
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await asked_first(call, text, check)


async def test_a_number_said_with_i_need_changes_the_drink_ordered(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Three hot chocolates.")
        await call.say("No sorry, I need two, not three.")
        assert [r[:2] for r in await call.order()] == [("Hot Chocolate", 2)]


async def test_yes_with_an_option_after_the_read_back_changes_the_drink(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte.")
        calls, _ = await call.say("Yes, that's right, with whole milk.")
        assert "finish_order" not in names(calls)
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {"milk-options": "Whole Milk"})]


@pytest.mark.parametrize(
    "text",
    ["What are your hours?", "Where are you located?", "Do you deliver?", "Do you have wifi?",
     "Can I pay with a credit card?", "Hello, I'm calling about a job opening."],
)  # fmt: skip
async def test_a_question_this_line_cannot_answer_gets_the_one_line_not_a_guess(
    tmp_path: Path, text: str
) -> None:
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        await asked_first(call, text, OFF_TOPIC_LINE)
        assert fallback.asked == []


async def test_food_we_do_not_sell_is_said_so(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Can I get a croissant?")
        assert said.startswith("Sorry, we don't have a croissant; we only have drinks.")


@pytest.mark.parametrize(
    ("first", "then", "order"),
    [("An espresso and a cappuccino.", "Actually, scratchy Espresso.", [("Cappuccino", 1, {})]),
     ("Three hot chocolate, please.", "Sorry, make that to Hot Chocolate.",
      [("Hot Chocolate", 2, {})]),
     ("Three hot chocolate, please.", "No, that's not right, I'd like to hot chocolate.",
      [("Hot Chocolate", 2, {})]),
     ("A mocha.", "Switch to latte.", [("Latte", 1, {})]),
     ("A mocha with oat milk.", "Actually, change it to a latte.",
      [("Latte", 1, {"milk-options": "Oat Milk"})])],
)  # fmt: skip
async def test_repairs_as_whisper_writes_them(
    tmp_path: Path, first: str, then: str, order: list[tuple[str, int, dict[str, str]]]
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(first)
        await call.say(then)
        assert [r[:3] for r in await call.order()] == order


async def test_no_i_d_like_a_drink_ordered_corrects_the_order_after_any_reply(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An espresso and a cappuccino.")
        await call.say("Hmm, what's the weather like?")  # any reply that is no read-back
        await call.say("No, that's not right, I'd like one Cappuccino.")
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1)]


@pytest.mark.parametrize(
    ("first", "change", "question"),
    [("A chai latte.", "No, that's not right. I'd like one Chai Latte remote milk.",
      "Which milk would you like in the Chai Latte: whole milk, 2% milk, non-fat milk, oat "
      "milk, 2% lactose free milk, almond milk or no milk?"),
     ("An iced tea cup latte with no milk, please.", None,
      "Sorry, was that one iced Latte with oat milk, or with no milk?")],
)  # fmt: skip
async def test_a_milk_not_understood_in_a_change_or_heard_as_no_milk_is_asked(
    tmp_path: Path, first: str, change: str | None, question: str
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        if change is None:
            await asked_first(call, first, question)
        else:
            await call.say(first)
            await asked_first(call, change, question)
        await call.say("Oat milk, please.")
        assert [r[2].get("milk-options") for r in await call.order()] == ["Oat Milk"]


async def test_a_bare_other_drink_in_answer_to_a_check_asks_the_check_again(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await asked_first(
            call,
            "Two court tables and a cold brew, please.",
            "Just to check: one Cold Brew and two Cortados, right?",
        )
        await asked_first(
            call, "Mocha.", "Sorry, I didn't catch that. Was that one Cold Brew and two Cortados?"
        )
        await call.say("Yes.")
        assert [r[:2] for r in await call.order()] == [("Cold Brew", 1), ("Cortado", 2)]


@pytest.mark.parametrize(
    ("answer", "addon", "asked"),
    [("caramel nut sweetener, clean.", "hazelnut-sweetener", True),
     ("Caramel sauce, please.", "caramel-sauce", False)],
)  # fmt: skip
async def test_an_add_on_answer_is_matched_on_its_whole_words(
    tmp_path: Path, answer: str, addon: str, asked: bool
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Hello, can I order a latte with a little bit?")
        _, said = await call.say(answer)
        assert said.startswith("Just to check:") is asked
        if asked:
            await call.say("Yes.")
        assert await call.addons() == [("Latte", [addon])]


async def test_an_option_the_drink_has_said_again_is_read_back_not_asked_about(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A chai latte with oat milk.")
        _, said = await call.say("Oat milk.")
        assert said == "That's one Chai Latte with oat milk. Shall I place the order?"


async def test_the_order_said_back_after_the_read_back_places_it_not_a_second_drink(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I please have a latte with hazelnut sweetener.")
        _, said = await call.say("Can I please have hazelnut?")
        assert said.endswith("Shall I place the order?")
        calls, _ = await call.say("Can I please have a latte with hazelnut sweetener.")
        assert names(calls) == ["finish_order"]
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]


async def test_two_lines_of_one_drink_have_their_options_checked_in_one_call(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, _ = await call.say("A latte with oat milk and a latte with almond milk.")
        checks = [a for n, a in calls if n == "get_addons"]
        assert checks == [{"query": "Oat Milk OR Almond Milk", "menu_item_id": "latte"}]
        assert names(calls).count("add_order_item") == 2


async def test_a_drink_not_caught_beside_one_heard_is_asked_for_never_dropped(
    tmp_path: Path,
) -> None:
    """ "an old drink and a steam" (an Earl Grey and a Steamer over a noisy line): the Steamer
    is checked and added, then the agent asks for the drink it did not catch."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await asked_first(
            call,
            "Good afternoon, I'll take an old drink and a steam.",
            "Just to check: one Steamer, right?",
        )
        _, said = await call.say("Yes.")
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?")
        _, said = await call.say("An Earl Grey.")
        assert said.endswith("Anything else, or shall I place the order?")
        assert [r[:2] for r in await call.order()] == [("Steamer", 1), ("Earl Grey", 1)]


@pytest.mark.parametrize(
    ("line", "then"),
    [("Hi, I'd like a cappuccino and a grunky please.", "I didn't catch the other drink"),
     ("A cappuccino and a blueberry muffin.", "we don't have blueberry muffin"),
     ("A cappuccino and a flat white, please.", "we don't have flat white. Anything else?"),
     ("A cappuccino and a quick question.", "Anything else, or shall I place the order?"),
     ("A cappuccino with oat milk and a little sugar.", "Anything else, or shall I place")],
)  # fmt: skip
async def test_what_is_left_of_a_list_of_drinks_is_asked_about_or_answered(
    tmp_path: Path, line: str, then: str
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say(line)
        assert then in said
        assert [r[0] for r in await call.order()] == ["Cappuccino"]


async def test_the_drinks_ordered_said_in_answer_to_what_was_the_other_is_all(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A cappuccino and a grunky, please.")
        calls, said = await call.say("Just the cappuccino.")
        assert "add_order_item" not in names(calls)
        assert said.endswith("Shall I place the order?")
        calls, _ = await call.say("Yes.")
        assert names(calls) == ["finish_order"]
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1)]


@pytest.mark.parametrize(
    "line",
    ["Good morning, I'd like an already end of Cappuccino with honey.",
     "Hi, I'm Chai Latte and we're Mocha milk please.",
     "Good morning, I'd like to celebrate the end of Cappuccino with a knee.",
     "Two lattes, one of them with oat milk."],
)  # fmt: skip
async def test_words_heard_wrong_inside_one_drink_are_no_other_drink(
    tmp_path: Path, line: str
) -> None:
    """Whisper's hearings from earlier calls: the strange words belong to the drink they
    stand by (its options), so the agent never asks for "the other drink"."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say(line)
        assert "other drink" not in said and "we don't have" not in said


async def test_a_milk_not_understood_for_one_of_two_is_asked_then_splits_one_off(
    tmp_path: Path,
) -> None:
    """ "make one of them remote milk": which milk is asked, and the answer is for one latte
    of the two, not both."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two lattes please.")
        _, said = await call.say("Make one of them remote milk.")
        assert said.startswith("Which milk would you like")
        await call.say("Oat milk.")
        assert await call.order() == [
            ("Latte", 1, {}, "open"),
            ("Latte", 1, {"milk-options": "Oat Milk"}, "open"),
        ]


@pytest.mark.parametrize(
    ("line", "drink"),
    [("Sorry, I meant Macchiato, not cortado.", "Macchiato"),
     ("I guess mocha then.", "Mocha")],
)  # fmt: skip
async def test_a_word_before_a_drink_that_is_not_an_article_names_no_other_drink(
    tmp_path: Path, line: str, drink: str
) -> None:
    """A drink we do not have is said with an article or a number before it ("a pumpkin
    spice latte"); "I meant Macchiato" names the Macchiato."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say(line)
        assert "don't have" not in said
        assert [r[:2] for r in await call.order()] == [(drink, 1)]


async def test_an_answer_to_an_either_or_heard_near_one_option_is_confirmed(
    tmp_path: Path,
) -> None:
    """ "with oat milk, or with no milk?" - "Oatmeal, clean." (Whisper's "Oat Milk, please."
    over a phone line): the option it comes near is asked about, then made."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Good morning, an iced latte with no milk, please.")
        _, said = await call.say("Oatmeal, clean.")
        assert said == "Just to check: one iced Latte with oat milk, right?"
        await call.say("Yes.")
        assert await call.order() == [
            ("Latte", 1, {"hot-or-iced": "Iced", "milk-options": "Oat Milk"}, "open")
        ]


async def test_i_didn_t_say_a_drink_is_a_correction_not_an_order_of_it(tmp_path: Path) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A macchiato please.")
        await call.say("No, I didn't say macchiato, I said mocha.")
        assert [r[:2] for r in await call.order()] == [("Mocha", 1)]


async def test_placed_already_is_read_from_the_placed_order_in_that_turn(tmp_path: Path) -> None:
    """Run 3's one ungrounded statement: "Your order is placed already." came from memory.
    It is now read back from the placed order's `get_order_details` in the same turn, and
    the orders eval's own grounding check finds nothing ungrounded in the call."""
    from agents.side_channel import transcript_items
    from evals.orders.scoring import ungrounded_statements

    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte, please.")
        calls, said = await call.say("That's all.")
        assert names(calls) == ["finish_order"], calls
        for line in ("Please place the order.", "Cancel my order."):
            calls, said = await call.say(line)
            assert calls == [("get_order_details", {"order_id": "100000"})], calls
            assert said.startswith("Your order is placed already."), said
        rows = transcript_items(call.session.history, 0.0)
        assert any(r["role"] == "tool" for r in rows)  # the eval sees the tool results
        assert ungrounded_statements(rows) == []
        assert {r[3] for r in await call.order()} == {"finished"}


async def test_words_not_understood_get_the_last_question_again_never_the_model(
    tmp_path: Path,
) -> None:
    """Run 3's phone calls: words the policy can do nothing with ("Too not just, please.",
    "Not everything.") went to the model, which answered "What's your business?" and "I
    don't have a phone". They now get the agent's last question again, and what that
    question waits on stays open; twice in a row at most, then the model."""
    fallback = ScriptedFallback("MODEL-REPLY.")
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say("Too not just, please.")
        assert (calls, said) == ([], "Sorry, I didn't catch that. What can I get you?")
        await call.say("An iced latte and a hot latte please.")
        _, said = await call.say("Remove the latte.")
        assert said.endswith("Which one should I take off?"), said
        calls, said = await call.say("Not everything.")
        assert (calls, said) == ([], "Sorry, I didn't catch that. Which one should I take off?")
        calls, said = await call.say("Not everything.")
        assert said == "Sorry, I'm having trouble hearing you. Which one should I take off?"
        calls, _ = await call.say("The iced one.")  # the question was still open
        assert [n for n, _ in calls][:1] == ["update_order_item"], calls
        assert [(r[0], r[2]) for r in await call.order()] == [("Latte", {"hot-or-iced": "Hot"})]
        assert fallback.asked == []
    async with Caller(tmp_path / "again", ScriptedFallback("MODEL-REPLY.")) as call:
        said_again = [(await call.say("Slam dunk."))[1] for _ in range(3)]
        assert said_again == [
            "Sorry, I didn't catch that. What can I get you?",
            "Sorry, I'm having trouble hearing you. What can I get you?",
            "MODEL-REPLY.",  # the third time in a row: the words go to the model
        ]


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("Good morning.", "Hi! What can I get you?"),
        ("Thanks.", "You're welcome. What can I get you?"),
        ("The land, please.", "Sorry, I didn't catch that. What can I get you?"),
        ("Hi, I like and I smoke with a milk.", "Sorry, I didn't catch that. What can I get you?"),
    ],
)
async def test_a_greeting_thanks_or_words_not_caught_are_answered_without_the_model(
    tmp_path: Path, line: str, reply: str
) -> None:
    fallback = ScriptedFallback("MODEL-REPLY.")
    async with Caller(tmp_path, fallback) as call:
        assert await call.say(line) == ([], reply)
        assert fallback.asked == []


@pytest.mark.parametrize(
    "line",
    [
        "how are you doing today",
        "tell me a joke please",
        "my thing from last week, is it done",
        "Could you sing me something",
        "Is it busy in there today?",
    ],  # fmt: skip
)
async def test_a_question_the_policy_does_not_know_still_goes_to_the_model(
    tmp_path: Path, line: str
) -> None:
    fallback = ScriptedFallback("MODEL-REPLY.")
    async with Caller(tmp_path, fallback) as call:
        _, said = await call.say(line)
        assert fallback.asked, said


async def test_how_many_shots_about_a_drink_ordered_offers_no_empty_change(
    tmp_path: Path,
) -> None:
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte please.")
        calls, said = await call.say("How many shots?")
        assert said == "You have one Latte. Would you like to change anything?", said
        assert not set(names(calls)) & WRITES


async def test_an_answer_that_only_shares_milk_with_the_options_is_asked_again(
    tmp_path: Path,
) -> None:
    """Run A's phone call: "Fruit Milk" (for "Oat milk") answering "which milk?" was
    confirmed as 2% milk, the option its one shared word "milk" spells most of. A span of
    words every option has tells none apart: the question is asked again."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An iced mocha please.")
        _, said = await call.say("Nope, that's not right. I like one iced Mocha with a milk.")
        assert said.startswith("Which milk would you like in the Mocha"), said
        calls, said = await call.say("Fruit Milk, Blaze,")
        assert not set(names(calls)) & WRITES and "right?" not in said, said  # no 2% check
        assert said.startswith("Sorry, ") and "Which milk would you like" in said, said
        calls, said = await call.say("Oat milk please.")
        assert "update_order_item" in names(calls) or "add_order_item" in names(calls), calls
        assert [r[2] for r in await call.order()] == [
            {"hot-or-iced": "Iced", "milk-options": "Oat Milk"}
        ]


async def test_free_before_a_drink_is_whisper_s_three_and_is_confirmed(tmp_path: Path) -> None:
    """blind3's "I'd like three iced lattes" was written "I'd like free iced latte" and
    ordered one. "free" (or "tree") before a drink is a three to confirm; "lactose free" and
    "for free" stay what they say."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("I'd like free iced latte.")
        assert looked_up_only(calls) and said == "Just to check: three iced Lattes, right?"
        await call.say("Yes.")
        assert [(r[0], r[1]) for r in await call.order()] == [("Latte", 3)]
    async with Caller(tmp_path / "free", ScriptedFallback()) as call:
        await call.say("A lactose free latte please.")
        assert [(r[0], r[1], r[2]) for r in await call.order()] == [
            ("Latte", 1, {"milk-options": "2% Lactose Free Milk"})
        ]
    # "free" right before a plural drink is guarded too: two lattes, never three
    drinks = understand("two lactose free lattes please").drinks
    assert [(d.quantity, d.quantity_unsure) for d in drinks] == [(2, False)]
    assert [(d.quantity, d.quantity_unsure) for d in understand("free lattes please").drinks] == [
        (3, True)
    ]


@pytest.mark.parametrize(
    "heard",
    ["I'd like to match us with almond milk.", "No, sorry, that's wrong, I'd like to match us."],
)
async def test_match_us_is_a_choice_of_two_drinks_not_one_matcha_latte(
    tmp_path: Path, heard: str
) -> None:
    """Run B's tuned call: "match us" (for "mochas") was taken as "match" alone, a Matcha
    Latte, and the check was asked again to its "no". A longer span as good as a shorter
    one explains more of what was heard: Matcha Lattes or Mochas, asked."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(heard)
        assert calls == [] and said.endswith("was that two Matcha Lattes or two Mochas?"), said


async def test_a_number_said_again_counts_every_line_of_that_drink(tmp_path: Path) -> None:
    """blind5's "two-cappuccinos-remove-one" (read in stop 33): "just one Cappuccino" over a
    Cappuccino, a Macchiato and a second Cappuccino took the Macchiato off and kept both
    Cappuccinos; the lines of a drink are counted together, and the drink not named stays."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        await call.say("I'll have a Cappuccino and a Macchiato.")
        await call.say("Oh, and another Cappuccino.")
        calls, said = await call.say("Actually, no, just one Cappuccino.")
        assert names(calls) == ["update_order_item", "get_order_details"]
        assert calls[0][1]["remove"] is True
        assert "one Cappuccino and one Macchiato" in said and said.endswith("place the order?")
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1), ("Macchiato", 1)]
    async with Caller(tmp_path / "again", fallback) as call:
        await call.say("Two lattes please.")
        await call.say("And another latte.")
        calls, said = await call.say("Sorry, I said two lattes.")
        assert names(calls) == ["update_order_item", "get_order_details"]
        assert [r[:2] for r in await call.order()] == [("Latte", 2)]
        assert fallback.asked == []


async def test_the_whole_order_said_again_over_that_order_adds_nothing(tmp_path: Path) -> None:
    """blind4's "steamer-and-americano-vanilla" (read in stop 33): the order said again,
    word for word or misheard and checked, was added a second time."""
    (tmp_path / "a").mkdir()
    async with Caller(tmp_path / "a", ScriptedFallback()) as call:
        await call.say("Could I have a steamer, and an americano with vanilla?")
        calls, said = await call.say(
            "No, that's not right. I'd like one Steamer and one Americano with vanilla sweetener."
        )
        assert names(calls) == ["get_order_details"]
        assert said.startswith("I have exactly that: one Steamer and one Americano")
        calls, said = await call.say("I'd like one Steamer and one Americano with Manila Sleeker.")
        assert looked_up_only(calls) and said.startswith("Just to check:")
        calls, said = await call.say("Yes.")
        assert names(calls) == ["get_order_details"]
        assert said.startswith("I have exactly that:"), said
        assert [r[:2] for r in await call.order()] == [("Steamer", 1), ("Americano", 1)]


async def test_an_option_a_drink_does_not_have_is_said_as_a_barista_says_it(
    tmp_path: Path,
) -> None:
    """It was "The Steamer doesn't come with Iced." (blind4, read in stop 33)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("An iced steamer please.")
        assert "The Steamer doesn't come iced." in said, said
        _, said = await call.say("And an americano with oat milk.")
        assert "The Americano doesn't come with oat milk." in said, said


async def test_options_that_drinks_share_are_checked_once_per_request(tmp_path: Path) -> None:
    """An option's choices are one list for every drink that has it: "a mocha with oat
    milk and a latte with almond milk" checks both milks on the mocha, in one call; a drink
    whose add-on the first drink lacks gets its own check."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("I'd like a mocha with oat milk and a latte with almond milk.")
        checks = [a for n, a in calls if n == "get_addons"]
        assert checks == [{"query": "Oat Milk OR Almond Milk", "menu_item_id": "mocha"}], calls
        assert "one Mocha with oat milk and one Latte with almond milk" in said, said
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        calls, _ = await call.say("An americano with caramel and a latte with honey, please.")
        checks = [a for n, a in calls if n == "get_addons"]
        assert [c["menu_item_id"] for c in checks] == ["americano", "latte"], calls
        assert [r[:2] for r in await call.order()] == [("Americano", 1), ("Latte", 1)]


async def test_cold_heard_for_could_names_no_temperature(tmp_path: Path) -> None:
    """blind6's "latte-nonfat-chocolate" (read in stop 34): "Cold night hamlet latte" for
    "Could I have a latte" made the Latte iced; "a cold latte" still is."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Cold night hamlet latte, with nonfat milk and chocolate sauce.")
        assert "one Latte with non-fat milk and chocolate sauce" in said, said
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {"milk-options": "Non-fat Milk"})
        ]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("A cold latte, please.")
        assert "one iced Latte" in said, said


async def test_the_order_said_again_without_an_option_takes_that_option_off(
    tmp_path: Path,
) -> None:
    """blind6 (read in stop 34): "No, that's not right. I'd like one Latte with non-fat milk
    and chocolate sauce." over one *iced* Latte with them was answered "I have exactly that"
    three times. Said again without the ice, outright or after "what would you like to
    change?", the line is made again as said; said again with it, nothing changes."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An iced latte with non-fat milk and chocolate sauce please.")
        calls, said = await call.say(
            "No, that's not right. I'd like one Latte with non-fat milk and chocolate sauce."
        )
        assert "remove" in json.dumps(calls) and "add_order_item" in names(calls), calls
        assert "one Latte with non-fat milk and chocolate sauce" in said and "iced" not in said
        assert [r[:3] for r in await call.order()] == [
            ("Latte", 1, {"milk-options": "Non-fat Milk"})
        ]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("An iced latte with oat milk please.")
        _, said = await call.say("No, that's not right.")
        assert "What would you like to change?" in said, said
        _, said = await call.say("I'd like one Latte with oat milk.")
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {"milk-options": "Oat Milk"})]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say("An iced latte with oat milk please.")
        calls, said = await call.say("No, that's not right. I'd like one iced Latte with oat milk.")
        assert names(calls) == ["get_order_details"] and said.startswith("I have exactly that:")


async def test_an_add_on_of_a_kind_not_understood_is_asked_never_dropped(tmp_path: Path) -> None:
    """blind6's "iced-double-latte-vanilla" (read in stop 34): "... with a double shot and
    the Miller sweetener" added the Latte without a sweetener, because the drink had other
    options. Which sweetener is asked, for a new drink and for one ordered."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(
            "I'd like one iced Latte with a double shot and the Miller sweetener."
        )
        assert "add_order_item" not in names(calls), calls
        assert said.startswith("Sorry, what would you like with the Latte:"), said
        assert "vanilla sweetener" in said and "caramel" not in said, said
        calls, said = await call.say("Vanilla Sweetener, please.")
        assert (
            "add_order_item" in names(calls) and "with a double shot and vanilla sweetener" in said
        )
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("An iced latte please.")
        calls, said = await call.say("Can you add the Miller sweetener to the latte?")
        assert "update_order_item" not in names(calls), calls
        assert said.startswith("Sorry, what would you like with the Latte:"), said
        calls, said = await call.say("Hazelnut sweetener, please.")
        assert "update_order_item" in names(calls) and "hazelnut sweetener" in said, said
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]


async def test_a_near_miss_after_a_greeting_gets_a_question(tmp_path: Path) -> None:
    """blind6's phone call "phone-three-mochas-one-decaf" (read in stop 34): "Hi there,
    Three Moches, please." got "Sorry, I didn't catch that": a number after a greeting was no
    request, so no near miss was looked for."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Hi there, Three Moches, please.")
        assert not calls and said == "Sorry, was that three Matcha Lattes or three Mochas?", said
        _, said = await call.say("Three mochas, please.")
        assert [r[:2] for r in await call.order()] == [("Mocha", 3)]


async def test_one_with_options_after_would_you_like_one_is_made_so(tmp_path: Path) -> None:
    """blind7's "whats-in-cortado-then-oat" (read in stop 34): "Would you like one?" -
    "Okay, I'll have one with oat milk." added a plain Cortado; an option not understood
    there is asked."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("What's in a cortado?")
        _, said = await call.say("Okay, I'll have one with oat milk.")
        assert "one Cortado with oat milk" in said, said
        assert [r[:3] for r in await call.order()] == [("Cortado", 1, {"milk-options": "Oat Milk"})]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("What's in a cortado?")
        calls, said = await call.say("Okay, I'll have one without milk.")
        assert said == "Sorry, was that one Cortado with oat milk, or with no milk?"
        assert names(calls) == ["get_menu_items"]  # looked up as it is asked, nothing added


async def test_a_question_about_a_near_miss_is_answered_about_that_drink(tmp_path: Path) -> None:
    """blind7 (read in stop 34): "What's in the corridor?" got "Sorry, we only have drinks."
    A near miss in a question about what a drink holds or costs is answered about that
    drink, by name, and nothing is ordered."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("What's in the corridor?")
        assert names(calls) == ["get_menu_items"] and "Cortado" in said, said
        assert "only have drinks" not in said and await call.order() == []


async def test_option_words_before_a_near_miss_are_kept(tmp_path: Path) -> None:
    """blind7's "iced-cortado-then-hot" (read in stop 34): "one hot color, Tado." was
    checked as "one Cortado, right?", without the hot the caller asked for."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Nope, that's not right. I like one hot color, Tado.")
        assert looked_up_only(calls) and said == "Just to check: one hot Cortado, right?", said


async def test_a_kind_of_milk_not_understood_for_the_drink_ordered_is_asked(
    tmp_path: Path,
) -> None:
    """blind7's "matcha-then-oat" (read in stop 34): "With all the milk, please." (for "with
    oat milk") after a Matcha Latte got "Sorry, I didn't catch that."; "with milk" names no
    kind and is still no question."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("One Matcha Latte, please.")
        calls, said = await call.say("With all the milk, please.")
        assert said.startswith("Which milk would you like in the Matcha Latte:"), said
        assert names(calls) == ["get_menu_items"]  # looked up as it is asked, nothing changed
        await call.say("Oat milk, please.")
        assert [r[:3] for r in await call.order()] == [
            ("Matcha Latte", 1, {"milk-options": "Oat Milk"})
        ]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("A latte with milk, please.")
        assert said.startswith("Got it. That's one Latte."), said


async def test_milk_heard_as_meal_after_an_unknown_word_asks_which_milk(tmp_path: Path) -> None:
    """blind7's "matcha-then-oat" (read in stop 34): "No, that's not right. I'd like one
    matcha latte remote meal." got "I have exactly that: one Matcha Latte." twice. "Meal"
    after a word not understood is a milk not understood; "with my meal" is no milk, and no
    add-on to ask about either."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("One Matcha Latte, please.")
        calls, said = await call.say("No, that's not right. I'd like one matcha latte remote meal.")
        assert "update_order_item" not in names(calls), calls
        assert said.startswith("Which milk would you like in the Matcha Latte:"), said
        await call.say("Oat milk, please.")
        assert [r[:3] for r in await call.order()] == [
            ("Matcha Latte", 1, {"milk-options": "Oat Milk"})
        ]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("A latte with oat meal please.")
        assert "one Latte with oat milk" in said, said
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        # the caller's own meal is neither a milk nor an add-on to ask about
        calls, said = await call.say("A mocha to go with my meal, please.")
        assert "add_order_item" in names(calls), calls
        assert said.startswith("Got it. That's one Mocha"), said


async def test_an_add_on_said_not_wanted_comes_off_the_drink_that_has_it(tmp_path: Path) -> None:
    """blind8's "latte-honey-then-no-honey" (read in stop 35): "Actually, no honey." over a
    Latte with honey got "No problem. What would you like to change?" and the honey stayed.
    It comes off (`update_order_item`, add-on NO) and the order is read back; said of an order
    without it, nothing is changed."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte with honey, please.")
        await call.say("And a mocha with caramel sauce.")
        calls, said = await call.say("Actually, no honey.")
        updates = [a for n, a in calls if n == "update_order_item"]
        assert updates and updates[0]["addons"] == [{"addon_id": "honey", "option": "NO"}], calls
        assert "one Latte and one Mocha with caramel sauce" in said and "honey" not in said, said
        assert await call.addons() == [("Latte", []), ("Mocha", ["caramel-sauce"])]
        calls, said = await call.say("No sugar.")
        assert "update_order_item" not in names(calls) and said.startswith("Okay, no sugar."), said
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        # the drink not caught: the honey held for it is dropped, the drink still asked for
        _, said = await call.say("The light with honey, please.")
        assert said == (
            "Sorry, I didn't catch the drink. "
            "Which drink would you like with honey: a Cappuccino, a Latte or a Mocha?"
        )
        calls, said = await call.say("Actually, no honey.")
        assert not calls and said == "Okay, no honey. Which drink would you like?", said
        await call.say("A latte, please.")
        assert await call.addons() == [("Latte", [])]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        # "take the honey off" says it too; of two Lattes, "one of them" splits the line
        await call.say("A mocha with honey, please.")
        calls, said = await call.say("Take the honey off.")
        assert "update_order_item" in names(calls) and "one Mocha." in said, said
        await call.say("And two lattes with honey.")
        calls, said = await call.say("Actually, no honey on one of them.")
        assert "one Latte with honey and one Latte" in said, said
        assert sorted(await call.addons()) == [("Latte", []), ("Latte", ["honey"]), ("Mocha", [])]


async def test_no_add_on_to_a_check_checks_the_drink_without_it(tmp_path: Path) -> None:
    """ "Just to check: one Latte with honey, right?" - "No honey.": the Latte without honey
    is checked again, never "Which drink would you like?"."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("A lot with honey, please.")
        assert said == "Just to check: one Latte with honey, right?", said
        calls, said = await call.say("No honey.")
        assert "add_order_item" not in names(calls) and said.endswith("one Latte, right?"), said
        await call.say("Yes.")
        assert await call.addons() == [("Latte", [])]


async def test_the_order_said_again_with_another_drink_replaces_the_one_it_leaves_out(
    tmp_path: Path,
) -> None:
    """The tuned `remove-hot-chocolate` (stop 36, run B): "A mocha and a hot chocolate" heard
    as "Americano, and a hot chocolate"; "No, not right. A Mocha and a Hot Chocolate, please."
    added the Mocha and kept the Americano. Several drinks said again are the order: the one
    left out comes off. One drink said again still replaces only the drink heard last."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Americano, and a hot chocolate, please.")
        _, said = await call.say("No, not right. A Mocha and a Hot Chocolate, please.")
        assert said == ("Got it. That's one Hot Chocolate and one Mocha. Anything else, or "
                        "shall I place the order?"), said  # fmt: skip
        assert [r[:2] for r in await call.order()] == [("Hot Chocolate", 1), ("Mocha", 1)]
    async with Caller(tmp_path / "one", ScriptedFallback()) as call:
        await call.say("A cappuccino and an americano, please.")
        await call.say("No, not right, a mocha.")
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1), ("Mocha", 1)]


async def test_the_order_said_again_with_one_drink_changed_changes_that_drink(
    tmp_path: Path,
) -> None:
    """blind8's "english-breakfast-and-decaf-latte" (read in stop 35): "No, that's not
    right. I like one English Breakfast and one decaf Latte." over both, the Latte plain, got
    "what should I change about the English Breakfast?"; said again after that question was
    asked twice, both drinks went on again. The drink the words change is changed, nothing
    is added."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An English breakfast tea and a latte, please.")
        calls, said = await call.say(
            "No, that's not right. I like one English Breakfast and one decaf Latte."
        )
        assert "add_order_item" not in names(calls), calls
        updates = [a for n, a in calls if n == "update_order_item"]
        assert updates and updates[0]["attributes"] == [
            {"attribute_id": "caffeine", "option": "Decaf"}
        ]
        assert "one English Breakfast and one decaf Latte" in said, said
        assert [r[:3] for r in await call.order()] == [
            ("English Breakfast", 1, {}),
            ("Latte", 1, {"caffeine": "Decaf"}),
        ]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("An English breakfast tea and a latte, please.")
        _, said = await call.say("No, that's not right.")
        assert "What would you like to change?" in said, said
        _, said = await call.say("No, not right.")
        assert said.startswith("Sorry, I didn't catch that."), said
        calls, said = await call.say("I'd like one English breakfast and one decaf latte.")
        assert "add_order_item" not in names(calls), calls
        assert [r[:3] for r in await call.order()] == [
            ("English Breakfast", 1, {}),
            ("Latte", 1, {"caffeine": "Decaf"}),
        ]


async def test_an_add_on_whisper_split_in_two_is_asked_about_never_dropped(
    tmp_path: Path,
) -> None:
    """blind10's `over-greeting-hazelnut-americano` (read in stop 37): "I'd like one Americano
    wind hazel not sweet." added a plain Americano, and the same words said again got "I have
    exactly that". "hazel not" run together is Hazelnut Sweetener: asked, then added on a yes.
    "No sugar" stays a sugar not wanted."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("I'd like one Americano wind hazel not sweet.")
        assert "add_order_item" not in names(calls), calls
        assert said == "Just to check: one Americano with hazelnut sweetener, right?", said
        calls, _ = await call.say("Yes.")
        adds = [a for n, a in calls if n == "add_order_item"]
        assert adds and adds[0]["addons"] == [{"addon_id": "hazelnut-sweetener", "option": "ADD"}]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        calls, said = await call.say("A latte, no sugar, please.")
        assert "add_order_item" in names(calls) and "check" not in said, said


@pytest.mark.parametrize(
    ("line", "query", "said_has"),
    [
        ("Do you guys sell beer here?", "beer", "Sorry, we don't have beer."),
        ("You have any tomato juice back there?", "tomato juice", "don't have tomato juice."),
        ("I heard that you guys have a taco salad?", "taco salad", "have a taco salad; we only"),
        ("Do you make ice cream shakes here?", "ice cream shakes", "have ice cream shakes."),
        ("Can I get a pumpkin spice latte?", "pumpkin spice latte", "a pumpkin spice latte."),
        ("And a cookie?", "cookie", "don't have a cookie; we only have drinks."),
        ("Hi, do you happen to serve beer here?", "beer", "Sorry, we don't have beer."),
        # a kind we have ("coffee") in words the menu does not know: not "yes, we have ..."
        ("DO you happen to have a pour over coffee?", "pour over coffee", "a pour over coffee."),
    ],
)
async def test_something_not_on_the_menu_is_looked_up_before_it_is_said(
    tmp_path: Path, line: str, query: str, said_has: str
) -> None:
    """ "We don't have that" came from the menu file with no tool ("ice cream shakes" even got
    "iced goes in our Cappuccino"): the thing asked for is looked up (`get_menu_items`; a
    question whether we have it gets the menu too, `show_menu`), as the Taskmaster-4 agents
    do, and said back in the caller's words with what we do have. Nothing is ordered and the
    model is not asked."""
    fallback = ScriptedFallback()
    asks = any(f" {w} " in f" {line.lower()} " for w in ("have", "sell", "serve", "make"))
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(line)
        assert names(calls) == ["show_menu", "get_menu_items"][0 if asks else 1 :], calls
        assert calls[-1][1]["query"] == query and said_has in said, said
        assert "We have coffee like" in said and await call.order() == []
        assert fallback.asked == []


async def test_a_kind_of_add_on_asked_for_is_answered_with_the_add_ons(tmp_path: Path) -> None:
    """ "Do you offer drink sweeteners?" got "Sorry, we only have drinks" (a Taskmaster-4 dev
    turn): the add-ons are looked up and said."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Do you offer drink sweeteners?")
        assert names(calls) == ["get_addons"] and "hazelnut sweetener" in said, said
        assert await call.order() == []


async def test_where_to_find_something_elsewhere_is_not_taken_for_a_drink(
    tmp_path: Path,
) -> None:
    """A Taskmaster-4 dev caller's "where I can get some good barbeque near here?" got "Just to
    check: one Cold Brew, right?": a question about another place gets the line's one polite
    answer, and no tool."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        calls, said = await call.say(
            "Can you tell me where I can get some good barbeque near here?"
        )
        assert calls == [] and "ordering line" in said and "Cold Brew" not in said, said
        assert fallback.asked == []


async def test_a_no_with_a_menu_question_gets_the_question_answered(tmp_path: Path) -> None:
    """ "No. What kinds of tea do you have?" after a check got "Which drink would you like?",
    and after a read-back "What would you like to change?": the question was lost. The no is
    taken (nothing is added; the order kept), and the question answered from the menu tool,
    with only the part asked about ("not that" leaves out no part of the menu)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Can I get a cortato?")
        assert said.startswith("Just to check"), said
        calls, said = await call.say("No. Can you tell me what kinds of tea you have?")
        assert names(calls) == ["show_menu"] and said.startswith("We have tea like"), said
        assert await call.order() == []
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("I'd like a mocha, please.")
        calls, said = await call.say("No, not that. What kinds of teas are served here?")
        assert names(calls) == ["show_menu"] and said.startswith("We have tea like"), said
        assert [r[:2] for r in await call.order()] == [("Mocha", 1)]


async def test_no_before_an_ordered_drink_and_another_asked_for_swaps_them(
    tmp_path: Path,
) -> None:
    """ "No mocha, I'll have a cortado" over a latte and a mocha added the cortado and kept the
    mocha (an open item since stop 35): the mocha comes off, the cortado goes on. "No mocha
    and a latte" (Whisper drops the comma of "No. Mocha and a latte.") still orders both."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte and a mocha, please.")
        _, said = await call.say("No mocha, I'll have a cortado.")
        assert [r[:2] for r in await call.order()] == [("Latte", 1), ("Cortado", 1)], said
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("Can I get a macchiato?")
        await call.say("No mocha and a latte.")
        assert [r[:2] for r in await call.order()] == [("Mocha", 1), ("Latte", 1)]


@pytest.mark.parametrize(
    ("line", "check"),
    [
        # "may I please have" is a request (it was none, so no near miss was looked for), and
        # "one of them decaf" splits a near miss as it splits a drink said right
        ("May I please have two mokas, one of them decaf?", "one Mocha and one decaf Mocha"),
        # a near miss after "decaffeinated" is in a drink's slot, as after "decaf"
        ("I'd like a decaffeinated cortato.", "one decaf Cortado"),
    ],
)
async def test_a_near_miss_after_more_ways_of_asking_is_checked(
    tmp_path: Path, line: str, check: str
) -> None:
    """Taskmaster-4 dev turns ("may I please have two maacchiatos, one of them decaf and the
    other normal"; "a decaffinated cuppuccino") got "Which drink would you like, decaf?" and
    "Sorry, I didn't catch which drink": said in words Whisper writes, each is checked."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(line)
        assert said == f"Just to check: {check}, right?", said
        assert "add_order_item" not in names(calls)
        await call.say("Yes.")
        assert sum(r[1] for r in await call.order()) == (2 if "two" in line else 1)


async def test_which_add_on_is_asked_after_the_drink_is_looked_up(tmp_path: Path) -> None:
    """ "A latte with 2% milk and sweetener" asks which sweetener; the question was said with
    no tool. The drink and its milk are looked up as it is asked (nothing added), and the
    answer adds it."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("I'd like a Latte with 2% milk and sweetener please.")
        assert names(calls) == ["get_menu_items", "get_addons"], calls
        assert said.startswith("Sorry, what would you like with the Latte:"), said
        await call.say("Vanilla, please.")
        assert [r[:3] for r in await call.order()] == [("Latte", 1, {"milk-options": "2% Milk"})]


@pytest.mark.parametrize(
    ("line", "lines"),
    [
        ("One hot and one iced mocha.", [("Mocha", 1, {"hot-or-iced": "Hot"}),
                                         ("Mocha", 1, {"hot-or-iced": "Iced"})]),
        ("A decaf and a regular latte, please.", [("Latte", 1, {"caffeine": "Decaf"}),
                                                  ("Latte", 1, {})]),
        ("An oat and an almond cappuccino.", [("Cappuccino", 1, {"milk-options": "Oat Milk"}),
                                              ("Cappuccino", 1, {"milk-options": "Almond Milk"})]),
    ],
)  # fmt: skip
async def test_two_counts_with_their_options_before_one_drink_are_two_lines(
    tmp_path: Path, line: str, lines: list[tuple[str, int, dict[str, str]]]
) -> None:
    """ "One hot and one iced mocha" ordered one iced Mocha (found while testing stop 37's
    look-ups): each count with its options is a line of its own."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(line)
        assert [r[:3] for r in await call.order()] == lines


async def test_a_change_looks_its_options_up_unless_they_were_just_listed(tmp_path: Path) -> None:
    """ "Make it decaf" over a latte looks the option up (`get_addons`) before
    `update_order_item`, as an order with options does; "I'd like to add hazelnut" right
    after the add-ons were listed picks from that list, with no second look-up (as the
    Taskmaster-4 agents do in every such dev turn)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte, please.")
        calls, _ = await call.say("Make it decaf.")
        assert names(calls) == ["get_addons", "update_order_item", "get_order_details"], calls
        calls, _ = await call.say("What sweeteners do you have?")
        assert names(calls) == ["get_addons"], calls
        calls, said = await call.say("I would like to add hazelnut.")
        assert names(calls) == ["update_order_item", "get_order_details"], calls
        assert "hazelnut" in said


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("What sweeteners do you have?", "We have hazelnut sweetener, honey, sugar, sugar free "
         "vanilla sweetener and vanilla sweetener."),
        ("Any syrups?", "We have caramel sauce, chocolate sauce, hazelnut sweetener, sugar "
         "free vanilla sweetener and vanilla sweetener."),
        ("What sauces do you have?", "We have caramel sauce and chocolate sauce."),
        ("What add-ons do you have?", "We have caramel sauce, chocolate sauce, hazelnut "
         "sweetener, honey, sugar, sugar free vanilla sweetener and vanilla sweetener."),
    ],
)  # fmt: skip
async def test_a_kind_of_add_on_is_answered_with_that_kind_only(
    tmp_path: Path, question: str, said: str
) -> None:
    """ "What sweeteners do you have?" listed every add-on, caramel sauce first, and "what
    add-ons do you have?" got "Sorry, we only have drinks" (the hyphen normalised away): the
    add-ons the tool returns, of the kind asked."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, answer = await call.say(question)
        assert names(calls) == ["get_addons"] and answer.startswith(said), answer
        assert await call.order() == []


# ------------------------------------------------- blind11's calls (read in stop 38)


async def test_an_unknown_verb_before_an_ordered_drink_is_asked_about_never_a_yes(
    tmp_path: Path,
) -> None:
    """blind11's `phone-cappuccino-and-mocha-drop-cappuccino`: "Actualy, pick up the
    Cappuccino." (Whisper's "take off", on the phone leg) answered "shall I place the
    order?" and the order was placed. Named again after "actually", with nothing about it
    understood, the drink is asked about: no order placed, no second one added."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A cappuccino with almond milk, please.")
        calls, said = await call.say("Actualy, pick up the Cappuccino.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Sorry, what would you like to do with the Cappuccino?", said
        calls, said = await call.say("Take off the cappuccino.")
        assert "update_order_item" in names(calls) and await call.order() == [], said


async def test_a_strange_word_before_a_two_word_drink_name_is_asked_about(
    tmp_path: Path,
) -> None:
    """blind11's `phone-decaf-chai-oat`: "I like one weekend chai latte with oat milk"
    (Whisper's "decaf") got "Sorry, we don't have one weekend chai latte", a drink we have.
    A strange word before a whole name of two words is a word heard wrong: the drink is
    checked, and made on a yes. "A pumpkin spice latte" is still a drink we do not have."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("No, I'd like one weekend chai latte with oat milk.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Chai Latte with oat milk, right?", said
        await call.say("Yes.")
        assert await call.order() == [("Chai Latte", 1, {"milk-options": "Oat Milk"}, "open")]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("Can I get a pumpkin spice latte?")
        assert said.startswith("Sorry, we don't have a pumpkin spice latte."), said


@pytest.mark.parametrize(
    ("line", "addon"),
    [
        # blind11's over-greeting caller, as Whisper wrote "a latte with sugar free vanilla"
        ("Hi, Latte, win shoulder-free, Manila, please.", "sugar free vanilla sweetener"),
        ("A latte, win carmel, please.", "caramel sauce"),
    ],
)  # fmt: skip
async def test_an_add_on_heard_wrong_without_with_is_asked_about(
    tmp_path: Path, line: str, addon: str
) -> None:
    """A long word no menu knows, beside a drink, that comes near an add-on's name is asked
    about, never dropped with the drink added plain; "free" before it makes it the sugar-free
    one ("show the free vanilla": only that one is "free", so it is added as said)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(line)
        assert "add_order_item" not in names(calls), calls
        assert said == f"Just to check: one Latte with {addon}, right?", said
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("I'd like one latte that it wouldn't show the free vanilla sweetener.")
        assert await call.addons() == [("Latte", ["sugar-free-vanilla-sweetener"])]


async def test_a_drink_run_together_after_another_is_asked_for(tmp_path: Path) -> None:
    """blind11's "Too hot chocolate sandalette." ("two hot chocolates and a latte") ordered
    two Hot Chocolates and dropped the latte without a word. A long word no menu knows after
    the last drink is a drink not caught: asked for once the ones heard are in."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Too hot chocolate sandalette.")
        _, said = await call.say("Yes.")
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?"), said
        await call.say("A latte with almond milk.")
        assert await call.order() == [
            ("Hot Chocolate", 2, {}, "open"),
            ("Latte", 1, {"milk-options": "Almond Milk"}, "open"),
        ]


async def test_an_option_no_ordered_drink_takes_is_said_and_kept_for_the_drink(
    tmp_path: Path,
) -> None:
    """blind11's "Makes a lot with almond milk." over two Hot Chocolates (which take no milk)
    got the order read back, the milk dropped. An option no ordered drink takes is said so,
    and kept for the drink the caller names next; "makes a lot" itself is now checked as the
    latte it was ("a lot" comes near "latte")."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two hot chocolates, please.")
        _, said = await call.say("Makes a lot with almond milk.")
        assert said == "Just to check: one Latte with almond milk, right?", said
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("Two hot chocolates, please.")
        await asked_first(
            call,
            "Make it with almond milk.",
            "Sorry, the Hot Chocolate doesn't come with almond milk. Which drink would you "
            "like with almond milk?",
        )
        await call.say("A latte.")
        assert ("Latte", 1, {"milk-options": "Almond Milk"}, "open") in await call.order()


async def test_shots_no_ordered_drink_takes_are_said_as_a_barista_says_them(
    tmp_path: Path,
) -> None:
    """The question after "doesn't come with a double shot" names the shots the same way,
    never "with double" (stop 38's review)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two hot chocolates, please.")
        await asked_first(
            call,
            "Make it a double.",
            "Sorry, the Hot Chocolate doesn't come with a double shot. Which drink would you "
            "like with a double shot?",
        )


async def test_a_milk_answer_not_understood_gets_the_milk_question_again(
    tmp_path: Path,
) -> None:
    """blind11's phone caller answered "Which milk would you like in the Chai Latte?" with
    "Cold Milk, please." (Whisper's "oat milk") and was asked "Which drink would you like,
    iced?". A milk answer naming no milk is the question again."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("A chai latte with remote milk.")
        assert said.startswith("Which milk would you like in the Chai Latte"), said
        calls, said = await call.say("Cold Milk, please.")
        assert not set(names(calls)) & WRITES, calls
        assert said.startswith("Sorry, I didn't catch that. Which milk would you like"), said


async def test_the_other_drink_not_understood_is_asked_for_again_never_the_model(
    tmp_path: Path,
) -> None:
    """blind11's `matcha-vanilla-and-jin-xuan`: "What was it?" - "Won't you show up,
    please?" went to the model, which said "Sure, I'll show you up". Asked again (twice at
    most), never the model's guess; "jink show" itself comes near Jin Xuan as it is said."""
    fallback = ScriptedFallback()
    async with Caller(tmp_path, fallback) as call:
        _, said = await call.say("A matcha latte with vanilla and a wimble dorp.")
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?"), said
        _, said = await call.say("Won't you show up, please?")
        assert said == "Sorry, I didn't catch that. What was the other drink?", said
        assert fallback.asked == []
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("A matcha latte and a jink show, please.")
        assert said == "Just to check: one Matcha Latte and one Jin Xuan, right?", said


@pytest.mark.parametrize(
    ("line", "shots"),
    [
        ("A mocha with four shots of espresso, please.", "Quadruple"),
        ("A latte with 3 shots.", "Triple"),
        ("A cortado with one shot of espresso.", "Single"),
    ],
)
async def test_a_number_of_shots_is_that_option_not_an_espresso(
    tmp_path: Path, line: str, shots: str
) -> None:
    """blind11's `quad-shot-mocha`: "four shots of espresso" was asked as "which espresso
    shots?" and looked up an Espresso. A count of shots is that option of the drink."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say(line)
        ((_, _, attrs, _),) = await call.order()
        assert attrs == {"espresso-shots": shots}


async def test_an_option_said_again_but_not_understood_is_kept(tmp_path: Path) -> None:
    """blind11's `matcha-vanilla-and-jin-xuan`: "No, that's not right. I'd like one matcha
    latte with my nameless weight on it and one gin to show." remade the Matcha Latte without
    its vanilla. Words after "with" the menu does not know are the option said again and heard
    wrong: the line keeps it, and the drink not caught is asked for, not "shall I place it?"."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A matcha latte with vanilla, please.")
        calls, said = await call.say(
            "No, that's not right. I'd like one matcha latte with my nameless weight on it "
            "and one gin to show."
        )
        assert not set(names(calls)) & WRITES, calls
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?"), said
        assert await call.addons() == [("Matcha Latte", ["vanilla-sweetener"])]


# ------------------------------------------------- blind12's calls (read in stop 38)


async def test_options_said_with_a_drink_not_caught_look_for_a_near_miss(tmp_path: Path) -> None:
    """blind12's `cortado-double-then-triple`: "The Double Clortado, please." (no verb, so no
    request heard) got "Which drink would you like with double?", though "clortado" is one
    letter from "cortado". Options said with no drink caught look for the drink among the
    words; the question names the shots as a barista does."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("The Double Clortado, please.")
        assert said == "Just to check: one Cortado with a double shot, right?", said
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("The Double thingamajig, please.")
        assert (
            said
            == "Sorry, I didn't catch the drink. Which drink would you like with a double shot?"
        )


async def test_a_check_refused_then_said_the_same_offers_the_option(tmp_path: Path) -> None:
    """blind12's `skim-milk-cappuccino`: "one Cappuccino with oat milk, right?" - "No, that's
    not right. I'd like one Cappuccino with oat milk." (the caller's "non-fat milk", heard the
    same wrong way twice) added what the caller had just refused. The same words after a no
    offer the option instead."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Can I have a cappucheeno with oat milk?")
        calls, said = await call.say("No, that's not right. I'd like one Cappuccino with oat milk.")
        assert not set(names(calls)) & WRITES, calls
        assert said.startswith("Which milk would you like in the Cappuccino:"), said
        await call.say("Non-fat milk.")
        assert await call.order() == [("Cappuccino", 1, {"milk-options": "Non-fat Milk"}, "open")]


async def test_an_add_on_question_answered_with_a_milk_keeps_the_milk(tmp_path: Path) -> None:
    """ "with oatmeal" got the add-on question; the answer "No, that's not right. I'd like
    one Cappuccino with oat milk." made a Cappuccino with honey ("one" came near "honey") or
    a plain one. Numbers come near no add-on, and the milk the answer names is made. (Since
    stop 40 "oatmeal" is checked as oat milk; a no to that check, said with oat milk, asks
    which milk.)"""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Can I have a Cappuccino with oatmeal?")
        assert said == "Just to check: one Cappuccino with oat milk, right?"
        _, said = await call.say("No, that's not right. I'd like one Cappuccino with oat milk.")
        assert said.startswith("Which milk would you like in the Cappuccino:"), said
        await call.say("Oat milk, please.")
        assert await call.order() == [("Cappuccino", 1, {"milk-options": "Oat Milk"}, "open")]
        assert await call.addons() == [("Cappuccino", [])]


@pytest.mark.parametrize(
    "line", ["That's outright. I'd like two macchiatos.", "No, let's outright, two macchiatos."]
)
def test_outright_is_whisper_s_not_right(line: str) -> None:
    """ "that's not right", as Whisper wrote it for three blind12 callers."""
    assert "no" in understand(line).acts


# ------------------------------------------------- blind13's calls (read in stop 39)


async def test_please_alone_answers_the_place_question(tmp_path: Path) -> None:
    """blind13's "Yes, please place it" came through as "Please, please." and "Please, please,
    please, it.", and two callers went round "Shall I place the order?" three times. Over
    "Anything else, or shall I place the order?" a bare "please" gets the read-back (it may
    be a tail cut off); over the place question alone, it places the order."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A mocha, please.")
        calls, said = await call.say("Please, please.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Sure. That's one Mocha. Shall I place the order?"
        calls, _ = await call.say("Please, please, please, it.")
        assert "finish_order" in names(calls)
        assert await call.order() == [("Mocha", 1, {}, "finished")]


@pytest.mark.parametrize(
    "line",
    [
        "Actually, hazelnut instead of the caramel.",
        "They're actually hazelnuts instead of the caramel.",
    ],
)
async def test_an_add_on_instead_of_another_replaces_it(tmp_path: Path, line: str) -> None:
    """blind13's `latte-caramel-then-hazelnut`: "hazelnut instead of the caramel" kept the
    caramel (typed, it added the hazelnut beside it; heard as "hazelnuts", it did nothing).
    The add-on after "instead of" comes off, and a syrup said in the plural is that syrup."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte with caramel, please.")
        _, said = await call.say(line)
        assert said.startswith("Okay. That's one Latte with hazelnut sweetener."), said
        assert await call.addons() == [("Latte", ["hazelnut-sweetener"])]


@pytest.mark.parametrize(
    "line, check",
    [
        ("Killnuggets are nice to the Cappuccino.", "one iced Cappuccino"),
        ("I'd like well nice to decaf Cappuccino.", "one decaf iced Cappuccino"),
    ],
)
async def test_nice_after_any_word_before_a_drink_is_checked_as_iced(
    tmp_path: Path, line: str, check: str
) -> None:
    """blind13's "Could I get an iced decaf cappuccino?" was heard as these lines, and a
    plain (then a decaf) Cappuccino was made: "an iced" and "a nice" are the same sounds,
    after any word. The drink is checked iced, never made without the question."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say(line)
        assert not set(names(calls)) & WRITES, calls
        assert said == f"Just to check: {check}, right?"


async def test_to_before_a_drink_is_checked_as_two(tmp_path: Path) -> None:
    """blind13's phone caller's "Two americanos and a hot chocolate" came through as "To the
    Americano and the hot chocolate", and "I'd like two Americanos" as "I'd like to learn
    Americano": one was made, and read back as exactly what was asked, twice. "to" there is
    checked as two; "to" before a verb or after "add ... " is not."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("To the Americano and the hot chocolate, please.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: two Americanos and one Hot Chocolate, right?"
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("An Americano, please.")
        await call.say("No, that's not right. I'd like to learn Americano.")
        assert await call.order() == [("Americano", 2, {}, "open")]
    (tmp_path / "c").mkdir()
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say("A latte, please.")
        await call.say("Could you add caramel to the latte?")
        await call.say("I'd like to try the mocha.")
        assert await call.order() == [("Latte", 1, {}, "open"), ("Mocha", 1, {}, "open")]


async def test_a_word_near_decaf_beside_a_drink_is_asked_about(tmp_path: Path) -> None:
    """blind13's "iced decaf cappuccino" came through as "a iced Vcaf Cappuccino", and an iced
    Cappuccino was made, the decaf dropped without a word. A word the menu does not know
    that comes near "decaf" is asked about."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Can I get a iced Vcaf Cappuccino?")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one iced decaf Cappuccino, right?"
        await call.say("Yes.")
        assert await call.order() == [
            ("Cappuccino", 1, {"caffeine": "Decaf", "hot-or-iced": "Iced"}, "open")
        ]


async def test_a_change_to_one_drink_of_a_check_keeps_the_others(tmp_path: Path) -> None:
    """blind12's phone caller: "Just to check: one Latte and one Mocha, right?" - "Make the
    Mocha ice cream." made the Mocha alone; the Latte was dropped without a word. Words
    about one drink of a check change that drink and keep the others in the check."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("To the latte and the mocha, please.")
        calls, said = await call.say("Make the Mocha iced.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: two Lattes and one iced Mocha, right?"
        await call.say("Yes.")
        assert await call.order() == [
            ("Latte", 2, {}, "open"),
            ("Mocha", 1, {"hot-or-iced": "Iced"}, "open"),
        ]


async def test_thanks_is_not_a_yes_to_a_check(tmp_path: Path) -> None:
    """Whisper wrote "Thanks." for two blind callers' "No, that's not right" (blind12's
    macchiatos, blind13's hazelnut latte), and the checked drinks were made. "Please." is a
    yes to a check; "Thanks." gets the check again."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("To the americano, please.")
        calls, said = await call.say("Thanks.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Sorry, I didn't catch that. Was that two Americanos?"
        await call.say("Please.")
        assert await call.order() == [("Americano", 2, {}, "open")]


# ---------------------------------------- blind14's calls (read in stop 40, after two runs)


async def test_not_right_is_a_no(tmp_path: Path) -> None:
    """blind14's phone caller: "Just to check: one Hot Chocolate, right?" (its "Actually" as
    Whisper wrote it) - "Not right." got the check again, as words not caught. It is a no."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A chai latte with vanilla, please.")
        call.guided.note_hearing("Hot Chocolate, Make It Shoulder Free, Vanilla,", 0.3)
        _, said = await call.say("Hot Chocolate, Make It Shoulder Free, Vanilla,")
        assert said == "Just to check: one Hot Chocolate, right?"
        call.guided.note_hearing("Not right.", 0.9)
        calls, said = await call.say("Not right.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Sorry about that. Which drink would you like?"
        assert await call.order() == [("Chai Latte", 1, {}, "open")]


async def test_one_drink_said_again_over_two_lines_of_it_is_made_as_said(tmp_path: Path) -> None:
    """blind14's phone caller: over one Chai Latte with vanilla and one plain, "What would you
    like to change?" - "I'd like one Chai Latte with sugar free vanilla sweetener." put the
    sugar-free vanilla on the plain one and kept both. One drink said with its number, fewer
    than the lines hold and like none of them: the lines are made again as now said."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A chai latte with vanilla, please.")
        await call.say("And a chai latte.")
        await call.say("No, not right.")
        calls, said = await call.say("I'd like one Chai Latte with sugar free vanilla sweetener.")
        assert names(calls).count("update_order_item") == 2, calls
        assert "one Chai Latte with sugar free vanilla sweetener" in said
        assert [r[:2] for r in await call.order()] == [("Chai Latte", 1)]
        assert await call.addons() == [("Chai Latte", ["sugar-free-vanilla-sweetener"])]


async def test_a_drink_name_heard_as_a_kind_of_milk_is_asked_about_not_added(
    tmp_path: Path,
) -> None:
    """blind14's "No, that's not right. I'd like one latte with skim milk and a triple shot"
    came through as "... World Latte with our Latte Milk and a triple shot", and a second
    Latte was made. A drink's name between "with" and "milk" is a kind of milk not
    understood: the milk is asked for."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("I'd like one latte with oat milk and a triple shot.")
        calls, said = await call.say(
            "Ooh, that's outright. I'd like World Latte with our Latte Milk and a triple shot."
        )
        assert not set(names(calls)) & WRITES, calls
        assert said.startswith("Which milk would you like in the Latte:"), said
        await call.say("Non-fat milk.")
        assert await call.order() == [
            ("Latte", 1, {"espresso-shots": "Triple", "milk-options": "Non-fat Milk"}, "open")
        ]


async def test_a_number_written_twice_before_a_drink_not_caught_is_still_asked_for(
    tmp_path: Path,
) -> None:
    """blind14's over-greeting caller, asked what to change over one Hot Chocolate: "I'd like
    one Hot Chocolate and one one the old year." (one lavender earl grey) got "I have exactly
    that", twice; the drink not caught was dropped because Whisper wrote "one" twice."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A hot chocolate, please.")
        await call.say("No, but not right.")
        calls, said = await call.say("I'd like one Hot Chocolate and one one the old year.")
        assert not set(names(calls)) & WRITES, calls
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?"), said


# ------------------------------- blind15's calls (read in stop 40, after its two held-out runs)


async def test_oatmeal_is_whisper_s_oat_milk(tmp_path: Path) -> None:
    """blind15's "Sorry, can you make it oat milk?" came through as "... make it oatmeal?",
    and "I'd like one iced latte with oatmeal" got "I have exactly that" twice, the whole
    milk kept. "oatmeal" sounds like oat milk (the menu sells no food): asked about as oat
    milk, made on a yes, and read back."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An iced latte with whole milk, please.")
        calls, said = await call.say("Sorry, can you make it oatmeal?")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one iced Latte with oat milk, right?"
        calls, said = await call.say("Yes.")
        assert "update_order_item" in names(calls)
        assert said.startswith("Okay. That's one iced Latte with oat milk.")
        assert await call.order() == [
            ("Latte", 1, {"hot-or-iced": "Iced", "milk-options": "Oat Milk"}, "open")
        ]


# ------------------------------- blind16's calls (read in stop 41, after its held-out run)


async def test_a_comma_list_of_bare_drink_names_is_checked_before_anything_is_added(
    tmp_path: Path,
) -> None:
    """Whisper base, prompted with the menu's names as a comma list, wrote them back for a
    phone caller's "Can I get a latte with vanilla, please?": "Cappuccino, Latte, Whitman
    and Latte, please.", and both drinks were added unasked. Bare names each in a clause of
    their own are the prompt's shape: one check first, a name written twice is one drink,
    and the caller's "no" with the order said again is what gets added."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Cappuccino, Latte, Whitman and Latte, please.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Cappuccino and one Latte, right?"
        calls, said = await call.say(
            "No, that's not right. I'd like two steamers and one tangerine rooibos."
        )
        assert said.startswith("Got it. That's two Steamers and one Tangerine Rooibos."), said
        assert await call.order() == [
            ("Steamer", 2, {}, "open"),
            ("Tangerine Rooibos", 1, {}, "open"),
        ]


async def test_drinks_said_with_their_numbers_and_articles_are_not_taken_for_a_list_echo(
    tmp_path: Path,
) -> None:
    """The check above is for bare names only: "A latte, a mocha and a cappuccino" and one
    bare name ("Latte, please.") are added as they always were."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("A latte, a mocha and a cappuccino, please.")
        assert "add_order_item" in names(calls), said
        calls, said = await call.say("Hot chocolate, please.")
        assert "add_order_item" in names(calls), said
        assert len(await call.order()) == 4


async def test_you_bet_answers_a_check_with_yes(tmp_path: Path) -> None:
    """blind16's phone caller's "Yes." came through as "You bet." three times, and the check
    it answered was asked again each time until the caller gave up. "You bet" is a yes."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An iced mocha, real oatmeal, and caramel, please.")
        calls, said = await call.say("You bet.")
        assert "add_order_item" in names(calls), said
        assert said.startswith("Got it. That's one iced Mocha with oat milk and caramel sauce.")


async def test_the_order_just_placed_said_again_is_not_placed_twice(tmp_path: Path) -> None:
    """blind16's phone caller's "Yes, please place it" came in two pieces; the second cut
    the placement news off at its first word, the agent's "Sorry, I didn't catch that.
    Anything else?" left the caller thinking the order was lost, it said the order again,
    and two orders were placed. Now the news goes with the question asked again, and the
    same order said again is said to be placed (read from the placed order), never a
    second order; "another ..." still orders one."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("Two steamers and a tangerine rooibos, please.")
        calls, said = await call.say("Yes, please place it.")
        assert names(calls) == ["finish_order"]
        calls, said = await call.say("Clear, clean plate it.")
        assert names(calls) == ["get_order_details"]
        assert said == "Sorry, I didn't catch that. Your order is placed already. Anything else?"
        calls, said = await call.say(
            "No, that's not right. I'd like two Steamer and one Tangerine Rooibos."
        )
        assert names(calls) == ["get_order_details"]
        assert said == (
            "Your order is placed already: two Steamers and one Tangerine Rooibos. Anything else?"
        )
        assert [s for *_, s in await call.order()] == ["finished", "finished"]
        calls, said = await call.say("I'd like another steamer, please.")
        assert "add_order_item" in names(calls), said
        assert await call.order() == [
            ("Steamer", 2, {}, "finished"),
            ("Tangerine Rooibos", 1, {}, "finished"),
            ("Steamer", 1, {}, "open"),
        ]


# ------------------------------- blind17's calls (read in stop 41, after its held-out run)


async def test_sugar_free_and_a_word_not_understood_is_asked_as_sugar_free_vanilla(
    tmp_path: Path,
) -> None:
    """blind17's "a chai latte with almond milk and sugar free vanilla" came through as "...
    and sugar free money", and the agent said "The Chai Latte doesn't come with sugar": it had
    read "sugar". Sugar free is never sugar; with a word not understood after it, it comes
    near the one sugar-free add-on, which is asked about before it is made."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Chai Latte, with almond milk and sugar free money, please.")
        assert not set(names(calls)) & WRITES, calls
        assert said == (
            "Just to check: one Chai Latte with almond milk and sugar free vanilla sweetener, "
            "right?"
        )
        await call.say("Yes.")
        assert await call.addons() == [("Chai Latte", ["sugar-free-vanilla-sweetener"])]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        calls, said = await call.say("A latte, sugar free please.")
        assert "add_order_item" in names(calls), said
        assert await call.addons() == [("Latte", [])]


async def test_the_order_said_again_with_words_not_understood_after_with_asks_about_them(
    tmp_path: Path,
) -> None:
    """ "No, that's not right. I'd like one Chai Latte with almond milk and sugar green, but
    it's weird." over one Chai Latte with almond milk got "I have exactly that" twice: the
    caller had just said it was not. The words after "with" that name nothing are what was
    wrong: which add-on is asked for the drink they follow, and the answer is made."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A chai latte with almond milk, please.")
        calls, said = await call.say(
            "No, that's not right. I'd like one Chai Latte with almond milk and sugar green, "
            "but it's weird."
        )
        assert not set(names(calls)) & WRITES, calls
        assert "I have exactly that" not in said
        assert "sugar free vanilla sweetener" in said and said.endswith("or nothing?"), said
        calls, said = await call.say("Sugar free vanilla sweetener, please.")
        assert "update_order_item" in names(calls), said
        assert await call.addons() == [("Chai Latte", ["sugar-free-vanilla-sweetener"])]


async def test_a_list_echo_whose_clause_holds_two_names_is_checked_too(tmp_path: Path) -> None:
    """blind17's "How much is a cappuccino?" came through as "Mocha Latte, Cappuccino,", and
    both drinks were added: a clause of two names is as bare as a clause of one."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Mocha Latte, Cappuccino,")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Mocha and one Cappuccino, right?"


# ------------------------------- blind19's calls (read in stop 42, after its held-out run)


async def test_two_names_run_together_are_asked_about_as_the_longer_name_they_come_near(
    tmp_path: Path,
) -> None:
    """blind19's phone caller said "Two matcha lattes, please." and Whisper wrote "A Macchiato
    Latte, a Clean", then "I'd like two Macchiato Latte in." after the check was refused; two
    Macchiatos and a Latte were added. Two names with no pause between them are one name heard
    wrong: the longer name they come near is checked, and made on a yes."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("A Macchiato Latte, a Clean")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Matcha Latte, right?"
        calls, said = await call.say("No, that's not right. I'd like two Macchiato Latte in.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: two Matcha Lattes, right?"
        await call.say("Yeah.")
        assert [r[:2] for r in await call.order()] == [("Matcha Latte", 2)]


async def test_two_names_run_together_with_no_longer_name_near_are_checked_not_added(
    tmp_path: Path,
) -> None:
    """ "A latte macchiato" (no drink of ours) is not a Latte and a Macchiato said as a list:
    both are checked before anything is added; a list said with a pause keeps every drink."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("A latte macchiato, please.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Latte and one Macchiato, right?"
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("A latte, macchiato and mocha, please.")
        assert [r[0] for r in await call.order()] == ["Latte", "Macchiato", "Mocha"]


async def test_a_bare_name_after_the_order_is_placed_is_checked_before_a_new_order(
    tmp_path: Path,
) -> None:
    """A phone caller's "Bye." after "Your order is placed. Anything else?" came through as
    "Mocha." and opened a second order nobody asked for: a bare name then is checked."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A latte, please.")
        await call.say("That's all, please place it.")
        calls, said = await call.say("Mocha.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Mocha, right?"
        calls, said = await call.say("A mocha, please.")
        assert "add_order_item" in names(calls), said


# ------------------------------- blind20's calls (read in stop 42, after its held-out run)


async def test_a_drink_near_miss_answering_which_drink_is_checked_at_a_looser_threshold(
    tmp_path: Path,
) -> None:
    """blind20's "A cortado with two percent milk" came through as "At a Cloud Chocolate Win
    2% milk", then "I'd like one cotta go with 2% milk" (0.71, under `MIN_SCORE`): the caller
    was asked for the drink three times and hung up. Answering "which drink?", the words come
    near a Cortado, which takes 2% milk (a cocoa, as near, does not): checked, then made."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("At a Cloud Chocolate Win 2% milk, please.")
        calls, said = await call.say("No, that's not right, I'd like one cotta go with 2% milk.")
        assert not set(names(calls)) & WRITES, calls
        assert said == "Just to check: one Cortado with 2% milk, right?"
        await call.say("Yes.")
        assert [r[:3] for r in await call.order()] == [("Cortado", 1, {"milk-options": "2% Milk"})]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        # the same words, not answering "which drink?": no guess at the looser threshold
        calls, said = await call.say("One cotta go with 2% milk, please.")
        assert "Cortado" not in said and not set(names(calls)) & WRITES, said


async def test_a_refused_check_said_again_with_words_after_which_asks_for_the_add_on(
    tmp_path: Path,
) -> None:
    """blind20's phone caller's "An iced macchiato with hazelnut, please." came through as "A
    nice Macchiato, which I will not leave."; checked as one iced Macchiato, refused, and said
    again as "... one iced Macchiato, which ain't no less reasonous.", the agent asked "one
    Macchiato with hot, or with iced?" three times. "which" after a drink is Whisper's "with",
    and what was left out is the add-on: which one is asked, and the answer made."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("A nice Macchiato, which I will not leave.")
        assert said == "Just to check: one iced Macchiato, right?"
        calls, said = await call.say(
            "No, that's not right. I like one iced Macchiato, which ain't no less reasonous."
        )
        assert not set(names(calls)) & WRITES, calls
        assert said.startswith("Sorry, what would you like with the Macchiato: caramel sauce,")
        await call.say("Hazelnut sweetener, please.")
        assert await call.addons() == [("Macchiato", ["hazelnut-sweetener"])]
        assert [r[2] for r in await call.order()] == [{"hot-or-iced": "Iced"}]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        # a question with "which" keeps it
        calls, said = await call.say("A latte, which milk do you have?")
        assert not set(names(calls)) & WRITES and "Which milk" in said, said


async def test_hot_or_iced_offered_names_the_drink_both_ways(tmp_path: Path) -> None:
    """ "Sorry, was that one Macchiato with hot, or with iced?" is no English: an option said
    before the name is offered as the drink both ways."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("A nice Macchiato, please.")
        assert said == "Just to check: one iced Macchiato, right?"
        calls, said = await call.say("No, that's not right. I'd like one iced Macchiato.")
        assert said == "Sorry, was that one hot Macchiato, or one iced Macchiato?"


async def test_the_order_said_again_after_a_no_with_words_after_and_asks_for_the_add_on(
    tmp_path: Path,
) -> None:
    """blind20's phone caller again (run L): "with hazelnut" came through as "and we can't
    let the reason it" after one iced Macchiato, and "No, that's not right" got "I have
    exactly that". Words that name nothing after "and", past the last drink, are what was
    wrong, as after "with"; a list ("a latte and a mocha, and oat milk") is not."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("One iced macchiato, please.")
        calls, said = await call.say(
            "No, that's not right. I like one iced Macchiato, and we can't let the reason it."
        )
        assert not set(names(calls)) & WRITES, calls
        assert said.startswith("Sorry, what would you like with the Macchiato: caramel sauce,")
        await call.say("Hazelnut sweetener, please.")
        assert await call.addons() == [("Macchiato", ["hazelnut-sweetener"])]


# ------------------------------- blind22's calls (read in stop 42, after its held-out run)


async def test_steak_off_the_drink_is_whisper_s_take_off(tmp_path: Path) -> None:
    """blind22's phone caller's "Take off the macchiato, please." came through as "Steak off
    the Macchiato, please."; the agent asked what to do with the Macchiato, and the answers
    were lost. "steak off the ..." at the start of a request is "take off"; a steak is not."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A Latte, a Macchiato, please.")
        calls, said = await call.say("Steak off the Macchiato, please.")
        assert "update_order_item" in names(calls), said
        assert [r[0] for r in await call.order()] == ["Latte"]
    assert understand("I want a steak off the grill.").acts.isdisjoint({"remove"})


# ------------------------------- blind23's calls (read in stop 43, after its held-out run)


async def test_a_flavour_heard_wrong_before_a_drink_is_checked_not_refused(tmp_path: Path) -> None:
    """blind23's whispered caller said "A vanilla latte, please."; Whisper wrote "A Barilla
    Latte, please." and the agent said "Sorry, we don't have a barilla latte" and read the
    menu. One strange word before a drink that comes near an add-on the drink takes is that
    add-on heard wrong: checked ("one Latte with vanilla sweetener, right?"), made on a yes.
    Drinks we do not have stay refused, including a flavour near no add-on ("coconut")."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("A Barilla Latte, please.")
        assert "add_order_item" not in names(calls) and "vanilla sweetener" in said, said
        assert said.startswith("Just to check"), said
        await call.say("Yes.")
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]
        assert await call.addons() == [("Latte", ["vanilla-sweetener"])]
    for heard in ("A pumpkin spice latte, please.", "A coconut mocha, please.",
                  "A nutella latte, please."):  # fmt: skip
        turn = understand(heard)
        assert turn.unknown_drink and not turn.drinks, heard


# ------------------------------- blind24's calls (read in stop 43, after its held-out run)


async def test_a_price_asked_of_a_drink_heard_wrong_names_the_drink_it_comes_near(
    tmp_path: Path,
) -> None:
    """blind24's caller asked "What does a cortado cost?"; Whisper wrote "What does a
    Coltango cost?" (0.67 from Cortado, under the 0.72 a near miss needs) and the agent asked
    "Which drink would you like the price of?". The one drink the words come near at the
    looser score is priced by name ("the Cortado is rung up ..."), and a yes orders it; the
    price's own words are no part of the name ("coltango cost" is not Cloud and Mist)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("What does a Coltango cost?")
        assert "the Cortado" in said and "add_order_item" not in names(calls), said
        await call.say("Yes.")
        assert [r[:2] for r in await call.order()] == [("Cortado", 1)]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        calls, said = await call.say("What does a blueberry muffin cost?")
        assert said == "Which drink would you like the price of?" and not calls, said


async def test_a_shot_word_heard_wrong_before_a_drink_is_asked_not_refused(tmp_path: Path) -> None:
    """blind24's phone caller's "Can I get a quadruple espresso?" came through as "Can I get
    that one ruple espresso?" and the agent said "Sorry, we don't have one ruple espresso"
    and read the menu. A strange word before a drink near the shot words the drink takes
    ("ruple": triple 0.86, quadruple 0.75) is asked about, like one after it."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("Can I get that one ruple espresso?")
        assert "add_order_item" not in names(calls), said
        assert "triple shot" in said and "quadruple shot" in said, said
        await call.say("Quadruple, please.")
        assert await call.order() == [("Espresso", 1, {"espresso-shots": "Quadruple"}, "open")]


# ------------------------------- blind25's calls (read in stop 43, after its held-out run)


async def test_an_add_on_no_drink_of_the_list_takes_is_a_drink_not_caught(tmp_path: Path) -> None:
    """blind25's phone caller said "A caramel latte and an espresso, please."; Whisper wrote
    "A Caramelet and an Espresso, please." and the agent said "Got it. That's one Espresso."
    with nothing about the first drink. A slot of the list that names only an add-on no
    drink of the list takes (an Espresso takes none) is a drink of its own not caught, and
    is asked for; "one vanilla and one caramel latte" is still two Lattes."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        calls, said = await call.say("A Caramelet and an Espresso, please.")
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?"), said
        assert [r[:2] for r in await call.order()] == [("Espresso", 1)]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        calls, said = await call.say("One vanilla and one caramel latte, please.")
        assert "didn't catch" not in said, said
        assert await call.addons() == [
            ("Latte", ["vanilla-sweetener"]),
            ("Latte", ["caramel-sauce"]),
        ]


async def test_a_drink_named_where_an_add_on_goes_is_checked_not_made(tmp_path: Path) -> None:
    """The same blind25 call, after a refused read-back of one Espresso: "No, that's not
    right. I'd like one left with their Mocha Sambana Espresso." took the Espresso off and
    put a Mocha on with no question. A drink's name right after "with" (where an add-on
    goes) is checked before anything is made or changed for it; "mocha sauce" is the
    chocolate sauce, not a Mocha."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An espresso, please.")
        calls, said = await call.say(
            "No, that's not right. I'd like one left with their Mocha Sambana Espresso."
        )
        assert said == "Just to check: one Mocha, right?", said
        assert [r[:2] for r in await call.order()] == [("Espresso", 1)]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        calls, said = await call.say("A latte with a mocha, please.")
        assert said.startswith("Just to check:") and "add_order_item" not in names(calls), said
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say("A latte with mocha sauce, please.")
        assert await call.addons() == [("Latte", ["chocolate-sauce"])]


# ------------------------------- blind29's calls (read in stop 44, after its held-out run)


async def test_more_of_a_drink_not_caught_in_a_list_is_asked_for(tmp_path: Path) -> None:
    """blind29's "A mocha and two Earl Greys, please." came through as "A Mocha and two more
    trees, please."; the agent said "That's one Mocha" and nothing of the teas. "two more"
    and words that name nothing we know is a drink not caught, asked for once the Mocha is
    in; "two more of those", "one more thing" and "two more mochas" are not."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("A Mocha and two more trees, please.")
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?"), said
        assert [r[:2] for r in await call.order()] == [("Mocha", 1)]
    for i, line in enumerate(["A latte and two more of those.", "A latte and one more thing."]):
        (tmp_path / str(i)).mkdir()
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            _, said = await call.say(line)
            assert "didn't catch" not in said, (line, said)
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say("Two lattes and two more mochas.")
        assert [r[:2] for r in await call.order()] == [("Latte", 2), ("Mocha", 2)]


async def test_options_heard_without_their_drink_narrow_the_question(tmp_path: Path) -> None:
    """blind29's phone caller said "A decaf latte with honey"; Whisper wrote "A D-Caflaponi"
    and then, after "which drink?", "No, that's not right. I like one decaf, like with
    honey.", and got the whole menu read out twice. The decaf and the honey are kept, the
    "no" is the repair's, and the question names the drinks that take both (a barista's
    "a decaf what?"); the answer gets them. With oat milk (eight drinks) none are named."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A D-Caflaponi, please.")
        _, said = await call.say("No, that's not right. I like one decaf, like with honey.")
        assert said == (
            "Sorry, I didn't catch the drink. Which drink would you like, decaf with honey: "
            "a Cappuccino, a Latte or a Mocha?"
        ), said
        await call.say("The latte, please.")
        assert await call.order() == [("Latte", 1, {"caffeine": "Decaf"}, "open")]
        assert await call.addons() == [("Latte", ["honey"])]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("The light with oat milk, please.")
        assert said == "Sorry, I didn't catch the drink. Which drink would you like with oat milk?"


# ------------------------------- blind31's calls (read in stop 44, after its held-out run)


async def test_a_removal_naming_a_kind_takes_off_the_order_s_drink_of_that_kind(
    tmp_path: Path,
) -> None:
    """blind31's "Actually, cancel the tea." over a Cappuccino and an English Breakfast got
    the list of teas ("We have Ginger Green Cold Steep Tea, ... Which would you like?"); the
    caller had to say the order again. The order's one tea comes off and the order is read
    back; with two teas in it the agent asks which; "take the coffee off" works the same."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("One cappuccino and one English Breakfast tea, please.")
        calls, said = await call.say("Actually, cancel the tea.")
        assert "update_order_item" in names(calls), calls
        assert [r[:2] for r in await call.order()] == [("Cappuccino", 1)], said
        assert "Cappuccino" in said and "English Breakfast" not in said, said
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("An Earl Grey and a Jin Xuan and a latte, please.")
        calls, said = await call.say("Cancel the tea.")
        assert "update_order_item" not in names(calls), calls
        assert said.endswith("Which one should I take off?"), said
        await call.say("The Earl Grey.")
        assert [r[:2] for r in await call.order()] == [("Jin Xuan", 1), ("Latte", 1)]
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say("A mocha and a peppermint rose, please.")
        await call.say("Take the coffee off, please.")
        assert [r[:2] for r in await call.order()] == [("Peppermint Rose", 1)]


# ------------------------------- blind32's calls (read in stop 44, after its held-out run)


async def test_words_asking_for_more_of_something_not_caught_are_asked_again(
    tmp_path: Path,
) -> None:
    """blind32's phone caller's "Two matcha lattes with vanilla, please." came through as
    "Too much of Arcane Windman Hitler Clean." and went to the fallback model, which refused
    it ("sorry, but I can't assist with that"). Words not understood that ask for more of
    something ("too", "also", "add") are an order not caught: asked again, not the model's."""
    fallback = ScriptedFallback("MODEL REPLY.")
    async with Caller(tmp_path, fallback) as call:
        _, said = await call.say("Too much of Arcane Windman Hitler Clean.")
        assert said == "Sorry, I didn't catch that. What can I get you?", said
        assert fallback.asked == []


# ------------------------------- blind33's calls (read in stop 44, after its held-out run)


async def test_the_same_drink_said_again_after_a_no_asks_how_many(tmp_path: Path) -> None:
    """blind33's phone caller wanted three English Breakfast teas; Whisper wrote "A Fried
    English Breakfast" and "I like reading English Breakfast". "Just to check: one English
    Breakfast, right?" - "No, that's not right. I like Fried English Breakfast." added the
    one English Breakfast just refused, and the same words over the read-back got "I have
    exactly that". The drink agrees, so the number is what was wrong: it is asked, and the
    answer sets it (on the check before anything is made; on the read-back, on the line)."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("A Fried English Breakfast Bean, clean!")
        assert said == "Just to check: one English Breakfast, right?", said
        calls, said = await call.say("No, that's not right. I like Fried English Breakfast.")
        assert "add_order_item" not in names(calls), calls
        assert said == "How many English Breakfasts would you like?", said
        await call.say("Three, please.")
        assert [r[:2] for r in await call.order()] == [("English Breakfast", 3)]
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("One English Breakfast, please.")
        calls, said = await call.say("No, that's not right. I like reading English Breakfast.")
        assert "update_order_item" not in names(calls), calls
        assert said == "Sorry, how many English Breakfasts would you like?", said
        calls, said = await call.say("Three English Breakfasts.")
        assert [r[:2] for r in await call.order()] == [("English Breakfast", 3)], calls
        assert "three English Breakfasts" in said, said
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        # a number said with it: nothing to ask, the order as it was
        await call.say("One English Breakfast, please.")
        _, said = await call.say("No, that's not right. I'd like one English Breakfast.")
        assert said.startswith("I have exactly that"), said


# ------------------------------- blind34's calls (read in stop 44, after its held-out run)


async def test_scratch_both_of_those_replaces_the_whole_order(tmp_path: Path) -> None:
    """blind34's "Actually, scratch both of those. Just an Earl Grey." over a Jin Xuan and a
    Wild Strawberry got "There's no Earl Grey in your order." (the Earl Grey taken for the
    drink to scratch); typed, it replaced only the Wild Strawberry. Both come off and the Earl
    Grey goes on; "scratch that" still replaces only the drink said last."""
    for i, line in enumerate(
        [
            "Actually, scratch both of those. Just an Earl Grey.",
            "Actually scratch both on those, just an Earl Grey.",
        ]
    ):
        (tmp_path / str(i)).mkdir()
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            await call.say("A Jin Xuan and a Wild Strawberry, please.")
            _, said = await call.say(line)
            assert [r[:2] for r in await call.order()] == [("Earl Grey", 1)], (line, said)
    async with Caller(tmp_path / "c", ScriptedFallback()) as call:
        await call.say("A Jin Xuan and a Wild Strawberry, please.")
        await call.say("Scratch that, just an Earl Grey.")
        assert [r[:2] for r in await call.order()] == [("Jin Xuan", 1), ("Earl Grey", 1)]


async def test_a_near_miss_after_ice_is_checked(tmp_path: Path) -> None:
    """blind34's phone caller's "Two iced cortados, please." came through as "Two
    ice-covertaitos. Please." (0.91 from "cortados"); "ice" was no word a drink's name may
    follow, so the agent asked "Which drink would you like, iced?" three times. Whisper's
    "ice" for "iced" now stands where "iced" does, and the near miss is checked."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        _, said = await call.say("Two ice-covertaitos. Please.")
        assert said == "Just to check: two iced Cortados, right?", said
        await call.say("Yes.")
        assert await call.order() == [("Cortado", 2, {"hot-or-iced": "Iced"}, "open")]


# ------------------------- blind35's to blind37's calls (read in stop 45, after their runs)


async def test_thanks_and_a_word_not_caught_is_thanks(tmp_path: Path) -> None:
    """blind35's callers' "Thanks, bye!" after the order was placed came through as "Thanks,
    boy!" and as Whisper's "Thanks for watching!"; both got "Sorry, I didn't catch that.
    Your order is placed already." Thanks and two words not understood are thanks; three
    are not."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A mocha, please.")
        await call.say("Yes, please place it.")
        for line in ("Thanks, boy!", "Thanks for watching!", "Oh, thank you, Sir."):
            _, said = await call.say(line)
            assert said == "You're welcome. Anything else?", (line, said)
        _, said = await call.say("Thanks, the moon is very bright.")
        assert not said.startswith("You're welcome"), said
        assert await call.order() == [("Mocha", 1, {}, "finished")]


async def test_a_drink_name_before_words_not_understood_is_checked(tmp_path: Path) -> None:
    """blind35's florist caller's "a bunch of roses" came through as "I'd like to send a
    mocha roses to my mother for her birthday" and a Mocha was added; blind37's "one iced
    macchiato with oat milk" as "one iced Macchiato remote mould", added as one iced
    Macchiato. A word not understood right after a drink's name, with nothing the drink
    takes heard and more words after it, makes the drink a guess when the words were heard:
    checked, not added. Typed, it is a word we do not know (the tool-call eval's held-out
    first turns lost 11 right calls to such checks). Words a caller says after a drink ("to
    go", "please", "for my son", "with oat milk"), one word alone ("A Macchiato Clean.", a
    phone line's "please") and a question are not."""
    checked = {
        "Hi, I'd like to send a mocha roses to my mother for her birthday.":
            "Just to check: one Mocha, right?",
        "I'd like one iced Macchiato remote mould.": "Just to check: one iced Macchiato, right?",
    }  # fmt: skip
    for i, (line, check) in enumerate(checked.items()):
        (tmp_path / str(i)).mkdir()
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            _, said = await call.say(line, heard=0.8)
            assert said == check, (line, said)
            assert await call.order() == [], line
        (tmp_path / f"typed{i}").mkdir()
        async with Caller(tmp_path / f"typed{i}", ScriptedFallback()) as call:
            _, said = await call.say(line)  # typed: a word we do not know, not a mishearing
            assert said.startswith("Got it."), (line, said)
    for i, line in enumerate(
        [
            "A latte to go, please.",
            "A mocha for my son, please.",
            "A cortado with oat milk, please.",
            "Two cappuccinos please.",
            "A Macchiato Clean.",  # (a phone line's "please": one word alone is not doubted)
            "And a Cortado tube.",
        ]
    ):
        (tmp_path / f"a{i}").mkdir()
        async with Caller(tmp_path / f"a{i}", ScriptedFallback()) as call:
            _, said = await call.say(line, heard=0.8)
            assert said.startswith("Got it."), (line, said)
    (tmp_path / "q").mkdir()
    async with Caller(tmp_path / "q", ScriptedFallback()) as call:
        _, said = await call.say("Is a mocha sweeter than a latte?", heard=0.8)
        assert "Just to check" not in said, said
        assert await call.order() == []


async def test_not_right_to_the_add_on_question_asks_for_the_drink(tmp_path: Path) -> None:
    """blind37's phone caller's "Two lattes with oat milk" was heard as Americanos and, said
    again, "Two Americano with oatmeal"; asked "what would you like with the Americano: ...,
    or nothing?", its "No, that's not right." was taken for "nothing" and two Americanos were
    added. A "not right" with nothing named refuses the drink asked about; "No, thanks." is
    still no add-on."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An Americano with oatmeal, please.")
        assert "what would you like with the Americano" in call.spoken[-1], call.spoken
        _, said = await call.say("No, that's not right.")
        assert said == "Sorry about that. Which drink would you like?", said
        assert await call.order() == []
        await call.say("A latte with oat milk, please.")
        assert await call.order() == [("Latte", 1, {"milk-options": "Oat Milk"}, "open")]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("An Americano with oatmeal, please.")
        await call.say("No, thanks.")
        assert await call.order() == [("Americano", 1, {}, "open")]


async def test_a_temperature_said_of_milk_is_the_milk_s(tmp_path: Path) -> None:
    """blind38's phone caller's "change that to oat milk" came through as "Sorry, can you
    change that cold milk?" and made its Mocha iced; blind36's "No, that's not right. I'd
    like one Latte with non-fat milk" as "... with a Hot Milk", which made its Latte hot. A
    temperature said of milk names no temperature of the drink: the milk is asked about.
    "A hot latte" and "an iced latte with cold milk" keep theirs."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A Mocha with almond milk, please.")
        _, said = await call.say("Sorry, can you change that cold milk?")
        assert said.startswith("Which milk would you like in the Mocha"), said
        await call.say("Oat milk, please.")
        assert await call.order() == [("Mocha", 1, {"milk-options": "Oat Milk"}, "open")]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        await call.say("A latte, please.")
        _, said = await call.say("No, that's not right. I'd like one Latte with a Hot Milk.")
        assert said.startswith("Which milk would you like in the Latte"), said
        await call.say("Non-fat milk, please.")
        assert await call.order() == [("Latte", 1, {"milk-options": "Non-fat Milk"}, "open")]
    for i, (line, want) in enumerate(
        [("A hot latte, please.", "Hot"), ("An iced latte with cold milk, please.", "Iced")]
    ):
        (tmp_path / f"t{i}").mkdir()
        async with Caller(tmp_path / f"t{i}", ScriptedFallback()) as call:
            await call.say(line)
            assert await call.order() == [("Latte", 1, {"hot-or-iced": want}, "open")], line


async def test_a_letter_before_a_drink_s_name_is_no_drink_we_do_not_have(tmp_path: Path) -> None:
    """blind39's phone caller's "I'd like one decaf Cappuccino" came through as "... one D
    Cappuccino" and got "Sorry, we don't have one d cappuccino." A letter or two before a
    drink's name is a word heard wrong: the drink is checked, and over the same drink
    ordered a yes adds none. "A pumpkin spice latte" is still a drink we do not have."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("A Cappuccino, please.")
        _, said = await call.say("No, that's not right. I'd like one D Cappuccino.")
        assert said == "Just to check: one Cappuccino, right?", said
        await call.say("Yes.")
        assert await call.order() == [("Cappuccino", 1, {}, "open")]
    (tmp_path / "b").mkdir()
    async with Caller(tmp_path / "b", ScriptedFallback()) as call:
        _, said = await call.say("A pumpkin spice latte, please.")
        assert said.startswith("Sorry, we don't have a pumpkin spice latte."), said


async def test_make_that_a_drink_replaces_the_drink_ordered_last(tmp_path: Path) -> None:
    """blind37's phone caller's "Sorry, make that a cold brew." over an Espresso got "That's
    one Espresso and one Cold Brew" (the simulated caller's "No, that's not right" put it
    right; a person may not). Said in a turn of its own, "make that a <drink>", "<drink>
    instead" and "<drink> instead of the <drink>" replace a drink; "make that two mochas"
    and "make it a double" still change the drink ordered."""
    cases = [
        (["An espresso, please.", "Sorry, make that a cold brew."], [("Cold Brew", 1, {})]),
        (["A chai latte, please.", "Sorry, could you make that a matcha latte instead?"],
         [("Matcha Latte", 1, {})]),
        (["A latte, please.", "Actually, a mocha instead."], [("Mocha", 1, {})]),
        (["A latte, please.", "I'll have a mocha instead of the latte."], [("Mocha", 1, {})]),
        (["A latte and a cortado, please.", "Can I get a mocha instead of the cortado?"],
         [("Latte", 1, {}), ("Mocha", 1, {})]),
        (["A mocha, please.", "Make that two mochas."], [("Mocha", 2, {})]),
        (["A latte, please.", "Make it a double."], [("Latte", 1, {"espresso-shots": "Double"})]),
    ]  # fmt: skip
    for i, (lines, want) in enumerate(cases):
        (tmp_path / str(i)).mkdir()
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            for line in lines:
                await call.say(line)
            assert [r[:3] for r in await call.order()] == want, lines


async def test_a_yes_that_asks_for_more_does_not_place_the_order(tmp_path: Path) -> None:
    """blind41's caller answered "Anything else, or shall I place the order?" with "Great,
    two iced mochas then.", heard as "Great, to my smokers name.", and the order was placed
    on the "Great" with one Mocha in it. A yes whose next words start with a count or ask
    for more, with a word not understood among them, asks for the drink; a plain yes, "Yes,
    clean play with it." (a phone line's "please place it") and "Yes, too." place it."""
    for i, line in enumerate(["Great, to my smokers name.", "Yeah, two more mockers."]):
        (tmp_path / str(i)).mkdir()
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            await call.say("A mocha, please.")
            _, said = await call.say(line)
            assert said == "Sorry, I didn't catch which drink. Could you say it again?", said
            assert await call.order() == [("Mocha", 1, {}, "open")], line
    for i, line in enumerate(["Yes, please.", "Yes, clean play with it.", "Yes, too."]):
        (tmp_path / f"y{i}").mkdir()
        async with Caller(tmp_path / f"y{i}", ScriptedFallback()) as call:
            await call.say("A mocha, please.")
            await call.say(line)
            assert await call.order() == [("Mocha", 1, {}, "finished")], line


# ------------------------------------------------ blind39's call (read in stop 46, left in 45)


async def test_a_drink_picked_while_correcting_fixes_the_line_never_adds_one(
    tmp_path: Path,
) -> None:
    """blind39's phone caller wanted two mochas. Heard as two Matcha Lattes, the caller said
    "No, that's not right."; to "What would you like to change?" Whisper wrote "Three
    Matches. Plays Actually, just two.", the agent asked "was that three Matcha Lattes or three
    Mochas?", and "Two Matcha Latte" was added as a second line (four in all). A drink picked
    in answer to that question while correcting fixes the lines ordered; outside a
    correction it is added, as before."""
    async with Caller(tmp_path / "fix", ScriptedFallback()) as call:
        await call.say("Two matcha lattes please.")
        await call.say("No, that's not right.")
        _, said = await call.say("Three Matches. Plays Actually, just two.")
        assert said == "Sorry, was that three Matcha Lattes or three Mochas?", said
        calls, said = await call.say("Two Matcha Latte")
        assert [c[0] for c in calls] == ["get_order_details"], calls
        assert said == "That's two Matcha Lattes. Shall I place the order?", said
        assert await call.order() == [("Matcha Latte", 2, {}, "open")]
    async with Caller(tmp_path / "add", ScriptedFallback()) as call:
        _, said = await call.say("Three Matches please.")
        assert said == "Sorry, was that three Matcha Lattes or three Mochas?", said
        await call.say("Two Matcha Latte")
        assert await call.order() == [("Matcha Latte", 2, {}, "open")]


# ------------------------- the train split's wrong calls (read in stop 46; dev and test unread)


async def test_a_drink_s_name_said_of_what_goes_in_another_is_no_second_drink(
    tmp_path: Path,
) -> None:
    """Taskmaster-4 train-split callers (typed): "a latte with two espresso shots" had added
    two Espressos beside the Latte, "a Matcha Latte with extra matcha" two Matcha Lattes,
    "a Chai Latte ... 5 chai pumps" five Chai Lattes, "cocoa powder" a Hot Chocolate, "in a
    Cappuccino cup" a Cappuccino. A drink's name said after another drink with words that
    make it what goes in that drink is none; "a latte and an espresso shot" and a shot of
    espresso said alone are still Espressos."""
    cases = [
        ("Hey, could I please get a latte with two espresso shots?",
         [("Latte", 1, {"espresso-shots": "Double"})]),
        ("I would like a Matcha Latte with extra matcha.", [("Matcha Latte", 1, {})]),
        ("I would like to order a Chai Latte and I want it to have 5 chai pumps.",
         [("Chai Latte", 1, {})]),
        ("Can I please get a Macchiato with Almond Milk, also with extra foam and cocoa powder?",
         [("Macchiato", 1, {"milk-options": "Almond Milk"})]),
        ("I'd like a Macchiato. But could you serve it in in a Cappuccino cup?",
         [("Macchiato", 1, {})]),
        ("Hello, can I get a macchiato with almond milk, with a dash of espresso please.",
         [("Macchiato", 1, {"milk-options": "Almond Milk"})]),
        ("A latte and an espresso shot, please.", [("Latte", 1, {}), ("Espresso", 1, {})]),
        ("A shot of espresso, please.", [("Espresso", 1, {})]),
    ]  # fmt: skip
    for i, (line, want) in enumerate(cases):
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            _, said = await call.say(line)
            if said.startswith("Just to check"):
                await call.say("Yes.")
            assert [r[:3] for r in await call.order()] == want, (line, said)


async def test_idioms_are_not_options_and_more_ways_to_say_yes_place_the_order(
    tmp_path: Path,
) -> None:
    """Train-split callers: "The order is correct, thank you for double checking" had made
    the Lattes double shots, "OK-good to go" and "That's ready to go" had set the order to
    go, and "Aye indeed.", "It's terrific!", "Looks goood", "All clear." and "It's
    accurate." had the order read back again. Each now places the order as it stands."""
    for i, line in enumerate(["The order is correct, thank you for double checking",
                              "OK-good to go", "Yes. That's ready to go.", "Aye indeed.",
                              "It's terrific!", "Looks goood", "All clear.", "It's accurate."]):  # fmt: skip
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            await call.say("Two lattes, please.")
            calls, _ = await call.say(line)
            assert [c[0] for c in calls] == ["finish_order"], (line, calls)
            assert await call.order() == [("Latte", 2, {}, "finished")], line


async def test_one_of_several_said_plain_splits_the_drinks(tmp_path: Path) -> None:
    """ "Can I get two chai lattes, one decaffeinated and one not." had made two decaf Chai
    Lattes and asked for "the other drink"; "one regular", "one not" and "one without" are
    the drink as it comes."""
    cases = [
        ("Can I get two chai lattes, one decaffeinated and one not.",
         [("Chai Latte", 1, {"caffeine": "Decaf"}), ("Chai Latte", 1, {})]),
        ("Can I get two chai lattes, one decaf and one regular.",
         [("Chai Latte", 1, {"caffeine": "Decaf"}), ("Chai Latte", 1, {})]),
        ("Can I get two mochas, one with oat milk and one without.",
         [("Mocha", 1, {"milk-options": "Oat Milk"}), ("Mocha", 1, {})]),
    ]  # fmt: skip
    for i, (line, want) in enumerate(cases):
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            _, said = await call.say(line)
            assert "didn't catch" not in said, said
            assert [r[:3] for r in await call.order()] == want, line


async def test_questions_about_syrups_and_kinds_of_drink_are_answered_not_ordered(
    tmp_path: Path,
) -> None:
    """ "What types of syrup do y'all have?" had read the drinks menu (`show_menu`); "could
    you tell me what espresso drinks you offer?" had added an Espresso; "a Cortado that is
    decaf, has non-fat milk" had heard "has" as "chai" and checked two Chai Lattes."""
    for i, line in enumerate(["What types of syrup do y'all have?", "Which syrup do y'all have?"]):
        async with Caller(tmp_path / f"s{i}", ScriptedFallback()) as call:
            calls, said = await call.say(line)
            assert [c[0] for c in calls] == ["get_addons"], calls
            assert "vanilla sweetener" in said and "Latte" not in said, said
    async with Caller(tmp_path / "kinds", ScriptedFallback()) as call:
        calls, said = await call.say(
            "Hey, do you think you could tell me what espresso drinks you offer?"
        )
        assert "add_order_item" not in [c[0] for c in calls] and await call.order() == []
    async with Caller(tmp_path / "has", ScriptedFallback()) as call:
        _, said = await call.say(
            "Can I get a Cortado that is decaf, has non-fat milk, and has hazelnut sweetener in it?"
        )
        assert "Chai" not in said, said
        assert [r[:3] for r in await call.order()] == [
            ("Cortado", 1, {"caffeine": "Decaf", "milk-options": "Non-fat Milk"})
        ]


# ------------------------------------------------ blind43's calls (read in stop 46, after its run)


async def test_a_drink_heard_among_another_business_s_words_is_checked(tmp_path: Path) -> None:
    """blind43's tailor caller's "Hi, is this the tailor? I need my trousers taken in." came
    through as "Hi, it's Miss Macchiato, I need my trousers taken in.", and a Macchiato was
    added. A heard drink beside another business's words is checked; refused, the caller
    is told what this line does. Typed, "a latte, and can I pay by card?" still adds."""
    async with Caller(tmp_path / "tailor", ScriptedFallback()) as call:
        calls, said = await call.say(
            "Hi, it's Miss Macchiato, I need my trousers taken in.", heard=0.8
        )
        assert said == "Just to check: one Macchiato, right?", said
        _, said = await call.say(
            "No, that's not right. Hi, is this the tailor? I need my trousers taken in.",
            heard=0.8,
        )
        assert "coffee" in said.lower() and await call.order() == [], said
    async with Caller(tmp_path / "typed", ScriptedFallback()) as call:
        await call.say("A latte, and can I pay by card?")
        assert [r[:2] for r in await call.order()] == [("Latte", 1)]


async def test_a_word_that_starts_another_drink_s_name_offers_both(tmp_path: Path) -> None:
    """blind43's "Three Jin Xuan teas, please." came through as "Free Jin Chai Lattes,
    please." twice, and "three Chai Lattes, right?" was asked each time until the caller
    gave up. A word that only ever starts another drink's name ("jin"), right before a
    drink's name, offers both; "hot" and "cold" (options too) do not."""
    async with Caller(tmp_path / "jin", ScriptedFallback()) as call:
        _, said = await call.say("Free Jin Chai Lattes, please.", heard=0.8)
        assert said == "Sorry, was that three Chai Lattes or three Jin Xuans?", said
        await call.say("Three jin xuans.", heard=0.8)
        assert await call.order() == [("Jin Xuan", 3, {}, "open")]
    for i, line in enumerate(["A hot latte please.", "A cold latte please."]):
        async with Caller(tmp_path / str(i), ScriptedFallback()) as call:
            _, said = await call.say(line)
            assert said.startswith("Got it. That's one "), said


async def test_blind44_s_just_two_and_not_right_as_whisper_wrote_them(tmp_path: Path) -> None:
    """blind44's phone caller's "Sorry, just two." over three Macchiatos came through as
    "I'll eat just two." and got "Sorry, I didn't catch that"; its "No, that's not right."
    came through as "No, next hot light." and made the Macchiatos hot. A lead of one word
    before "just two" still sets the number; "next hot light" is "not right", never "hot"."""
    async with Caller(tmp_path / "two", ScriptedFallback()) as call:
        await call.say("Three macchiatos, please.")
        await call.say("I'll eat just two.", heard=0.8)
        assert await call.order() == [("Macchiato", 2, {}, "open")]
    async with Caller(tmp_path / "hot", ScriptedFallback()) as call:
        await call.say("Three macchiatos, please.")
        await call.say("No, next hot light. I like through Macchiato.", heard=0.8)
        assert await call.order() == [("Macchiato", 3, {}, "open")]


async def test_a_drink_not_caught_with_its_add_on_is_asked_for_not_said_to_be_there(
    tmp_path: Path,
) -> None:
    """blind45's "one cortado with caramel sauce and one English Breakfast", said to "What
    would you like to change?", came through as "I like one cotango in caramel sauce and one
    English Breakfast." and got "I have exactly that: one English Breakfast." twice. A slot
    of a list with words not understood and what goes in it is a drink not caught: asked
    for."""
    async with Caller(tmp_path, ScriptedFallback()) as call:
        await call.say("An English Breakfast tea, please.")
        await call.say("No, that's not right.")
        _, said = await call.say(
            "I like one cotango in caramel sauce and one English Breakfast.", heard=0.8
        )
        assert said.endswith("Sorry, I didn't catch the other drink. What was it?"), said
        await call.say("A cortado with caramel sauce.", heard=0.8)
        assert [r[0] for r in await call.order()] == ["English Breakfast", "Cortado"]
