"""The simulated-caller eval (`python -m evals.orders`): goal files are checked field by field
with one-line errors, the caller's decisions follow its goal, the scorer counts exact orders
and ungrounded statements on hand-made transcripts and databases, the shipped goal sets are
what the README says; and, slow, one simulated caller answers the agent's read-back question
and its order is placed in the database."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evals.orders import cli
from evals.orders.caller import SimulatedCaller
from evals.orders.caller_io import AgentEar, CallerAudioInput
from evals.orders.caller_mind import CallerMind, Decision
from evals.orders.goals import GoalError, WantedItem, load_goal, load_goals, parse_goal
from evals.orders.menu_words import drinks_named, heard_order, read_back_matches, say_order
from evals.orders.run import fallback_models
from evals.orders.scoring import (
    OrderLine,
    read_order_lines,
    score_order,
    split_latencies,
    ungrounded_statements,
)
from evals.orders.split import DEFAULT_SEED, GOALS, draw_heldout
from evals.orders.voices import VoiceError, parse_voice, speech_for
from tests.fakes import FakeLLM

GOOD: dict[str, Any] = {
    "id": "iced-latte",
    "voice": "flite:slt",
    "want": [{"item": "latte", "options": {"hot-or-iced": "Iced", "milk-options": "oat milk"}}],
    "lines": ["A latte with oat milk, please.", {"say": "Make it iced.", "gap": 0.4}],
    "answers": [{"when": "shall I place", "order": "match", "say": "Yes, place it."}],
}


def goal(**changes: Any) -> Any:
    spec = copy.deepcopy(GOOD)
    spec.update(changes)
    return parse_goal(spec, "g.yaml")


# ------------------------------------------------------------------ goal files


def test_a_good_goal_is_read_with_the_menus_own_option_names() -> None:
    g = goal()
    assert g.want == (WantedItem("latte", 1, {"hot-or-iced": "Iced", "milk-options": "Oat Milk"}),)
    assert [ln.gap for ln in g.lines] == [0.7, 0.4]
    assert g.rate == "16k" and not g.telephony and g.over_greeting is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "g.yaml: unknown field 'colour'"),
        ({"id": "Bad Id"}, "g.yaml: id: 'Bad Id' must be lowercase"),
        ({"voice": "piper:joe"}, "is the agent's own voice"),
        ({"voice": "flite:bob"}, "flite voices are kal, kal16, awb, rms, slt"),
        ({"voice": "festival:slt"}, "the engine is flite or espeak"),
        ({"rate": "44k"}, "g.yaml: rate: '44k' is not one of: 16k, 8k-mulaw"),
        ({"noise_db": -5}, "g.yaml: noise_db: -5 is outside -80..-20"),
        ({"over_greeting": "soon"}, "over_greeting: must be a number"),
        ({"want": [{"item": "pumpkin-latte"}]}, "want[0].item: 'pumpkin-latte' is not a menu_item_id"),
        ({"want": [{"item": "earl-grey", "options": {"milk-options": "Oat Milk"}}]},
         "'milk-options' is not an attribute of earl-grey (it has: none)"),
        ({"want": [{"item": "latte", "options": {"milk-options": "Goat Milk"}}]},
         "want[0].options.milk-options: 'Goat Milk' is not one of: Whole Milk"),
        ({"want": [{"item": "chai-latte", "addons": ["caramel-sauce"]}]},
         "'caramel-sauce' is not an add-on of chai-latte"),
        ({"want": [{"item": "latte", "quantity": 0}]}, "want[0].quantity: 0 is outside 1..20"),
        ({"want": [{"item": "latte", "size": "large"}]}, "want[0]: unknown field 'size'"),
        ({"want": "latte"}, "g.yaml: want: must be a list"),
        ({"lines": []}, "g.yaml: lines: must not be empty"),
        ({"lines": [{"say": "Hi.", "gap": 9}]}, "lines[0].gap: 9 is outside -1.5..3"),
        ({"lines": [""]}, "lines[0]: must be non-empty text"),
        ({"answers": [{"when": "(", "say": "Yes."}]}, "answers[0].when: not a regular expression"),
        ({"answers": [{"when": "right", "say": "Yes.", "order": "maybe"}]},
         "answers[0].order: 'maybe' is not one of: any, match, mismatch"),
        ({"answers": [{"say": "Yes."}]}, "answers[0]: missing field 'when'"),
        ({"max_repairs": 9}, "max_repairs: 9 is outside 0..5"),
    ],
)  # fmt: skip
def test_a_bad_field_is_named_in_one_line(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(GoalError) as e:
        goal(**changes)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_fields_and_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    spec = copy.deepcopy(GOOD)
    del spec["want"]
    with pytest.raises(GoalError, match="missing field 'want'"):
        parse_goal(spec, "g.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nlines: [unclosed\n")
    with pytest.raises(GoalError, match=r"bad.yaml: not valid YAML \("):
        load_goal(bad)
    (tmp_path / "goal.txt").write_text("{}")
    with pytest.raises(GoalError, match=r"a goal file ends in \.yaml, \.yml, \.json"):
        load_goal(tmp_path / "goal.txt")
    with pytest.raises(GoalError, match="no such file or folder"):
        load_goals([str(tmp_path / "missing")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GoalError, match="no goal files"):
        load_goals([str(empty)])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(GOOD))
    b.write_text(json.dumps(GOOD))
    with pytest.raises(GoalError, match="id 'iced-latte' is already used by"):
        load_goals([str(a), str(b)])


def test_the_cli_says_one_line_and_exits_2_on_a_bad_goal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**GOOD, "want": [{"item": "latte", "quantity": -1}]}))
    assert cli.main([str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {bad}: want[0].quantity: -1 is outside 1..20"
    assert cli.main([str(tmp_path / "a.json"), "--voice", "espeak:EN US"]) == 2
    assert not (tmp_path / "out").exists()


def test_voices_are_parsed_and_spoken_at_the_calls_rate() -> None:
    assert str(parse_voice("slt")) == "flite:slt"
    assert str(parse_voice("espeak:en-us+m3@170")) == "espeak:en-us+m3@170"
    with pytest.raises(VoiceError, match="speed 'fast' is not a number"):
        parse_voice("flite:slt@fast")
    rng = np.random.default_rng(0)
    for spec, rate in (("flite:kal", 16000), ("espeak:en+f2", 8000)):
        pcm = speech_for("A mocha, please.", parse_voice(spec), rate, noise_db=-50, rng=rng)
        assert pcm.dtype == np.int16 and 0.5 < len(pcm) / rate < 3.0
        assert 1000 < np.abs(pcm.astype(np.int32)).max() < 32767


def test_an_espeak_voice_or_variant_the_machine_lacks_is_refused_not_spoken_as_the_default() -> (
    None
):
    """espeak-ng speaks an unknown language or variant with its default voice and exits 0:
    blind12's `en+andy` caller (the file is `!v/Andy`) spoke as plain `en` until stop 40."""
    assert str(parse_voice("espeak:en-us+Alex")) == "espeak:en-us+Alex"
    with pytest.raises(VoiceError, match="no variant 'andy'.*case-sensitive"):
        parse_voice("espeak:en+andy")
    with pytest.raises(VoiceError, match="no language 'en-zz'"):
        parse_voice("espeak:en-zz+m3")
    plain = speech_for(
        "A mocha.", parse_voice("espeak:en"), 16000, noise_db=None, rng=np.random.default_rng(0)
    )
    andy = speech_for(
        "A mocha.",
        parse_voice("espeak:en+Andy"),
        16000,
        noise_db=None,
        rng=np.random.default_rng(0),
    )
    assert len(plain) != len(andy) or not np.array_equal(plain, andy)


