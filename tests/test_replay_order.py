"""A caller with no keys and no network orders a coffee: `agent.py replay` of a fresh
four-turn call (`samples/order_call.wav`: a latte with oat milk, a hot chocolate, "no, that's it,
please place the order", goodbye) through the whole offline pipeline (Silero VAD,
Whisper, our turn detector, the guided local brain, the tool runtime, Piper), and the order is
checked where the shop would see it: in the order database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CALL = ROOT / "samples" / "order_call.wav"
MANIFEST = json.loads((ROOT / "samples" / "order_call.json").read_text())
KEY_VARS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "OPENAI_BASE_URL", "BRAIN")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("order")
    out, db = tmp / "out", tmp / "orders.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env["ORDERS_DB"] = str(db)
    proc = subprocess.run(
        [sys.executable, "agent.py", "replay", str(CALL), "--out", str(out), "--brain", "local"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, db


@pytest.mark.slow
def test_the_order_is_in_the_database(replayed: tuple[Path, Path]) -> None:
    _, db = replayed
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT o.status, m.name, oi.quantity, oi.attributes FROM orders o "
            "JOIN order_items oi USING (order_id) JOIN menu_items m USING (menu_item_id) "
            "ORDER BY oi.created_at, oi.rowid"
        ).fetchall()
    assert [(status, name, qty) for status, name, qty, _ in rows] == [
        ("finished", "Latte", 1),
        ("finished", "Hot Chocolate", 1),
    ]
    assert json.loads(rows[0][3]) == {"milk-options": "Oat Milk"}


@pytest.mark.slow
def test_every_tool_result_is_answered_and_the_order_waits_for_the_yes(
    replayed: tuple[Path, Path],
) -> None:
    out, _ = replayed
    rows = [json.loads(line) for line in (out / "transcript.jsonl").read_text().splitlines()]
    users = [r for r in rows if r["role"] == "user"]
    assert len(users) == len(MANIFEST["caller_turns"]), users
    calls = [r for r in rows if r.get("type") == "function_call"]
    finish = [i for i, r in enumerate(rows) if r.get("name") == "finish_order" and "type" in r]
    yes_turn = next(
        i for i, r in enumerate(rows) if r["role"] == "user" and "place" in r["text"].lower()
    )
    read_back = [
        r for r in rows[:yes_turn] if r["role"] == "assistant" and "place the order" in r["text"]
    ]
    assert read_back, "the order was not read back before the caller confirmed it"
    assert finish and min(finish) > yes_turn
    # after every tool output the agent speaks before the caller's next turn
    for i, r in enumerate(rows):
        if r.get("type") == "function_call_output" and r["name"] != "end_call":
            nxt = [x for x in rows[i + 1 :] if x["role"] in ("user", "assistant")]
            assert nxt and nxt[0]["role"] == "assistant", (r, nxt[:1])
    assert {c["name"] for c in calls} >= {"get_menu_items", "add_order_item", "finish_order"}
