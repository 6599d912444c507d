"""The tool-call eval harness: scoring math on a known case, and 3 dialogs end to end with
a scripted oracle brain."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from livekit.agents import llm

from evals.splits import split_ids
from evals.tool_calls.data import GoldCall, load_dialogs
from evals.tool_calls.runner import run_eval
from evals.tool_calls.scoring import Normaliser, PredCall, aggregate, score_dialog
from tests.fakes import Call, FakeLLM
from tools.coffee import taskmaster4


def test_precision_recall_known_case():
    gold = [
        [
            GoldCall("get_menu_items", {"query": "Chai Latte"},
                     {"menu_items": [{"menu_item_id": "chai-latte-1928", "name": "Chai Latte"}]}),
            GoldCall("add_order_item", {"menu_item_id": "chai-latte-1928", "quantity": "1"},
                     {"order_id": "28740", "order_item_id": "92049"}),
            GoldCall("get_order_details", {"order_id": "28740"}),
        ],
        [GoldCall("finish_order", {"order_id": "28740"})],
    ]  # fmt: skip
    pred = [
        [
            PredCall("get_menu_items", {"query": "chai latte"}),
            PredCall("add_order_item", {"menu_item_id": "chai-latte", "quantity": 2},
                     {"order_id": "55555", "order_item_id": "66666"}),
            PredCall("show_menu", {}),
        ],
        [PredCall("finish_order", {"order_id": "55555"}), PredCall("finish_order", {"order_id": "11111"})],
    ]  # fmt: skip
    counts, exact = score_dialog(gold, pred, Normaliser())
    per_api, overall = aggregate([counts])
    assert exact == 0
    assert per_api["get_menu_items"] == per_api["get_menu_items"] | {
        "precision": 1.0,
        "recall": 1.0,
        "arg_match": 1.0,
    }
    assert per_api["add_order_item"]["recall"] == 1.0
    assert per_api["add_order_item"]["arg_match"] == 0.0  # quantity 2 != 1
    assert per_api["add_order_item"]["arg_keys"]["menu_item_id"] == 1.0
    assert (
        per_api["get_order_details"]["recall"] == 0.0
        and per_api["get_order_details"]["precision"] is None
    )
    assert per_api["show_menu"]["precision"] == 0.0
    assert per_api["finish_order"]["precision"] == 0.5 and per_api["finish_order"]["recall"] == 1.0
    assert per_api["finish_order"]["arg_match"] == 1.0  # 28740 -> 55555 through the add response
    # gold 4, pred 5, tp 3
    assert (overall["gold"], overall["pred"], overall["tp"]) == (4, 5, 3)
    assert abs(overall["precision"] - 3 / 5) < 1e-9 and abs(overall["recall"] - 3 / 4) < 1e-9
    # strict: the name and the arguments right; the add's quantity is wrong, so 2 of 3 pairs
    assert per_api["add_order_item"]["strict_recall"] == 0.0
    assert per_api["finish_order"]["strict_precision"] == 0.5
    assert abs(overall["strict_precision"] - 2 / 5) < 1e-9
    assert abs(overall["strict_recall"] - 2 / 4) < 1e-9


def test_split_is_by_dialog_deterministic_and_persisted():
    ids = [f"dlg-{i}" for i in range(100)]
    a, b = split_ids(ids), split_ids(list(reversed(ids)))
    assert a["test"] == b["test"] and len(a["test"]) == 7  # was 10 (make_split's exact 10 %)
    test = load_dialogs("test")
    train_ids = {d.conversation_id for d in load_dialogs("train")}
    assert test and not train_ids & {d.conversation_id for d in test}


def test_taskmaster4_reader_falls_back_to_the_shipped_slice(tmp_path: Path) -> None:
    assert taskmaster4.default_data_dir(full=tmp_path) == taskmaster4.SLICE_DATA_DIR
    shipped = taskmaster4.load_dialogs(taskmaster4.SLICE_DATA_DIR)
    assert shipped and taskmaster4.load_dialogs(taskmaster4.SLICE_DATA_DIR, limit=2) == shipped[:2]
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path))):
        taskmaster4.load_dialogs(tmp_path)
    (tmp_path / "data_00.json").write_text("{not json")
    with pytest.raises(OSError, match=re.escape(str(tmp_path / "data_00.json"))):
        taskmaster4.load_dialogs(tmp_path)


def test_api_calls_pair_by_index_and_repair_doubled_quotes() -> None:
    def ann(name: str, value: str, ctx: str) -> dict:
        return {"name": name, "value": value, "context": ctx}

    utt = {
        "annotations": [
            ann("api_call", "add_order_item", "api_call_1"),
            ann("request", '{"menu_item_id": ""mocha-6452"", "quantity": "1"}', "api_call_1"),
            ann("api_response", "add_order_item", "api_response_1"),
            ann("response", '{"order_id": "28740"}', "api_response_1"),
            ann("api_call", "show_menu", "api_call_0"),
            ann("api_response", "show_menu", "api_response_0"),
            ann("response", "not json", "api_response_0"),
        ]
    }
    calls = taskmaster4.api_calls(utt)
    assert [(c.index, c.name) for c in calls] == [(0, "show_menu"), (1, "add_order_item")]
    assert calls[0].request is None and calls[0].response is None
    assert calls[1].request == {"menu_item_id": "mocha-6452", "quantity": "1"}
    assert calls[1].response == {"order_id": "28740"}


def _oracle(fake: FakeLLM):
    """Before each user turn, script the gold calls with dataset ids translated to ours."""
    gold_adds: list[dict] = []

    def translate(req: dict, ctx: llm.ChatContext) -> dict:
        ours = [json.loads(i.output) for i in ctx.items
                if i.type == "function_call_output" and i.name == "add_order_item" and not i.is_error]  # fmt: skip
        oid = {g["order_id"]: o["order_id"] for g, o in zip(gold_adds, ours, strict=False)}
        iid = {
            g["order_item_id"]: o["order_item_id"] for g, o in zip(gold_adds, ours, strict=False)
        }
        out = dict(req)
        if "order_id" in out:
            out["order_id"] = oid.get(str(out["order_id"]), ours[-1]["order_id"] if ours else "0")
        if "order_item_id" in out:
            out["order_item_id"] = iid.get(str(out["order_item_id"]), "0")
        if "quantity" in out:
            out["quantity"] = int(out["quantity"])
        return out

    def before_turn(dialog, turn) -> None:
        for c in turn.calls:
            if c.name == "add_order_item" and c.response:
                gold_adds.append(c.response)
            req = c.request or {}

            def script(ctx: llm.ChatContext, c: GoldCall = c, req: dict = req) -> list[Call]:
                return [Call(c.name, translate(req, ctx))]

            fake.push(script)
        fake.push("Okay.")

    return before_turn


async def test_eval_three_dialogs_with_oracle_brain():
    dialogs = [d for d in load_dialogs("test") if any(t.calls for t in d.turns)][:3]
    fakes: list[FakeLLM] = []
    hooks: list = []

    def factory() -> FakeLLM:
        fakes.append(FakeLLM(default_reply="Okay."))
        hooks.append(_oracle(fakes[-1]))
        return fakes[-1]

    result = await run_eval(dialogs, factory, before_turn=lambda d, t: hooks[-1](d, t))
    o = result["overall"]
    assert o["gold"] > 0 and o["recall"] == 1.0 and o["precision"] == 1.0
    assert o["arg_match"] >= 0.9
    assert len(result["per_dialog"]) == 3


def test_cli_bad_arguments_exit_2():
    for args in (["--limit", "0"], ["--limit", "-1"], ["--brain", "nope", "--limit", "1"]):
        p = subprocess.run(
            [sys.executable, "-m", "evals.tool_calls", *args], capture_output=True, text=True
        )
        assert p.returncode == 2, (args, p.stderr)
        assert "error" in p.stderr


def _searched(query: str, names: list[str]) -> GoldCall:
    items = [{"menu_item_id": f"x-{i}", "name": n} for i, n in enumerate(names)]
    return GoldCall("get_menu_items", {"query": query}, {"menu_items": items})


def test_a_drink_the_dialog_s_own_search_did_not_find_is_missing_from_its_menu() -> None:
    from evals.tool_calls.data import Dialog, Turn

    def dialog(*calls: GoldCall) -> Dialog:
        return Dialog("d", "", [Turn("user", "I'd like a mocha", list(calls))])

    norm = Normaliser()
    # "Mocha" found only a Cortado: this shop sold no mocha
    assert norm.missing_from(dialog(_searched("Mocha", ["Cortado"]))) == {"mocha"}
    assert norm.missing_from(dialog(_searched("cold brew OR Latte", []))) == {"cold-brew", "latte"}
    # found by the same or another search, or a query naming no item exactly: nothing off
    assert norm.missing_from(dialog(_searched("Mocha", ["Mocha"]))) == frozenset()
    assert (
        norm.missing_from(dialog(_searched("Mocha", []), _searched("chocolate drinks", ["Mocha"])))
        == frozenset()
    )
    assert norm.missing_from(dialog(_searched("something sweet", []))) == frozenset()


async def test_the_dialog_menu_takes_off_what_its_shop_did_not_sell() -> None:
    """`--menu dialog`: the dialog's agent found no Mocha, so ours finds none either, says so
    and adds nothing; with the whole menu (`shop`, the default) the same turn orders one."""
    from agents.brain.guided import GuidedLLM
    from evals.tool_calls.data import Dialog, Turn
    from tests.test_guided_follows_caller import ScriptedFallback

    gold = _searched("Mocha", ["Cortado"])
    d = Dialog("dlg-menu", "", [Turn("user", "I'd like a mocha, please.", [gold])])
    names: dict[str, list[str]] = {}
    for menu in ("dialog", "shop"):
        result = await run_eval([d], lambda: GuidedLLM(ScriptedFallback()), menu=menu)
        names[menu] = [c["name"] for c in result["per_dialog"][0]["pred"][0]]
    assert names["dialog"] == ["get_menu_items"]
    assert "add_order_item" in names["shop"]
    with pytest.raises(ValueError, match="menu must be"):
        await run_eval([d], lambda: GuidedLLM(ScriptedFallback()), menu="everything")


async def test_wrong_calls_are_counted_by_the_agent_s_reply_before_the_turn() -> None:
    """The eval keeps each reply's kind (never its words) and counts the calls made beyond
    the gold turn's by the kind of reply the caller was answering: a dataset "Yes." meant for
    its own agent's read-back, answering our "Just to check" instead, shows as "check"."""
    from agents.brain.guided import GuidedLLM
    from evals.tool_calls.data import Dialog, Turn
    from evals.tool_calls.scoring import reply_kind, wrong_after
    from tests.test_guided_follows_caller import ScriptedFallback

    assert reply_kind("Just to check: one Cortado, right?") == "check"
    assert reply_kind("Got it. That's one Latte. Anything else, or shall I place the order?") == (
        "read-back"
    )
    assert reply_kind("Sorry, I didn't catch that. What can I get you?") == "not caught"
    assert reply_kind("") == "none" and reply_kind("Hello there.") == "other"
    latte = GoldCall("get_menu_items", {"query": "latte"}, None)
    d = Dialog("dlg-kinds", "", [
        Turn("user", "Can I get a cortato?", [latte]),
        Turn("user", "Yes.", [GoldCall("finish_order", {"order_id": "1"}, None)]),
    ])  # fmt: skip
    result = await run_eval([d], lambda: GuidedLLM(ScriptedFallback()))
    row = result["per_dialog"][0]
    assert row["reply_kinds"][0] == "check"
    assert set(row) >= {"gold", "pred", "reply_kinds"} and "replies" not in row
    # the check looked the Cortado up as it asked; the "Yes." answered it: the Cortado was
    # added and the order read back, and neither call is in the gold turn (a
    # finish_order), so both count under "check"
    assert [c["name"] for c in row["pred"][0]] == ["get_menu_items"]
    assert [c["name"] for c in row["pred"][1]] == ["add_order_item", "get_order_details"]
    assert result["overall"]["wrong_after"]["check"] == 2
    assert wrong_after(result["per_dialog"]) == result["overall"]["wrong_after"]