# ------------------------------------------------------------------ the caller's ear and mind


def test_the_ear_reads_drinks_quantities_and_options() -> None:
    heard = heard_order("That's two iced lattes with oat milk and honey and one chai latte.")
    assert [(h.item, h.quantity, h.options, h.addons) for h in heard] == [
        ("latte", 2, {"hot-or-iced": "Iced", "milk-options": "Oat Milk"}, {"honey"}),
        ("chai-latte", 1, {}, set()),
    ]
    assert [d for d, _, _ in drinks_named("one hot chocolate")] == ["hot-chocolate"]
    assert heard_order("one hot chocolate")[0].options == {}
    want = (WantedItem("latte", 2, {"hot-or-iced": "Iced"}), WantedItem("mocha"))
    assert read_back_matches(f"That's {say_order(want)}. Shall I place the order?", want)
    assert not read_back_matches("That's two iced lattes. Shall I place the order?", want)
    assert not read_back_matches("That's two lattes and one mocha.", want)


def test_the_caller_follows_its_goal() -> None:
    mind = CallerMind(goal())
    greeting = "Hi, thanks for calling the coffee shop. What can I get started for you?"
    first = mind.decide(greeting)
    assert first is not None and (first.kind, first.text) == (
        "request",
        "A latte with oat milk, please.",
    )
    assert mind.decide(greeting) == first  # deciding changes nothing; speaking does
    mind.commit(first)
    yes = mind.decide("Just to check: one Latte, right?")
    assert yes is not None and (yes.kind, yes.text) == ("answer", "Yes.")
    wrong = mind.decide("Just to check: one Mocha, right?")
    assert wrong is not None and wrong.kind == "repair"
    assert wrong.text == "No, that's not right. A latte with oat milk, please."
    nxt = mind.decide("Got it. That's one latte with oat milk. Anything else?")
    assert nxt is not None and (nxt.kind, nxt.text) == ("request", "Make it iced.")
    mind.commit(nxt)
    place = mind.decide("That's one iced latte with oat milk. Shall I place the order?")
    assert place is not None and (place.kind, place.text) == ("answer", "Yes, place it.")
    off = mind.decide("That's one latte with almond milk. Shall I place the order?")
    assert off is not None and off.kind == "repair"
    assert off.text.endswith("I'd like one iced latte with oat milk.")
    mind.hear("Your order is placed. Anything else?")
    bye = mind.decide("Your order is placed. Anything else?")
    assert bye is not None and bye.kind == "goodbye" and mind.heard_placed
    mind.commit(bye)
    assert mind.finished and mind.decide("Goodbye!") is None


def test_a_last_line_that_says_goodbye_is_the_caller_leaving() -> None:
    """blind12's animal-clinic caller ended its last line with "Bye." and the agent let it
    go; the eval counted a premature hang-up, as the caller still had its own goodbye to say.
    A last line ending in a farewell is the caller's goodbye; an earlier one is not."""
    mind = CallerMind(goal(want=[], lines=["Is this the animal clinic?", "Oh, my mistake. Bye."]))
    first = mind.first_line()
    mind.commit(first)
    assert not mind.finished
    last = mind.decide("Sorry, this is the coffee shop's ordering line. Would you like to order?")
    assert last is not None and (last.kind, last.text) == ("request", "Oh, my mistake. Bye.")
    mind.commit(last)
    assert mind.finished
    early = CallerMind(goal(lines=["Hi, bye.", "A latte with oat milk, please."]))
    early.commit(early.first_line())
    assert not early.finished


def test_the_caller_names_its_option_when_offered_a_choice() -> None:
    mind = CallerMind(goal())
    mind.commit(mind.first_line())
    for question in (
        "Sorry, was that one Latte with oat milk, or with no milk?",
        "Which milk would you like in the Latte: whole milk, oat milk or almond milk?",
    ):
        d = mind.decide(question)
        assert d is not None and (d.kind, d.text) == ("answer", "Oat Milk, please."), question
    assert "Oat Milk, please." in mind.possible_lines()  # synthesised before the call
    # a choice that does not hold the caller's option is not answered with one
    d = mind.decide("Sorry, was that one Latte with almond milk, or with no milk?")
    assert d is not None and d.kind != "answer"


def test_a_read_back_ending_anything_else_or_place_it_is_no_choice_of_options() -> None:
    want = (WantedItem("mocha", 1, {"hot-or-iced": "Hot"}),
            WantedItem("mocha", 1, {"hot-or-iced": "Iced"}))  # fmt: skip
    mind = CallerMind(dataclasses.replace(goal(), want=want))
    mind.commit(mind.first_line())
    d = mind.decide(
        "Got it. That's one iced Mocha and one hot Mocha. Anything else, or shall I place the order?"
    )
    assert d is not None and d.text != "Hot, please."


def test_the_caller_names_its_number_of_shots_when_asked_which() -> None:
    want = (WantedItem("espresso", 1, {"espresso-shots": "Double"}),)
    mind = CallerMind(dataclasses.replace(goal(), want=want))
    mind.commit(mind.first_line())
    d = mind.decide(
        "Which espresso shots would you like in the Espresso: a single shot, a double shot, "
        "a triple shot or a quadruple shot?"
    )
    assert d is not None and (d.kind, d.text) == ("answer", "Double, please.")


