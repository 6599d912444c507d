"""Scoring: per API name, tool-name precision / recall, the strict score (name and arguments
both right) and argument match.

Calls are paired per user turn and per API name in order (the k-th gold `add_order_item` of a
turn with the k-th predicted one). Arguments are compared after normalisation:

* `menu_item_id`: the dataset's ids are worker-made (`latte-0371`): resolved through the
  dialog's own get_menu_items response to a name, then to the seeded menu's id.
* `order_id` / `order_item_id`: the dataset's ids are mapped to ours by aligning the k-th
  gold add_order_item response with our k-th add_order_item output; an omitted `order_id`
  matches (our tools default to the session's current order).
* `quantity`: integer; `attributes`: set of (attribute_id, canonical option);
  `addons`: set of added addon ids (number suffix and aliases folded);
  `query` / `notes`: token overlap (Jaccard >= 0.5, or one contains the other).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.coffee import MENU_JSON, OrderStore, base_id, slug

from .data import Dialog, GoldCall


@dataclass
class PredCall:
    name: str
    arguments: dict[str, Any]
    output: Any = None
    is_error: bool = False


STOP = {"a", "an", "the", "please", "or", "and", "of", "i", "id", "like", "with", "can", "get"}


def tokens(text: Any) -> set[str]:
    words = re.findall(r"[a-z0-9%]+", str(text or "").lower())
    return {w.rstrip("s") if len(w) > 3 else w for w in words if w not in STOP}


def text_match(gold: Any, pred: Any) -> bool:
    g, p = tokens(gold), tokens(pred)
    if not g and not p:
        return True
    if not g or not p:
        return False
    return g <= p or p <= g or len(g & p) / len(g | p) >= 0.5


class Normaliser:
    def __init__(self, menu_path: Path = MENU_JSON) -> None:
        menu = json.loads(Path(menu_path).read_text())
        self.ids = {it["menu_item_id"] for it in menu["menu_items"]}
        self.by_name = {
            " ".join(it["name"].lower().split()): it["menu_item_id"] for it in menu["menu_items"]
        }
        self.attrs = {a["attribute_id"]: a["options"] for a in menu["attributes"]}
        self.addons = {a["addon_id"] for a in menu["addons"]}

    def menu_item(self, raw: Any, names: dict[str, str] | None = None) -> str:
        s = str(raw or "").strip().strip('"')
        if names and base_id(s) in names:
            nm = " ".join(names[base_id(s)].lower().split())
            if nm in self.by_name:
                return self.by_name[nm]
            if slug(nm) in self.ids:
                return slug(nm)
        for cand in (slug(s), base_id(s)):
            if cand in self.ids:
                return cand
        return self.by_name.get(" ".join(s.lower().split()), base_id(s))

    def named_item(self, query: str) -> str | None:
        """The menu item a search query names exactly ("Mocha", "cold brew"), else None."""
        key = " ".join(query.lower().split())
        return self.by_name.get(key) or (slug(key) if slug(key) in self.ids else None)

    def missing_from(self, dialog: Dialog) -> frozenset[str]:
        """Our menu items the dialog's own shop did not sell: named exactly by a gold
        `get_menu_items` query whose response did not hold them ("Mocha" found only a
        Cortado: "I don't see a Mocha. Did you mean the Cortado?"), and found by none of
        the dialog's searches."""
        absent: set[str] = set()
        found: set[str] = set()
        for turn in dialog.turns:
            for c in turn.calls:
                if c.name != "get_menu_items" or not isinstance(c.response, dict):
                    continue
                items = c.response.get("menu_items") or []
                got = {
                    self.menu_item(it.get("name", ""))
                    for it in (items if isinstance(items, list) else [])
                    if isinstance(it, dict)
                }
                found |= got
                query = (c.request or {}).get("query")
                if not isinstance(query, str):
                    continue
                for part in re.split(r"\s+or\s+|,", query, flags=re.IGNORECASE):
                    if (item := self.named_item(part)) and item not in got:
                        absent.add(item)
        return frozenset(absent - found)

    def attributes(self, value: Any) -> frozenset[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for a in value or []:
            if not isinstance(a, dict):
                continue
            aid = base_id(str(a.get("attribute_id", "")))
            aid = {"milk": "milk-options", "caffine": "caffeine", "hot": "hot-or-iced",
                   "iced": "hot-or-iced", "shots": "espresso-shots"}.get(aid, aid)  # fmt: skip
            opt = str(a.get("option", ""))
            canon = (
                OrderStore._match_option(opt, self.attrs.get(aid, [])) if aid != "name" else None
            )
            out.add((aid, (canon or " ".join(opt.lower().split())).lower()))
        return frozenset(out)

    def addon_set(self, value: Any) -> frozenset[str]:
        out: set[str] = set()
        for a in value or []:
            if not isinstance(a, dict):
                continue
            if str(a.get("option", "ADD")).strip().upper() not in {"ADD", ""}:
                continue
            aid = base_id(str(a.get("addon_id", "")))
            if aid not in self.addons:
                aid = next(
                    (k for k in self.addons if k in (f"{aid}-sweetener", f"{aid}-sauce")), aid
                )
            out.add(aid)
        return frozenset(out)


@dataclass
class IdMap:
    order: dict[str, str] = field(default_factory=dict)
    item: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    """dataset base menu id -> name, from the dialog's get_menu_items responses"""

    def learn_gold(self, call: GoldCall) -> None:
        if call.name == "get_menu_items" and call.response:
            for mi in call.response.get("menu_items") or []:
                if isinstance(mi, dict) and isinstance(mi.get("menu_item_id"), str):
                    self.names[base_id(mi["menu_item_id"])] = str(mi.get("name", ""))

    def learn_pair(self, gold: GoldCall, pred: PredCall) -> None:
        if not (gold.response and isinstance(pred.output, dict)):
            return
        for key, table in (("order_id", self.order), ("order_item_id", self.item)):
            g, p = gold.response.get(key), pred.output.get(key)
            if g is not None and p is not None:
                table[str(g)] = str(p)


def _id_match(gold: Any, pred: Any, table: dict[str, str]) -> bool:
    if pred in (None, ""):
        return True
    g = str(gold).strip()
    return table.get(g, str(pred)) == str(pred).strip()


def compare_args(
    gold: GoldCall, pred: PredCall, norm: Normaliser, ids: IdMap
) -> tuple[bool, dict[str, bool]]:
    """(all compared keys match, per-key result)."""
    req = gold.request
    if req is None:
        return False, {}
    args = pred.arguments or {}
    keys = set(req)
    if gold.name in {"add_order_item", "update_order_item"}:
        keys |= {"attributes", "addons"}
    if gold.name == "add_order_item":
        keys |= {"quantity"}
    per: dict[str, bool] = {}
    for k in sorted(keys):
        g, p = req.get(k), args.get(k)
        if k == "menu_item_id":
            ok = norm.menu_item(g, ids.names) == norm.menu_item(p)
        elif k == "order_id":
            ok = _id_match(g, p, ids.order)
        elif k == "order_item_id":
            ok = _id_match(g, p, ids.item) and p not in (None, "")
        elif k == "quantity":
            try:
                ok = int(str(g if g not in (None, "") else 1)) == int(
                    str(p if p not in (None, "") else 1)
                )
            except ValueError:
                ok = False
        elif k == "attributes":
            ok = norm.attributes(g) == norm.attributes(p)
        elif k == "addons":
            ok = norm.addon_set(g) == norm.addon_set(p)
        elif k in {"query", "notes"}:
            ok = text_match(g, p)
        elif k == "fields":
            ok = {str(x).lower() for x in g or []} == {str(x).lower() for x in p or []}
        else:
            ok = str(g or "").strip().lower() == str(p or "").strip().lower()
        per[k] = ok
    return all(per.values()), per


@dataclass
class ApiCounts:
    gold: int = 0
    pred: int = 0
    tp: int = 0
    strict_tp: int = 0
    """Paired calls whose arguments also match (a gold call with no annotated arguments
    counts on its name)."""
    args_exact: int = 0
    args_scored: int = 0
    key_hits: Counter[str] = field(default_factory=Counter)
    key_total: Counter[str] = field(default_factory=Counter)

    def add(self, other: ApiCounts) -> None:
        self.gold += other.gold
        self.pred += other.pred
        self.tp += other.tp
        self.strict_tp += other.strict_tp
        self.args_exact += other.args_exact
        self.args_scored += other.args_scored
        self.key_hits.update(other.key_hits)
        self.key_total.update(other.key_total)

    def summary(self) -> dict[str, Any]:
        p = self.tp / self.pred if self.pred else None
        r = self.tp / self.gold if self.gold else None
        f1 = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
        return {
            "gold": self.gold,
            "pred": self.pred,
            "tp": self.tp,
            "precision": p,
            "recall": r,
            "f1": f1,
            "strict_precision": self.strict_tp / self.pred if self.pred else None,
            "strict_recall": self.strict_tp / self.gold if self.gold else None,
            "arg_match": self.args_exact / self.args_scored if self.args_scored else None,
            "arg_keys": {k: self.key_hits[k] / n for k, n in sorted(self.key_total.items()) if n},
        }


def score_dialog(
    gold_turns: list[list[GoldCall]], pred_turns: list[list[PredCall]], norm: Normaliser
) -> tuple[dict[str, ApiCounts], int]:
    """Counts per API over one dialog's user turns, and the number of turns fully right."""
    if len(gold_turns) != len(pred_turns):
        raise ValueError("gold and predicted turns differ in length")
    counts: dict[str, ApiCounts] = {}
    ids = IdMap()
    exact_turns = 0
    for gold, pred in zip(gold_turns, pred_turns, strict=True):
        turn_ok = Counter(c.name for c in gold) == Counter(c.name for c in pred)
        for g in gold:
            ids.learn_gold(g)
        for name in sorted({c.name for c in gold} | {c.name for c in pred}):
            gs = [c for c in gold if c.name == name]
            ps = [c for c in pred if c.name == name]
            ac = counts.setdefault(name, ApiCounts())
            ac.gold += len(gs)
            ac.pred += len(ps)
            ac.tp += min(len(gs), len(ps))
            for g, p in zip(gs, ps, strict=False):
                ok, per = compare_args(g, p, norm, ids)
                ac.strict_tp += ok or g.request is None
                if g.request is not None:
                    ac.args_scored += 1
                    ac.args_exact += ok
                    for k, v in per.items():
                        ac.key_total[k] += 1
                        ac.key_hits[k] += v
                turn_ok = turn_ok and ok
                ids.learn_pair(g, p)
        exact_turns += turn_ok
    return counts, exact_turns


def aggregate(
    all_counts: list[dict[str, ApiCounts]],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    per_api: dict[str, ApiCounts] = {}
    total = ApiCounts()
    for counts in all_counts:
        for name, c in counts.items():
            per_api.setdefault(name, ApiCounts()).add(c)
            total.add(c)
    return {k: v.summary() for k, v in sorted(per_api.items())}, total.summary()


REPLY_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("check", re.compile(r"\bjust to check\b|, right\?|\bwas that\b", re.I)),
    ("placed", re.compile(r"\border is placed\b", re.I)),
    ("read-back", re.compile(r"\bshall i place\b", re.I)),
    ("not caught", re.compile(r"\bdidn't catch\b|\btrouble hearing\b", re.I)),
    ("option question", re.compile(r"\bwould you like\b|\bhow many\b|\bwhich\b.*\?", re.I)),
    ("menu", re.compile(r"\bwe have\b", re.I)),
)
"""What an agent reply was, by its words, in the order tried; anything else is "other"."""


def reply_kind(text: str) -> str:
    """The kind of one agent reply (`REPLY_KINDS`); "none" for no words."""
    if not text.strip():
        return "none"
    return next((kind for kind, pattern in REPLY_KINDS if pattern.search(text)), "other")


def wrong_after(per_dialog: list[dict[str, Any]]) -> dict[str, int]:
    """Wrong calls (predicted beyond the gold turn's count of that tool name), by the kind
    of the agent's reply just before the caller's turn ("start": the first turn). Says which
    of the agent's own moves the dataset's next turn did not follow, in counts only: the
    held-out split's dialogs stay unread."""
    out: Counter[str] = Counter()
    for d in per_dialog:
        kinds = ["start", *d.get("reply_kinds", [])]
        for i, (gold, pred) in enumerate(zip(d["gold"], d["pred"], strict=True)):
            extra = Counter(c["name"] for c in pred) - Counter(gold)
            out[kinds[i] if i < len(kinds) else "?"] += sum(extra.values())
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
