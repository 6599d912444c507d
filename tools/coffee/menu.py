"""The menu: seeding it from `data/menu.json`, reading it back, searching it, resolving an item.

Owns: `MENU_JSON` (the committed menu, derived from Taskmaster-4, CC BY 4.0; see
tools/README.md, NOTICE section; `tools.coffee.migrate` seeds an empty database from it), and
`Menu`, the read side of the three menu tables: `items()`, `search(query)`, `resolve_item(id)`,
`attributes()`, `addons()`. SQL runs through the store's `Runner` (`tools.coffee.schema`).
The menu does not change while a worker runs (a new menu is a restart), so each table is read
once and kept in a `MenuCache` that all the stores of a process share for one database: a
tool call costs no menu query after the first call of the process.

May import: the standard library and `tools.coffee.schema` / `tools.coffee.validation`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .db import Tx
from .schema import Runner
from .validation import StoreError, base_id, clean_text, norm, slug

MENU_JSON = Path(__file__).resolve().parent / "data" / "menu.json"


def menu_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "menu_item_id": row["menu_item_id"],
        "name": row["name"],
        "category": row["category"],
        "size": row["size"],
        "description": row["description"],
        "price": row["price"],
        "attributes": json.loads(row["attributes"]),
        "addons": json.loads(row["addons"]),
    }


@dataclass
class MenuCache:
    """The three menu tables as read once (None: not read yet)."""

    items: list[dict[str, Any]] | None = None
    attributes: dict[str, dict[str, Any]] | None = None
    addons: dict[str, dict[str, Any]] | None = None


class Menu:
    """Read side of the menu tables (every query through the store's `Runner`)."""

    def __init__(self, run: Runner, cache: MenuCache | None = None) -> None:
        self._run = run
        self.cache = cache or MenuCache()
        """Replaced by the process-wide cache of the store's database when the store opens."""

    async def items(self) -> list[dict[str, Any]]:
        if self.cache.items is None:

            async def q(tx: Tx) -> list[dict[str, Any]]:
                rows = await tx.fetchall("SELECT * FROM menu_items ORDER BY category, name")
                return [menu_row(r) for r in rows]

            self.cache.items = await self._run(q)
        return [dict(it) for it in self.cache.items]

    async def search(self, query: str, *, limit: int = 8) -> list[dict[str, Any]]:
        """Items whose name, category or description match `query` (words, any order).

        `A OR B` searches both. An exact name / id match wins over partial matches."""
        query = clean_text(query, field="query", limit=100)
        items = await self.items()
        results: list[tuple[float, dict[str, Any]]] = []
        for part in re.split(r"\s+or\s+|,|/", query, flags=re.I):
            want = norm(part)
            if not want:
                continue
            want_words = [
                w for w in want.split() if w not in {"a", "an", "the", "please", "drink", "drinks"}
            ]
            want_words = [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in want_words]
            for it in items:
                name = norm(it["name"])
                hay = f"{name} {norm(it['category'])} {norm(it['description'] or '')}"
                if want == name or it["menu_item_id"] in (slug(want), base_id(want)):
                    score = 3.0
                elif want_words and all(_has_word(name, w) for w in want_words):
                    score = 2.0
                elif want_words and all(_has_word(hay, w) for w in want_words):
                    score = 1.0
                else:
                    continue
                results.append((score, it))
        best: dict[str, tuple[float, dict[str, Any]]] = {}
        for score, it in results:
            prev = best.get(it["menu_item_id"])
            if prev is None or score > prev[0]:
                best[it["menu_item_id"]] = (score, it)
        ranked = sorted(best.values(), key=lambda t: (-t[0], t[1]["name"]))
        if ranked and ranked[0][0] == 3.0 and len(re.split(r"\s+or\s+", query, flags=re.I)) == 1:
            ranked = [t for t in ranked if t[0] == 3.0]
        return [it for _, it in ranked[:limit]]

    async def resolve_item(self, menu_item_id: str) -> dict[str, Any]:
        """The menu item for an id (tolerates `latte-0371`, `Latte`); StoreError if unknown."""
        raw = clean_text(menu_item_id, field="menu_item_id", limit=80, required=True)
        items = await self.items()
        by_id = {it["menu_item_id"]: it for it in items}
        for cand in (raw, slug(raw), base_id(raw)):
            if cand in by_id:
                return by_id[cand]
        by_name = {norm(it["name"]): it for it in items}
        if norm(raw) in by_name:
            return by_name[norm(raw)]
        raise StoreError(
            f"There is no menu item with id {raw!r}. Call get_menu_items with what the caller "
            "asked for and use a menu_item_id from its result."
        )

    async def attributes(self) -> dict[str, dict[str, Any]]:
        if self.cache.attributes is None:
            self.cache.attributes = await self._run(self._read_attributes)
        return {k: dict(v) for k, v in self.cache.attributes.items()}

    async def addons(self) -> dict[str, dict[str, Any]]:
        if self.cache.addons is None:
            self.cache.addons = await self._run(self._read_addons)
        return {k: dict(v) for k, v in self.cache.addons.items()}

    @staticmethod
    async def _read_attributes(tx: Tx) -> dict[str, dict[str, Any]]:
        rows = await tx.fetchall("SELECT * FROM attributes ORDER BY attribute_id")
        return {
            r["attribute_id"]: {
                "attribute_id": r["attribute_id"],
                "attribute_name": r["attribute_name"],
                "options": json.loads(r["options"]),
            }
            for r in rows
        }

    @staticmethod
    async def _read_addons(tx: Tx) -> dict[str, dict[str, Any]]:
        rows = await tx.fetchall("SELECT * FROM addons ORDER BY name")
        return {
            r["addon_id"]: {
                "addon_id": r["addon_id"],
                "name": r["name"],
                "default": "NO",
                "options": json.loads(r["options"]),
            }
            for r in rows
        }


def _has_word(text: str, word: str) -> bool:
    """`word` starts a word of `text` ("choc" finds chocolate; "tea" is not in "steamer")."""
    return re.search(rf"\b{re.escape(word)}", text) is not None