def test_the_caller_names_its_drink_when_offered_two() -> None:
    mind = CallerMind(dataclasses.replace(goal(), want=(WantedItem("mocha", 2),)))
    mind.commit(mind.first_line())
    d = mind.decide("Sorry, was that two Matcha Lattes or two Mochas?")
    assert d is not None and (d.kind, d.text) == ("answer", "Two mochas, please.")
    assert "Two mochas, please." in mind.possible_lines()  # synthesised before the call
    # neither drink is the caller's, or a read-back naming two drinks: no drink choice
    assert mind.choose_drink("Sorry, was that a Latte or a Cortado?") is None
    assert (
        mind.choose_drink("That's two Mochas and a Latte. Anything else, or shall I place it?")
        is None
    )


def test_an_answer_rule_for_the_whole_order_waits_for_the_caller_s_last_request() -> None:
    """`order: match` is the whole order: "No, that's it." is not said to a read-back of
    half of it while a request is still to come (the caller says that request)."""
    mind = CallerMind(
        goal(
            want=[{"item": "cappuccino", "options": {"caffeine": "Decaf"}}],
            lines=[
                "I'd like a cappuccino.",
                {"say": "Oh, and make that decaf please.", "gap": 0.4},
            ],
            answers=[{"when": "anything else", "order": "match", "say": "No, that's it."}],
        )
    )
    mind.commit(mind.first_line())
    text = "Got it. That's one Cappuccino. Anything else, or shall I place the order?"
    d = mind.decide(text)
    assert d is not None and (d.kind, d.text) == ("request", "Oh, and make that decaf please.")
    mind.commit(d)
    d = mind.decide("Okay. That's one decaf Cappuccino. Anything else, or shall I place the order?")
    assert d is not None and (d.kind, d.text) == ("answer", "No, that's it.")


def test_a_drink_described_is_offered_not_read_back_to_the_caller_s_ear() -> None:
    """ "The Cortado is espresso and milk": the Espresso is what it is made of."""
    mind = CallerMind(
        goal(
            want=[{"item": "cortado"}],
            lines=["Is the cortado strong?", {"say": "Okay, one cortado please.", "gap": 0.7}],
        )
    )
    mind.commit(mind.first_line())
    d = mind.decide("The Cortado is espresso and milk and extra foam. Would you like one?")
    assert d is not None and (d.kind, d.text) == ("request", "Okay, one cortado please.")


def _offer_is_not_an_order(item: str, lines: list[str], offer: str, wrong: str) -> None:
    """After its first line the caller hears `offer`, which names drinks without claiming
    any order: it says its next line; a read-back of `wrong`, a drink it never asked for, is
    still repaired."""
    mind = CallerMind(goal(want=[{"item": item}], lines=lines))
    mind.commit(mind.first_line())
    d = mind.decide(offer)
    assert d is not None and (d.kind, d.text) == ("request", lines[1])
    d = mind.decide(f"Got it. That's one {wrong}. Anything else?")
    assert d is not None and d.kind == "repair"


def test_a_menu_listing_is_not_an_order_to_the_caller_s_ear() -> None:
    """ "We have tea like English Breakfast, Wild Strawberry, ..." answers "what teas do you
    have?": the caller says its next request, it does not repair an order never claimed."""
    _offer_is_not_an_order(
        "english-breakfast",
        ["What kind of teas do you have?", "I'll take the English Breakfast, please."],
        "We have tea like English Breakfast, Wild Strawberry, Jin Xuan and Peppermint Rose. "
        "What would you like?",
        wrong="Jin Xuan",
    )


@pytest.mark.parametrize(
    "recommendation",
    [
        "If you'd rather skip coffee, try our Hot Chocolate, Chai Latte, Matcha Latte and "
        "Cloud and Mist. Would you like one of those?",
        "For something sweet, our Mocha, Hot Chocolate and Chai Latte are popular. "
        "Would you like one of those?",
        "Our most popular drinks are the Latte, Cappuccino and Mocha. Would you like one?",
    ],
)
def test_a_recommendation_is_not_an_order_to_the_caller_s_ear(recommendation: str) -> None:
    """The agent's answer to "what do you recommend?" names drinks the caller never asked
    for: the caller says its next request (blind8's caller repeated its question three
    times instead)."""
    _offer_is_not_an_order(
        "hot-chocolate",
        ["What do you recommend?", "I'll have a hot chocolate then."],
        recommendation,
        wrong="Chai Latte",
    )


def test_a_caller_whose_drink_was_not_caught_names_it_again_when_the_menu_is_listed() -> None:
    """ "Sorry, I still didn't catch it. We have coffee like Mocha, ... Which would you
    like?" after every request was made: the caller says its order again, never "Yes, please
    place it." (blind8's caller did, twice, to an order that was empty)."""
    mind = CallerMind(goal(want=[{"item": "cortado"}], lines=["Okay, a cortado then."]))
    mind.commit(mind.first_line())
    d = mind.decide(
        "Sorry, I still didn't catch it. We have coffee like Mocha, Cappuccino, Latte and "
        "Cortado and tea like English Breakfast and Jin Xuan. Which would you like?"
    )
    assert d is not None and (d.kind, d.text) == (
        "repair",
        "No, that's not right. I'd like one cortado.",
    )


def test_the_caller_names_the_drink_the_agent_did_not_catch() -> None:
    mind = CallerMind(
        goal(
            want=[{"item": "earl-grey"}, {"item": "steamer"}],
            lines=["I'll take an Earl Grey and a steamer."],
        )
    )
    mind.commit(mind.first_line())
    d = mind.decide(
        "Got it. That's one Steamer. Sorry, I didn't catch the other drink. What was it?"
    )
    assert d is not None and (d.kind, d.text) == ("answer", "One earl grey, please.")
    assert d.text in mind.possible_lines()  # synthesised before the call


def test_an_off_topic_caller_says_goodbye_after_the_answer() -> None:
    mind = CallerMind(goal(want=[], lines=["Is this the pharmacy?"], answers=[]))
    mind.commit(mind.first_line())
    d = mind.decide("Sorry, this is a coffee shop. I can take a coffee order.")
    assert d is not None and d.kind == "goodbye"


async def test_the_microphone_plays_a_line_then_noise() -> None:
    mic = CallerAudioInput(16000, noise_db=-60, rng=np.random.default_rng(1))
    done = mic.say(np.full(800, 8000, np.int16), "hi", "request")  # 50 ms
    frames = [await mic.__anext__() for _ in range(5)]
    samples = np.concatenate([np.frombuffer(f.data, np.int16) for f in frames])
    assert done.done() and (await done).end is not None
    assert np.all(samples[:800] == 8000)
    noise_rms = float(np.sqrt(np.mean(samples[800:].astype(np.float64) ** 2)))
    assert 25 < noise_rms < 42  # -60 dBFS of line noise between lines (33 RMS), not silence
    mic.close()


