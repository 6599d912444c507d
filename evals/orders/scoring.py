"""Scoring one simulated call: from its transcript rows (`transcript.jsonl`), the orders the
database holds for it, and when the fallback model answered.

- **exact order**: the call's placed (finished) order lines equal the goal's `want` (item,
  quantity, options, add-ons; lines of the same drink and options add up), and no open order
  holds lines; a caller who wants nothing must leave no order line at all;
- **ungrounded statements**: agent sentences that state something about the caller's order
  (a drink with "added", "got it", "that's", "your order", "placed", "removed", "changed",
  ..., or a counted drink "with" an option) that no tool result of the same agent turn
  supports: a drink or option (milk, iced, decaf, add-ons) absent from that turn's successful
  tool calls and results (an order line they name by id counts as its drink, as an earlier
  tool result of the call gave it), or "placed" with no successful `finish_order` in the turn
  (questions such as "One latte, right?" state nothing); a drink said to be *not* in the
  order ("There's no Cortado in your order.") needs the turn's own read-back of the order,
  without it;
- **latency** (end of caller speech -> first agent audio) per caller turn, split into policy
  turns and model-answered turns (a reply the fallback model generated).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from .goals import WantedItem
from .menu_words import drinks_named, merged, normalize, options_named

CLAIM = re.compile(
    r"\b(added|adding|got it|that's|that is|your order|placed|removed|took off|taken off|"
    r"changed|updated|i have|you have|so far)\b",
    re.I,
)
COUNTED_WITH = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten)\b[\w\s%-]*\bwith\b", re.I
)
"""A counted drink "with" something ("one latte with almond milk") is about an order; "a
cortado is espresso with milk" is about the menu."""
PLACED_CLAIM = re.compile(
    r"\b(order (is|was|has been|'s) placed|placed (your|the) order|order's placed)\b", re.I
)
ABSENCE_CLAIM = re.compile(
    r"\b(?:there's|there is|you have|i have|i see)\s+no\b|\b(?:isn't|is not|not) in your order\b",
    re.I,
)
"""A sentence saying a drink is not in the order ("There's no Cortado in your order."): it
rests on this turn's read-back of the order, and holds when that read-back lacks the drink."""
CHECKED_OPTIONS = ("milk-options", "hot-or-iced", "caffeine", "addons")
"""Options whose words an order statement must be able to point at in a tool result."""


@dataclass(frozen=True)
class OrderLine:
    item: str
    quantity: int
    options: dict[str, str]
    addons: tuple[str, ...]
    status: str
    """"finished" or "open"."""


@dataclass
class Ungrounded:
    text: str
    why: str


@dataclass
class TurnLatency:
    user_text: str
    latency: float | None
    model: bool


@dataclass
class OrderScore:
    exact: bool
    placed: list[OrderLine]
    open_lines: list[OrderLine]


@dataclass
class CallScore:
    goal: str
    exact: bool
    turns: int
    """Lines the caller spoke."""
    heard_turns: int
    """Caller turns the agent transcribed."""
    premature_hangup: bool
    ungrounded: list[Ungrounded] = field(default_factory=list)
    latencies: list[TurnLatency] = field(default_factory=list)

    def latency_median(self, *, model: bool) -> float | None:
        xs = [t.latency for t in self.latencies if t.model == model and t.latency is not None]
        return round(median(xs), 3) if xs else None


# ---------------------------------------------------------------- the database


def read_order_lines(db: Path, owner: str) -> list[OrderLine]:
    """Every order line of the call `owner` in the SQLite order store, oldest first."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT o.status, oi.menu_item_id, oi.quantity, oi.attributes, oi.addons "
            "FROM orders o JOIN order_items oi ON oi.order_id = o.order_id "
            "WHERE o.owner = ? ORDER BY oi.created_at, oi.rowid",
            (owner,),
        ).fetchall()
    return [
        OrderLine(
            item, int(qty), dict(json.loads(attrs)), tuple(sorted(json.loads(addons))), status
        )
        for status, item, qty, attrs, addons in rows
    ]


def score_order(lines: list[OrderLine], want: tuple[WantedItem, ...]) -> OrderScore:
    placed = [ln for ln in lines if ln.status == "finished"]
    open_lines = [ln for ln in lines if ln.status != "finished"]
    if not want:
        return OrderScore(not lines, placed, open_lines)
    exact = not open_lines and merged(placed) == merged(want)  # type: ignore[arg-type]
    return OrderScore(exact, placed, open_lines)


# ---------------------------------------------------------------- grounding


def _agent_turns(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The transcript cut at each caller message: what the agent did in reply to it."""
    turns: list[list[dict[str, Any]]] = [[]]
    for r in rows:
        if r.get("role") == "user":
            turns.append([])
        else:
            turns[-1].append(r)
    return turns