async def test_a_hang_up_mid_line_does_not_hang_the_caller() -> None:
    mic = CallerAudioInput(16000, noise_db=None, rng=np.random.default_rng(1))
    closed = asyncio.Event()
    text = "A latte with oat milk, please."
    caller = SimulatedCaller(
        CallerMind(goal()), AgentEar(), mic, {text: np.ones(16000, np.int16)},
        agent_state=lambda: "listening", closed=closed,
    )  # fmt: skip
    asyncio.get_running_loop().call_later(0.1, closed.set)  # nobody reads the mic any more
    started = time.monotonic()
    await asyncio.wait_for(caller.speak(Decision(text, 0.0, "request")), 3.0)
    assert time.monotonic() - started < 1.0
    assert caller.mind.next_line == 1


# ------------------------------------------------------------------ scoring


def rows(*items: tuple[str, str] | dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for it in items:
        if isinstance(it, tuple):
            out.append({"role": it[0], "text": it[1]})
        else:
            out.append({"role": "tool", **it})
    return out


def call(name: str, args: dict[str, Any], cid: str) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": json.dumps(args), "call_id": cid}


def output(name: str, result: Any, cid: str, error: bool = False) -> dict[str, Any]:
    text = result if isinstance(result, str) else json.dumps(result)
    return {"type": "function_call_output", "name": name, "text": text, "call_id": cid,
            "is_error": error}  # fmt: skip


DETAILS = {"menu_items": [{"menu_item_id": "latte", "menu_item_name": "Latte", "quantity": 1,
           "attributes": [{"attribute_id": "milk-options", "option": "Oat Milk"}]}]}  # fmt: skip


def test_statements_about_the_order_need_a_tool_result_of_their_turn() -> None:
    transcript = rows(
        ("assistant", "Hi, thanks for calling the coffee shop. What can I get started for you?"),
        ("user", "A latte with oat milk."),
        call("add_order_item", {"menu_item_id": "latte"}, "c1"),
        output("add_order_item", {"order_id": "1", "order_item_id": "2"}, "c1"),
        call("get_order_details", {"order_id": "1"}, "c2"),
        output("get_order_details", DETAILS, "c2"),
        ("assistant", "Got it. That's one latte with oat milk. Anything else?"),
        ("user", "Make the milk almond."),
        # the fallback model, no tool: both claims are about an order the database lacks
        ("assistant", "Got it. That's one latte with almond milk. Your order is placed."),
        ("user", "And a mocha."),
        call("add_order_item", {"menu_item_id": "mocha"}, "c3"),
        output("add_order_item", "Sorry, that failed.", "c3", error=True),
        ("assistant", "Added a mocha."),
        ("user", "Place it."),
        call("finish_order", {"order_id": "1"}, "c4"),
        output("finish_order", {"order_id": "1", "status": "finished"}, "c4"),
        ("assistant", "Your order is placed and will be ready at the bar in a few minutes."),
        ("user", "Take the latte off."),
        call("update_order_item", {"order_item_id": "2", "remove": True}, "c5"),
        output("update_order_item", {"order_item_id": "2", "removed": True}, "c5"),
        ("assistant", "Okay, I took off the latte."),  # line 2 is the latte added above
        ("assistant", "I took off the mocha."),  # no line of this turn is a mocha
        ("user", "A cortado."),
        ("assistant", "Just to check: one cortado with oat milk, right?"),
        ("user", "What is a cortado?"),
        ("assistant", "A cortado is espresso with a little warm milk. Would you like one?"),
    )
    found = ungrounded_statements(transcript)
    assert [(u.text, u.why.split(";")[0]) for u in found] == [
        ("That's one latte with almond milk.", "names latte"),
        ("Your order is placed.", "says the order is placed"),
        ("Added a mocha.", "names mocha"),
        ("I took off the mocha.", "names mocha"),
    ]


def test_a_drink_said_not_in_the_order_rests_on_this_turn_s_read_back() -> None:
    """blind32's "Take the Cortado off, please." over one Cappuccino got "There's no Cortado
    in your order." after a fresh `get_order_details`: true, and grounded by that result
    (stop 44's run W first counted it ungrounded). Said of a drink the read-back holds, or
    with no read-back in the turn, it is not."""

    def turn(details: dict[str, Any] | None, said: str) -> list[dict[str, Any]]:
        tools = [call("get_order_details", {"order_id": "1"}, "c1"),
                 output("get_order_details", details, "c1")] if details else []  # fmt: skip
        return rows(("user", "Take the cortado off."), *tools, ("assistant", said))

    assert ungrounded_statements(turn(DETAILS, "There's no Cortado in your order.")) == []
    (found,) = ungrounded_statements(turn(DETAILS, "There's no Latte in your order."))
    assert "this turn's read-back has it" in found.why
    (found,) = ungrounded_statements(turn(None, "There's no Cortado in your order."))
    assert "did not read the order" in found.why


def test_an_option_the_tools_never_gave_is_ungrounded() -> None:
    transcript = rows(
        ("user", "What's in my order?"),
        call("get_order_details", {"order_id": "1"}, "c1"),
        output("get_order_details", DETAILS, "c1"),
        ("assistant", "You have one iced latte with almond milk."),
    )
    found = ungrounded_statements(transcript)
    assert len(found) == 1 and "states" in found[0].why


def test_the_exact_order_is_the_placed_one() -> None:
    want = (WantedItem("latte", 2, {"milk-options": "Oat Milk"}), WantedItem("mocha"))
    oat = {"milk-options": "Oat Milk"}
    placed = [OrderLine("latte", 1, oat, (), "finished"), OrderLine("mocha", 1, {}, (), "finished"),
              OrderLine("latte", 1, oat, (), "finished")]  # fmt: skip
    assert score_order(placed, want).exact  # two lines of one latte are two lattes
    assert not score_order(placed[:2], want).exact
    assert not score_order([*placed, OrderLine("mocha", 1, {}, (), "open")], want).exact
    unplaced = [OrderLine(ln.item, ln.quantity, ln.options, ln.addons, "open") for ln in placed]
    assert not score_order(unplaced, want).exact
    wrong_milk = [OrderLine("latte", 2, {"milk-options": "Almond Milk"}, (), "finished"),
                  placed[1]]  # fmt: skip
    assert not score_order(wrong_milk, want).exact
    assert score_order([], ()).exact and not score_order(placed, ()).exact


async def test_the_order_lines_are_read_from_the_store(tmp_path: Path) -> None:
    from tools.coffee import OrderStore

    db = tmp_path / "orders.sqlite"
    async with OrderStore(db, owner="call-a") as store:
        added = await store.add_order_item(
            menu_item_id="latte", quantity=2,
            attributes=[{"attribute_id": "milk-options", "option": "Oat Milk"}],
            addons=[{"addon_id": "honey", "option": "ADD"}],
        )  # fmt: skip
        await store.finish_order(added["order_id"])
    async with OrderStore(db, owner="call-b") as other:
        await other.add_order_item(menu_item_id="mocha")
    assert read_order_lines(db, "call-a") == [
        OrderLine("latte", 2, {"milk-options": "Oat Milk"}, ("honey",), "finished")
    ]
    assert [ln.status for ln in read_order_lines(db, "call-b")] == ["open"]


def test_model_answered_turns_are_told_apart_from_policy_turns() -> None:
    t0 = 1000.0
    turns = [
        {"user_text": "a latte", "user_end": 5.0, "agent_start": 6.0, "latency": 1.0},
        {"user_text": "how are you", "user_end": 10.0, "agent_start": 13.0, "latency": 3.0},
    ]
    split = split_latencies(turns, [(t0 + 10.5, t0 + 12.5)], t0)
    assert [(t.latency, t.model) for t in split] == [(1.0, False), (3.0, True)]
    by_ttft = split_latencies([{**turns[1], "llm_ttft": 0.9}, {**turns[0], "llm_ttft": 0.001}],
                              [], t0)  # fmt: skip
    assert [t.model for t in by_ttft] == [True, False]


def test_the_fallback_model_is_found_inside_the_guided_brain_and_a_chain() -> None:
    from livekit.agents import llm

    from agents.brain.guided import GuidedLLM

    model, other = FakeLLM(), FakeLLM()
    guided = GuidedLLM(model)
    assert fallback_models(guided) == [model]
    chain = llm.FallbackAdapter([FakeLLM(), GuidedLLM(other)])
    assert fallback_models(chain) == [other]
    assert fallback_models(model) == []


# ------------------------------------------------------------------ the shipped goal sets

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("doc", "section"),
    [("README.md", "## Simulated callers"), ("docs/orders-eval.md", "## Goal files")],
)
def test_the_documented_goal_file_is_a_valid_goal(doc: str, section: str, tmp_path: Path) -> None:
    text = (ROOT / doc).read_text()
    block = text[text.index(section) :].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "documented.yaml").write_text(block)
    g = load_goal(tmp_path / "documented.yaml")
    assert g.want and g.lines and g.answers and g.over_greeting is not None


def test_the_shipped_goals_cover_the_cases_and_the_split_is_the_seeded_draw() -> None:
    tuned = load_goals([str(GOALS / "tuned")])
    heldout = load_goals([str(GOALS / "heldout")])
    everything = tuned + heldout
    assert len(everything) >= 16 and len(heldout) >= 6
    assert len({g.voice.split("@")[0] for g in everything}) >= 4
    assert any(not g.want for g in everything)  # an off-topic caller
    assert any(g.over_greeting is not None for g in everything)
    assert any(g.telephony for g in everything)
    names = [g.path.name for g in everything if g.path is not None]
    assert [g.path.name for g in heldout if g.path] == draw_heldout(names, DEFAULT_SEED)


def test_the_blind_callers_are_their_own_set_in_voices_none_of_the_others_use() -> None:
    """`goals/blind/`: written before any call ran on them, never tuned on; at least five
    of their voices (with variant or speed) appear in no other set."""
    blind = load_goals([str(GOALS / "blind")])
    others = load_goals([str(GOALS / d) for d in ("tuned", "heldout", "added")])
    assert len(blind) >= 8 and not {g.id for g in blind} & {g.id for g in others}
    assert any(g.telephony for g in blind) and any(not g.want for g in blind)
    assert any(g.over_greeting is not None for g in blind)
    other_voices = {g.voice for g in others}
    assert sum(g.voice not in other_voices for g in blind) >= 5


def test_the_second_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """`goals/blind2/`: written in stop 29 and committed before any call ran on them; every
    voice setting in it is new, and it is never tuned on."""
    blind2 = load_goals([str(GOALS / "blind2")])
    others = load_goals([str(GOALS / d) for d in ("tuned", "heldout", "added", "blind")])
    assert len(blind2) >= 8 and not {g.id for g in blind2} & {g.id for g in others}
    assert any(g.telephony for g in blind2) and any(not g.want for g in blind2)
    assert any(g.over_greeting is not None for g in blind2)
    assert not {g.voice for g in blind2} & {g.voice for g in others}


def test_the_third_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """`goals/blind3/`: written in stop 30 and committed before any call ran on them, before
    blind2's failed calls were read; every voice setting in it is new, and it is never tuned on."""
    blind3 = load_goals([str(GOALS / "blind3")])
    others = load_goals([str(GOALS / d) for d in ("tuned", "heldout", "added", "blind", "blind2")])
    assert len(blind3) >= 10 and not {g.id for g in blind3} & {g.id for g in others}
    assert sum(g.telephony for g in blind3) >= 2 and any(not g.want for g in blind3)
    assert any(g.over_greeting is not None for g in blind3)
    assert not {g.voice for g in blind3} & {g.voice for g in others}


EARLIER_SETS = ("tuned", "heldout", "added", "blind", "blind2", "blind3")
"""The goal sets before blind4, in the order they were written."""


def _assert_new_blind_set(name: str, phone_calls: int) -> None:
    """`goals/<name>/`: ten or more callers no earlier set has, in voice settings none of the
    earlier sets uses, with `phone_calls` or more phone calls, a caller who orders nothing
    and one who speaks over the greeting."""
    earlier = [*EARLIER_SETS, *(f"blind{k}" for k in range(4, int(name.removeprefix("blind"))))]
    blind = load_goals([str(GOALS / name)])
    others = load_goals([str(GOALS / d) for d in earlier])
    assert len(blind) >= 10 and not {g.id for g in blind} & {g.id for g in others}
    assert sum(g.telephony for g in blind) >= phone_calls and any(not g.want for g in blind)
    assert any(g.over_greeting is not None for g in blind)
    assert not {g.voice for g in blind} & {g.voice for g in others}


def test_the_fourth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """`goals/blind4/`: written at the start of stop 31 and committed before any call ran on them
    and before blind3's failed call was read; every voice setting in it is new, never tuned on."""
    _assert_new_blind_set("blind4", phone_calls=2)


def test_the_fifth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind5 was written and committed on 2026-12-06 before any call of that session ran,
    and before blind4's calls were read; every voice setting in it is new, never tuned on."""
    _assert_new_blind_set("blind5", phone_calls=3)