def _json(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None


def _learn_lines(tool_rows: list[dict[str, Any]], lines: dict[str, str]) -> None:
    """order_item_id -> menu_item_id, from `add_order_item` (its arguments and result) and
    `get_order_details` results: what a later "removed 100015" is about."""
    args = {r.get("call_id"): _json(r.get("arguments")) for r in tool_rows
            if r.get("type") == "function_call"}  # fmt: skip
    for r in tool_rows:
        out = _json(r.get("text")) if r.get("type") == "function_call_output" else None
        if not isinstance(out, dict) or r.get("is_error"):
            continue
        call = args.get(r.get("call_id"))
        if r.get("name") == "add_order_item" and isinstance(call, dict) and "order_item_id" in out:
            lines[str(out["order_item_id"])] = str(call.get("menu_item_id", ""))
        for it in out.get("menu_items", []) if isinstance(out.get("menu_items"), list) else []:
            if isinstance(it, dict) and "order_item_id" in it and "menu_item_id" in it:
                lines[str(it["order_item_id"])] = str(it["menu_item_id"])


def _failed_calls(tool_rows: list[dict[str, Any]]) -> set[Any]:
    """Call ids whose tool result is an error."""
    return {r.get("call_id") for r in tool_rows if r.get("type") == "function_call_output"
            and r.get("is_error")}  # fmt: skip


def _read_back(tool_rows: list[dict[str, Any]]) -> str | None:
    """Normalised drink ids of this turn's last successful `get_order_details` result, or
    None when the turn did not read the order."""
    failed = _failed_calls(tool_rows)
    outs = [r for r in tool_rows if r.get("type") == "function_call_output"
            and r.get("name") == "get_order_details" and r.get("call_id") not in failed]  # fmt: skip
    if not outs or not isinstance(out := _json(outs[-1].get("text")), dict):
        return None
    items = out.get("menu_items") or []
    return " ".join(
        str(i.get("menu_item_id", "")).replace("-", " ") for i in items if isinstance(i, dict)
    )


def _evidence(tool_rows: list[dict[str, Any]], lines: dict[str, str]) -> tuple[str, bool]:
    """Normalised text of the successful tool calls and results seen so far in a turn (with
    the drink of every order line they name, `lines`), and whether the turn's tool results
    show the order placed (`finish_order` succeeded, or `get_order_details` read it back
    finished)."""
    failed = _failed_calls(tool_rows)
    parts: list[str] = []
    finished = False
    for r in tool_rows:
        if r.get("call_id") in failed:
            continue
        raw = str((r.get("arguments") if r.get("type") == "function_call" else r.get("text")) or "")
        parts.append(normalize(raw.replace("-", " ").replace("_", " ")))
        parts += [lines[i].replace("-", " ") for i in re.findall(r"\d+", raw) if i in lines]
        if r.get("type") == "function_call_output" and r.get("name") == "finish_order":
            finished = True
        if r.get("type") == "function_call_output" and r.get("name") == "get_order_details":
            out = _json(r.get("text"))  # an order read back as placed: "it's placed already"
            finished = finished or (isinstance(out, dict) and out.get("status") == "finished")
    return " ".join(parts), finished


def _why_ungrounded(text: str, evidence: str, finished: bool, read_back: str | None) -> str | None:
    if PLACED_CLAIM.search(text) and not finished:
        return "says the order is placed; no tool result of this turn shows it placed"
    if ABSENCE_CLAIM.search(text) and drinks_named(text):
        if read_back is None:
            return "says a drink is not in the order; this turn did not read the order"
        for item_id, _, _ in drinks_named(text):
            if item_id.replace("-", " ") in read_back:
                return f"says {item_id} is not in the order; this turn's read-back has it"
        return None
    if not CLAIM.search(text) and not COUNTED_WITH.search(text):
        return None
    for item_id, _, _ in drinks_named(text):
        if item_id.replace("-", " ") not in evidence:
            return f"names {item_id}; no tool result of this turn has it"
    for attr, options in options_named(text).items():
        if attr not in CHECKED_OPTIONS or not drinks_named(text):
            continue
        for option in options:
            word = normalize(option.replace("-", " "))
            if word not in evidence:
                return f"states {option}; no tool result of this turn has it"
    return None


def ungrounded_statements(rows: list[dict[str, Any]]) -> list[Ungrounded]:
    """Agent sentences about the order that no tool result of their turn supports."""
    found: list[Ungrounded] = []
    lines: dict[str, str] = {}
    for turn in _agent_turns(rows):
        tools: list[dict[str, Any]] = []
        for r in turn:
            if r.get("role") == "tool":
                tools.append(r)
                continue
            if r.get("role") != "assistant":
                continue
            _learn_lines(tools, lines)
            evidence, finished = _evidence(tools, lines)
            read_back = _read_back(tools)
            for sentence in re.split(r"(?<=[.!?])\s+", r.get("text") or ""):
                if sentence.rstrip().endswith("?") and not PLACED_CLAIM.search(sentence):
                    continue  # a question ("One latte, right?") states nothing
                why = _why_ungrounded(sentence, evidence, finished, read_back)
                if why:
                    found.append(Ungrounded(sentence, why))
    return found


# ---------------------------------------------------------------- latency


def split_latencies(
    turns: list[dict[str, Any]],
    model_windows: list[tuple[float, float]],
    t0: float,
    *,
    ttft_threshold: float = 0.05,
) -> list[TurnLatency]:
    """`turns`: rows of `agents.side_channel.turn_latencies` (seconds on the call's timeline);
    `model_windows`: wall-clock (start, end) of each fallback-model generation. A turn is
    model-answered when a generation ran between the caller's end of speech and the agent's
    first audio; without any window (no fallback model found) its `llm_ttft` decides."""
    out: list[TurnLatency] = []
    for t in turns:
        user_end, agent_start = t.get("user_end"), t.get("agent_start")
        if model_windows and user_end is not None and agent_start is not None:
            lo, hi = t0 + user_end - 1.0, t0 + agent_start
            model = any(start <= hi and end >= lo for start, end in model_windows)
        else:
            model = (t.get("llm_ttft") or 0.0) > ttft_threshold
        out.append(TurnLatency(t.get("user_text") or "", t.get("latency"), model))
    return out