def test_the_sixth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind6 was written and committed on 2026-12-06 (stop 33) before any call of that session
    ran, and before blind4's and blind5's failed calls were read; every voice setting is new."""
    _assert_new_blind_set("blind6", phone_calls=3)


def test_the_seventh_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind7 was written and committed on 2026-12-06 (stop 34) before any call of that session
    ran, and before blind6's transcripts were read; every voice setting is new."""
    _assert_new_blind_set("blind7", phone_calls=3)


def test_the_eighth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind8 was written and committed on 2026-12-06 (stop 34) after blind7's first run and
    before blind7's transcripts were read; every voice setting is new."""
    _assert_new_blind_set("blind8", phone_calls=3)


def test_the_ninth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind9 was written and committed on 2026-12-06 (stop 35) before any call of that session
    ran, and before blind8's transcripts were read; every voice setting is new."""
    _assert_new_blind_set("blind9", phone_calls=3)


def test_the_tenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind10 was written and committed on 2026-12-06 (stop 36) before any call of that session
    ran, and before blind9's transcripts were read; every voice setting is new."""
    _assert_new_blind_set("blind10", phone_calls=3)


def test_the_eleventh_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind11 was written and committed on 2026-12-06 (stop 37) before any call of that session
    ran, and before blind10's transcripts were read; every voice setting is new."""
    _assert_new_blind_set("blind11", phone_calls=3)


def test_the_twelfth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind12 was written and committed on 2026-12-06 (stop 38) before any call of that session
    ran, and before blind11's transcripts were read; its voices are espeak-ng's named variants,
    which no earlier set uses."""
    _assert_new_blind_set("blind12", phone_calls=3)


def test_the_thirteenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind13 was written and committed on 2026-12-07 (stop 39) before any call of that session
    ran; its voices are espeak-ng variants no earlier set uses (adam, anika, caleb, david,
    grandma, shelby, victor, zac, benjamin, aunty, m8)."""
    _assert_new_blind_set("blind13", phone_calls=3)


def test_the_fourteenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind14 was written and committed on 2026-12-07 (stop 39) while blind13's last run went,
    before any call of it ran; its voices are espeak-ng variants no earlier set uses (boris,
    ed, grandpa, gustave, iven, michel, norbert, pablo, rob, steph2, marcelo)."""
    _assert_new_blind_set("blind14", phone_calls=3)


def test_the_fifteenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind15 was written and committed on 2026-12-07 (stop 40) before any call of that session
    ran; its voices are espeak-ng's capitalised variants, which the voice check of the same
    commit made usable (Alex, Alicia, Andrea, Annie, Denis, Hugo, Lee, Michael, Mike) and
    antonio and steph3."""
    _assert_new_blind_set("blind15", phone_calls=3)


def test_the_sixteenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind16 was written and committed on 2026-12-07 (stop 40) after blind15's second run
    and before any of blind15's calls was read; for the next session to run held out. Its
    voices are espeak-ng variants no earlier set uses (Diogo, Gene, Marco, Henrique, Jacky,
    Mario, edward2, Nguyen, pedro, miguel, sandro)."""
    _assert_new_blind_set("blind16", phone_calls=3)


def test_the_seventeenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind17 was written and committed on 2026-12-07 (stop 41) while blind16's first run was
    under way and before any of blind16's calls was read; for the next session to run held
    out. Its voices are espeak-ng variants no earlier set uses (Gene2, iven2, iven3, iven4,
    klatt, klatt2, klatt3, Storm, Tweaky, RicishayMax, AnxiousAndy)."""
    _assert_new_blind_set("blind17", phone_calls=3)


def test_the_eighteenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind18 was written and committed on 2026-12-07 (stop 41) after blind17's first run
    and before any of blind17's calls was read, and first run held out in stop 41 (run I),
    after blind16's and blind17's fixes and before any of its calls was read. Its
    voice settings are new: espeak-ng's klatt4-6, RicishayMax2-3, Alicia in en-us-nyc, Annie
    in en-gb-scotland, m5 in en-029, and flite's kal, kal16 and awb at speeds no set used."""
    _assert_new_blind_set("blind18", phone_calls=3)


def test_the_nineteenth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind19 was written and committed on 2026-12-07 (stop 41) before blind18's first run
    and before any blind18 call was read, and first run held out at the start of stop 42
    (run J), before any of its calls was read. Its voice
    settings are new: espeak-ng variants at speeds no set used (m3, f5, f3, f2, m7, m6),
    croak and kaukovalta, and flite's rms, slt and kal16 at new speeds."""
    _assert_new_blind_set("blind19", phone_calls=3)


def test_the_twentieth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind20 was written and committed on 2026-12-07 (stop 42) while blind19's first run was
    under way and before any of blind19's calls was read; held out. Its voices are espeak-ng
    variants no earlier set uses (robosoft to robosoft7, UniRobot, anikaRobot, announcer,
    fast)."""
    _assert_new_blind_set("blind20", phone_calls=3)


def test_the_twenty_first_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind21 was written and committed on 2026-12-07 (stop 42) after blind20's first run
    and before any call of it ran; held out. Its voice settings are new: espeak-ng's
    robosoft8 and Demonic, f4, m4, m2 and f1 at speeds no set used, and flite's kal, awb,
    slt, kal16 and rms at new speeds."""
    _assert_new_blind_set("blind21", phone_calls=3)


def test_the_twenty_second_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind22 was written and committed on 2026-12-07 (stop 42) after blind21's first run
    and after its two failed calls were read (both hearing: nothing in the code changed for
    them), before any blind22 call ran; held out. Its voice settings are new: espeak-ng's
    whisperf, and m1, m8, f4, m5, f1 and m6 at speeds no set used, and flite's awb, slt,
    kal16 and rms at new speeds."""
    _assert_new_blind_set("blind22", phone_calls=3)


def test_the_twenty_third_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind23 was written and committed on 2026-12-07 (stop 42) while blind22's first run
    was under way and before any of blind22's calls was read; for the next session to run
    held out. Its voice settings are new: espeak-ng's whisper, and m1, f2, m7, f5 and m3 at
    speeds no set used, and flite's kal, awb, slt and rms at new speeds."""
    _assert_new_blind_set("blind23", phone_calls=3)


def test_the_twenty_fourth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind24 was written and committed on 2026-12-07 (stop 43) while blind23's first run
    was under way and before any of blind23's calls was read; for a later run held out. Its
    voice settings are new: flite's kal, slt, awb, rms and kal16 at speeds no set used
    (0.6-0.8), and espeak-ng's f3, m8, f1, m7 and m1 at new speeds; three by phone, a caller
    for another shop, one over the greeting."""
    _assert_new_blind_set("blind24", phone_calls=3)


def test_the_twenty_fifth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind25 was written and committed on 2026-12-07 (stop 43) while blind24's first run
    was under way and before any of blind24's calls was read; for a later run held out. Its
    voice settings are new: flite's kal, rms, kal16, awb and slt at 0.6-0.75 and 1.4, and
    espeak-ng's f4, f3, f2, m8 and f4 in other accents at new speeds; three by phone, a
    caller for a bank, one over the greeting."""
    _assert_new_blind_set("blind25", phone_calls=3)


def test_the_twenty_sixth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind26 was written and committed on 2026-12-07 (stop 43) after blind25's first run
    and after two of its calls had been read (both hearing or a drink not caught; one fix),
    before any blind26 call ran. Its voice settings are new: flite's kal, slt, kal16, awb and
    rms at 0.55 and 1.35-1.45, and espeak-ng's m6, f1 and m5 at new speeds and accents;
    three by phone, a car-hire caller, one over the greeting."""
    _assert_new_blind_set("blind26", phone_calls=3)


def test_the_twenty_seventh_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind27 was written and committed on 2026-12-07 (stop 43) while blind26's first run
    was under way and before any of blind26's calls was read. Its voice settings are new:
    flite's kal, kal16, slt and rms at 1.4-1.45 and awb at 0.55, and espeak-ng's f3, f1, m2
    and f5 at new speeds and accents; three by phone, a gym caller, one over the greeting."""
    _assert_new_blind_set("blind27", phone_calls=3)


def test_the_twenty_eighth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind28 was written and committed on 2026-12-07 (stop 44) before any call of that
    session ran; blind27's calls had been read in stop 43. Its voice settings are new:
    flite's kal at 0.65 and slt, awb and rms at 1.5, and espeak-ng's m5, m8, m7, f3, f5 and
    f4 at new speeds and accents; three by phone, a haircut caller, one over the greeting."""
    _assert_new_blind_set("blind28", phone_calls=3)


def test_the_twenty_ninth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind29 was written and committed on 2026-12-07 (stop 44) after blind28's first run
    and before any of blind28's calls was read. Its voice settings are new: flite's kal at
    0.6, kal16 at 0.55 and 1.45 and awb at 0.5, and espeak-ng's m7, f5, m3, m2, f2 and m6 at
    new speeds and accents; three by phone, a flat-hunting caller, one over the greeting."""
    _assert_new_blind_set("blind29", phone_calls=3)


def test_the_thirtieth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind30 was written and committed on 2026-12-07 (stop 44) after blind29's first run
    and before any of blind29's calls was read. Its voice settings are new: flite's slt, rms
    and kal16 at 0.5 and awb at 1.6, and espeak-ng's f1, m3, m8 and m4 at new speeds and
    accents; three by phone, a dry-cleaning caller, one over the greeting."""
    _assert_new_blind_set("blind30", phone_calls=3)


def test_the_thirty_first_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind31 was written and committed on 2026-12-07 (stop 44) while blind30's first run
    was under way and before any of blind30's calls was read. Its voice settings are new:
    flite's slt and rms at 1.6 and kal and kal16 at 1.5, and espeak-ng's m1, f2, m4, m3, m2
    and f4 at new speeds and accents; three by phone, a bike-shop caller, one over the
    greeting."""
    _assert_new_blind_set("blind31", phone_calls=3)


def test_the_thirty_second_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind32 was written and committed on 2026-12-07 (stop 44) while blind30's tuned
    companion run was under way and before any of blind31's calls ran. Its voice settings
    are new: flite's awb and rms at 1.7 and kal at 1.6, and espeak-ng's m7, f4, f1, m8, m2,
    m1 and m3 at new speeds and accents; three by phone, an electricity-bill caller, one over
    the greeting."""
    _assert_new_blind_set("blind32", phone_calls=3)


def test_the_thirty_third_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind33 was written and committed on 2026-12-07 (stop 44) while blind32's first run
    was under way and before any of blind32's calls was read. Its voice settings are new:
    flite's slt at 1.7, kal16 at 1.6 and awb at 1.8, and espeak-ng's m5 and f1 (twice each),
    f3, m1, f2 and m2 at new speeds and accents; three by phone, a cinema caller, one over
    the greeting."""
    _assert_new_blind_set("blind33", phone_calls=3)


def test_the_thirty_fourth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind34 was written and committed on 2026-12-07 (stop 44) while blind33's first run
    was under way and before any of blind33's calls was read. Its voice settings are new:
    flite's rms and slt at 1.8 and kal at 1.7, and espeak-ng's f3, m3, m6, f5, m4, m2 (twice)
    and f2 at new speeds and accents; three by phone, a job applicant, one over the
    greeting."""
    _assert_new_blind_set("blind34", phone_calls=3)


def test_the_thirty_fifth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind35 was written and committed on 2026-12-07 (stop 45) before any call of that
    session ran. Its voice settings are new: flite's kal16 at 1.7 and kal at 1.8, and
    espeak-ng's m7, m4 (twice), f1, f5, m1, m6, f2 and f4 at new speeds and accents; three by
    phone, a florist caller, one over the greeting."""
    _assert_new_blind_set("blind35", phone_calls=3)


def test_the_thirty_sixth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind36 was written and committed on 2026-12-07 (stop 45) while blind35's first run
    was under way and before any of blind35's calls was read. Its voice settings are new:
    flite's awb, rms and slt at 1.9, and espeak-ng's f2, m2, f3 (twice), m1, f4, m7 and m5 at
    new speeds and accents; three by phone, a caller for a car mechanic, one over the
    greeting."""
    _assert_new_blind_set("blind36", phone_calls=3)


def test_the_thirty_seventh_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind37 was written and committed on 2026-12-07 (stop 45) while blind36's first run
    was under way and before any of blind36's calls was read. Its voice settings are new:
    flite's kal16 at 1.8 and 1.9 and kal at 1.9, and espeak-ng's f3, m1, f4, m5, m3, f1, m4
    and f5 at new speeds and accents; three by phone, a caller for a locksmith, one over the
    greeting."""
    _assert_new_blind_set("blind37", phone_calls=3)


def test_the_thirty_eighth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind38 was written and committed on 2026-12-07 (stop 45) while blind37's first run
    was under way and before any of blind37's calls was read. Its voice settings are new:
    flite's awb, rms and slt at 2.0, and espeak-ng's m6 (twice), f2, f5 (twice), m5, f3 and
    m3 at new speeds and accents; three by phone, a caller for a museum, one over the
    greeting."""
    _assert_new_blind_set("blind38", phone_calls=3)


def test_the_thirty_ninth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind39 was written and committed on 2026-12-07 (stop 45) after blind38's first run
    and before any of blind38's calls was read. Its voice settings are new: flite's kal16
    and kal at 2.0, and espeak-ng's m4 (twice), m2, f5, f4 (twice), m6 (twice) and m1 at new
    speeds and accents; three by phone, a caller for a swimming pool, one over the
    greeting."""
    _assert_new_blind_set("blind39", phone_calls=3)


def test_the_fortieth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind40 was written and committed on 2026-12-07 (stop 45) while blind39's first run
    was under way and before any of blind39's calls was read. Its voice settings are new:
    flite's slt and rms at 1.95, and espeak-ng's f5 (three times), m2, f1 (twice), m4, m6
    and m1 at new speeds and accents; three by phone, a caller asking for a bus, one over
    the greeting."""
    _assert_new_blind_set("blind40", phone_calls=3)


def test_the_forty_first_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind41 was written and committed on 2026-12-07 (stop 45) during the tuned run on
    the session's last policy code and before any of blind40's calls was read. Its voice
    settings are new: flite's kal16 and kal at 1.95, and espeak-ng's m8 (four times), f3,
    f5, m3, f1 and m4 at new speeds and accents; three by phone, a caller for a nail salon,
    one over the greeting."""
    _assert_new_blind_set("blind41", phone_calls=3)


def test_the_forty_second_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind42 was written and committed on 2026-12-07 (stop 45) while blind41's first run
    was under way and before any of blind41's calls was read. Its voice settings are new:
    flite's slt and rms at 1.75, and espeak-ng's f1, f2, f4 (twice), f3 (twice), m8 (twice)
    and m4 at new speeds and accents; three by phone, a caller for a furniture shop, one
    over the greeting."""
    _assert_new_blind_set("blind42", phone_calls=3)


def test_the_forty_third_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind43 was written and committed on 2026-12-07 (stop 46) before any call of that
    session ran. Its voice settings are new: flite's kal at 1.3, slt and rms at 1.85, awb and
    kal16 at 1.75, and espeak-ng's Gene2, Mario, zac, travis, victor and boris variants; four
    by phone, a caller for a tailor, one over the greeting."""
    _assert_new_blind_set("blind43", phone_calls=4)


def test_the_forty_fourth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind44 was written and committed on 2026-12-07 (stop 46) while stop 46's tool-call
    run on the train split was under way, before any orders call of the session ran. Its
    voice settings are new: flite's slt and rms at 1.65, awb and kal16 at 1.85, kal at 1.45,
    and espeak-ng's Mario, travis, victor, zac, Gene2 and boris in new accents and speeds;
    four by phone, a caller for a travel agent, one over the greeting."""
    _assert_new_blind_set("blind44", phone_calls=4)


def test_the_forty_fifth_blind_set_is_new_callers_in_voices_no_other_set_uses() -> None:
    """blind45 was written and committed on 2026-12-08 (stop 46) while the tool-call eval
    ran on the final code, after blind44's run, before any of its own calls ran. Its voice
    settings are new: flite's slt, kal and rms at 1.55, awb and kal16 at 1.65, and espeak-ng's
    travis, victor, Mario, Gene2, zac and Jacky in new accents and speeds; four by phone, a
    caller for a piano tuner, one over the greeting."""
    _assert_new_blind_set("blind45", phone_calls=4)


# ------------------------------------------------------------------ end to end (slow)

KEY_VARS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "OPENAI_BASE_URL", "BRAIN")
ANSWERING_CALLER: dict[str, Any] = {
    "id": "answers-the-read-back",
    "voice": "espeak:en-us+m3",
    "noise_db": -55,
    "want": [{"item": "hot-chocolate"}],
    "lines": ["Can I get a hot chocolate please?"],
    "answers": [{"when": "shall I place", "order": "match", "say": "Yes, place it."}],
}


@pytest.mark.slow
def test_a_simulated_caller_answers_the_read_back_and_the_order_is_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k in KEY_VARS:
        monkeypatch.delenv(k, raising=False)
    goal_file = tmp_path / "caller.json"
    goal_file.write_text(json.dumps(ANSWERING_CALLER))
    out, report = tmp_path / "out", tmp_path / "report.json"
    assert cli.main([str(goal_file), "--out", str(out), "--json", str(report)]) == 0
    result = json.loads(report.read_text())["calls"][0]
    said = result["caller_said"]
    answered = [s for s in said if s["kind"] == "answer" and s["text"] == "Yes, place it."]
    assert answered, said
    assert result["exact"], result
    assert result["order_lines"] == [
        {"item": "hot-chocolate", "quantity": 1, "options": {}, "addons": [], "status": "finished"}
    ]
    assert not result["premature_hangup"]
    rows_ = [json.loads(x) for x in (out / ANSWERING_CALLER["id"] / "transcript.jsonl").open()]
    finish = [r for r in rows_ if r.get("name") == "finish_order" and r["type"] == "function_call"]
    assert finish and finish[0]["at"] >= answered[0]["start"]
    assert (out / ANSWERING_CALLER["id"] / "call.ogg").stat().st_size > 10_000
    assert os.path.exists(out / "orders.sqlite")
    # the call's own log: what the session heard, its states, LiveKit's debug lines
    agent_log = (out / ANSWERING_CALLER["id"] / "agent.log").read_text()
    assert "heard (final=True): " in agent_log and "user turn committed" in agent_log
    assert "agent thinking -> speaking" in agent_log
    log_path = str((out / ANSWERING_CALLER["id"] / "agent.log").resolve())
    handlers = logging.getLogger().handlers  # the call's file handler is gone once it ends
    assert all(getattr(h, "baseFilename", "") != log_path for h in handlers)


def test_placed_already_is_grounded_only_by_an_order_read_back_finished() -> None:
    def turn(status: str) -> list[dict[str, Any]]:
        return rows(
            ("user", "Please place it."),
            call("get_order_details", {"order_id": "1"}, "c1"),
            output("get_order_details", {**DETAILS, "order_id": "1", "status": status}, "c1"),
            ("assistant", "Your order is placed already. Is there anything else?"),
        )

    assert ungrounded_statements(turn("finished")) == []
    found = ungrounded_statements(turn("open"))
    assert [u.text for u in found] == ["Your order is placed already."]
    assert "no tool result of this turn shows it placed" in found[0].why
