"""SQLite order store for the coffee-shop domain.

`OrderStore(path)` is a cheap synchronous constructor; the database is opened lazily on the
first call (or explicitly with `await store.open()`), and `await store.close()` releases it.
It is also an async context manager. Every query runs in a worker thread
(`asyncio.to_thread`) behind one lock, so a slow disk never blocks the event loop (and the
audio with it). Writes run in `BEGIN IMMEDIATE` transactions; the journal is WAL.

All SQL is parameterised: text such as `'; DROP TABLE orders;--` is stored and searched as
plain data. Domain validation (unknown item, bad quantity, unknown option) raises `StoreError`
with a message written for the model; the tool layer turns it into livekit's `ToolError`.

Idempotency: mutating calls take an optional `idempotency_key`. The key and the call's result
are written in the same transaction as the change, so a retried or duplicated call with the
same key returns the first call's result (marked `"duplicate": true`) instead of adding or
finishing twice.

The menu is seeded from `tools/data/menu.json` (derived from Taskmaster-4, CC BY 4.0; see
tools/README.md (NOTICE section)) when the menu table is empty.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

MENU_JSON = Path(__file__).resolve().parent / "data" / "menu.json"

MAX_QUANTITY = 20
MAX_TEXT = 200
MAX_NAME = 60
MAX_CHOICES = 10

_T = TypeVar("_T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS menu_items (
    menu_item_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    size TEXT,
    description TEXT,
    price REAL,
    attributes TEXT NOT NULL DEFAULT '[]',
    addons TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS attributes (
    attribute_id TEXT PRIMARY KEY,
    attribute_name TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS addons (
    addon_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '["NO","ADD"]'
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'finished')),
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_item_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(order_id),
    menu_item_id TEXT NOT NULL REFERENCES menu_items(menu_item_id),
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    attributes TEXT NOT NULL DEFAULT '{}',
    addons TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS order_items_by_order ON order_items(order_id);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class StoreError(Exception):
    """A domain error the model can recover from (message is spoken-friendly)."""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def base_id(raw: str) -> str:
    """`latte-0371`, `Mocha-024`, `"latte"` -> `latte` (dataset ids carry a number suffix)."""
    s = slug(str(raw).strip().strip('"'))
    return re.sub(r"(-?\d+)+$", "", s).strip("-")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9% ]+", " ", text.lower()).split())


def clean_text(value: Any, *, field: str, limit: int = MAX_TEXT, required: bool = False) -> str:
    """Strip control characters and bound the length; the text itself is data, never SQL."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    text = "".join(ch for ch in value if ch.isprintable()).strip()
    if len(text) > limit:
        raise StoreError(f"{field} is too long ({len(text)} characters, at most {limit}).")
    if required and not text:
        raise StoreError(f"{field} must not be empty.")
    return text


def check_quantity(quantity: Any) -> int:
    try:
        q = int(str(quantity).strip()) if not isinstance(quantity, int) else quantity
    except (TypeError, ValueError):
        raise StoreError(f"quantity must be a whole number, got {quantity!r}.") from None
    if isinstance(quantity, float) and quantity != int(quantity):
        raise StoreError(f"quantity must be a whole number, got {quantity!r}.")
    if q < 1:
        raise StoreError(f"quantity must be at least 1, got {q}. To remove an item, say so.")
    if q > MAX_QUANTITY:
        raise StoreError(
            f"quantity {q} is more than we take in one phone order (at most {MAX_QUANTITY})."
        )
    return q


class OrderStore:
    """Async facade over one SQLite file. See the module docstring."""

    def __init__(
        self, path: str | Path, *, menu_path: str | Path = MENU_JSON, seed: int | None = None
    ):
        self.path = Path(path)
        self.menu_path = Path(menu_path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._open_lock = asyncio.Lock()
        self._rng = random.Random(seed)

    # ---- lifecycle -------------------------------------------------------------------------

    async def open(self) -> OrderStore:
        async with self._open_lock:
            if self._conn is None:
                self._conn = await asyncio.to_thread(self._open_sync)
        return self

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(self._close_sync, conn)

    async def __aenter__(self) -> OrderStore:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _open_sync(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        if conn.execute("SELECT COUNT(*) FROM menu_items").fetchone()[0] == 0:
            self._seed(conn)
        return conn

    def _close_sync(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            conn.close()

    def _seed(self, conn: sqlite3.Connection) -> None:
        menu = json.loads(self.menu_path.read_text())
        conn.execute("BEGIN IMMEDIATE")
        try:
            for it in menu["menu_items"]:
                conn.execute(
                    "INSERT INTO menu_items VALUES (?,?,?,?,?,?,?,?)",
                    (
                        it["menu_item_id"],
                        it["name"],
                        it["category"],
                        it.get("size"),
                        it.get("description"),
                        it.get("price"),
                        json.dumps(it.get("attributes", [])),
                        json.dumps(it.get("addons", [])),
                    ),
                )
            for at in menu["attributes"]:
                conn.execute(
                    "INSERT INTO attributes VALUES (?,?,?)",
                    (at["attribute_id"], at["attribute_name"], json.dumps(at["options"])),
                )
            for ad in menu["addons"]:
                conn.execute(
                    "INSERT INTO addons VALUES (?,?,?)",
                    (ad["addon_id"], ad["name"], json.dumps(ad.get("options", ["NO", "ADD"]))),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def _run(self, fn: Callable[[sqlite3.Connection], _T], *, write: bool = False) -> _T:
        if self._conn is None:
            await self.open()
        conn = self._conn
        assert conn is not None

        def _job() -> _T:
            with self._lock:
                if not write:
                    return fn(conn)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return out

        return await asyncio.to_thread(_job)

    # ---- idempotency -----------------------------------------------------------------------

    def _idempotent(
        self,
        conn: sqlite3.Connection,
        key: str | None,
        tool: str,
        body: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        if key:
            row = conn.execute("SELECT result FROM idempotency WHERE key = ?", (key,)).fetchone()
            if row is not None:
                out = json.loads(row["result"])
                out["duplicate"] = True
                return out
        result = body()
        if key:
            conn.execute(
                "INSERT INTO idempotency (key, tool, result, created_at) VALUES (?,?,?,?)",
                (key, tool, json.dumps(result), time.time()),
            )
        return result

    def _new_id(self, conn: sqlite3.Connection, table: str, column: str) -> str:
        # 5-digit ids like the dataset's; `table`/`column` are our own constants, not input
        while True:
            candidate = str(self._rng.randint(10000, 99999))
            if (
                conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (candidate,)).fetchone()
                is None
            ):
                return candidate

    # ---- menu ------------------------------------------------------------------------------

    @staticmethod
    def _menu_row(row: sqlite3.Row) -> dict[str, Any]:
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

    async def menu(self) -> list[dict[str, Any]]:
        def q(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute("SELECT * FROM menu_items ORDER BY category, name").fetchall()
            return [self._menu_row(r) for r in rows]

        return await self._run(q)

    async def search_menu(self, query: str, *, limit: int = 8) -> list[dict[str, Any]]:
        """Items whose name, category or description match `query` (words, any order).

        `A OR B` searches both. An exact name / id match wins over partial matches."""
        query = clean_text(query, field="query", limit=100)
        items = await self.menu()
        results: list[tuple[float, dict[str, Any]]] = []
        for part in re.split(r"\s+or\s+|,|/", query, flags=re.I):
            want = _norm(part)
            if not want:
                continue
            want_words = [
                w for w in want.split() if w not in {"a", "an", "the", "please", "drink", "drinks"}
            ]
            want_words = [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in want_words]
            for it in items:
                name = _norm(it["name"])
                hay = f"{name} {_norm(it['category'])} {_norm(it['description'] or '')}"
                if want == name or it["menu_item_id"] in (slug(want), base_id(want)):
                    score = 3.0
                elif want_words and all(w in name for w in want_words):
                    score = 2.0
                elif want_words and all(w in hay for w in want_words):
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

    async def resolve_menu_item(self, menu_item_id: str) -> dict[str, Any]:
        """The menu item for an id (tolerates `latte-0371`, `Latte`); StoreError if unknown."""
        raw = clean_text(menu_item_id, field="menu_item_id", limit=80, required=True)
        items = await self.menu()
        by_id = {it["menu_item_id"]: it for it in items}
        for cand in (raw, slug(raw), base_id(raw)):
            if cand in by_id:
                return by_id[cand]
        by_name = {_norm(it["name"]): it for it in items}
        if _norm(raw) in by_name:
            return by_name[_norm(raw)]
        raise StoreError(
            f"There is no menu item with id {raw!r}. Call get_menu_items with what the caller "
            "asked for and use a menu_item_id from its result."
        )

    async def attributes(self) -> dict[str, dict[str, Any]]:
        def q(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            rows = conn.execute("SELECT * FROM attributes").fetchall()
            return {
                r["attribute_id"]: {
                    "attribute_id": r["attribute_id"],
                    "attribute_name": r["attribute_name"],
                    "options": json.loads(r["options"]),
                }
                for r in rows
            }

        return await self._run(q)

    async def addons(self) -> dict[str, dict[str, Any]]:
        def q(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            rows = conn.execute("SELECT * FROM addons ORDER BY name").fetchall()
            return {
                r["addon_id"]: {
                    "addon_id": r["addon_id"],
                    "name": r["name"],
                    "default": "NO",
                    "options": json.loads(r["options"]),
                }
                for r in rows
            }

        return await self._run(q)

    # ---- option resolution -----------------------------------------------------------------

    @staticmethod
    def _match_option(option: str, options: Sequence[str]) -> str | None:
        want = _norm(option)
        if not want:
            return None
        normed = {_norm(o): o for o in options}
        if want in normed:
            return normed[want]
        for n, o in normed.items():  # "oat" -> "Oat Milk", "2%" -> "2% Milk"
            if n.startswith(want + " ") or want.startswith(n + " ") or n == want + " milk":
                return o
        for n, o in normed.items():
            if n.replace(" ", "") == want.replace(" ", "").replace("-", ""):
                return o
        return None

    async def resolve_attributes(
        self, choices: Sequence[dict[str, Any]] | None, *, allowed: Sequence[str]
    ) -> dict[str, str]:
        """[{attribute_id, option}] -> {attribute_id: canonical option}; StoreError if invalid."""
        if not choices:
            return {}
        if len(choices) > MAX_CHOICES:
            raise StoreError(f"At most {MAX_CHOICES} attributes per call.")
        catalogue = await self.attributes()
        out: dict[str, str] = {}
        for ch in choices:
            raw_id = clean_text(
                ch.get("attribute_id"), field="attribute_id", limit=60, required=True
            )
            aid = base_id(raw_id)
            aid = {"milk": "milk-options", "shots": "espresso-shots", "caffine": "caffeine",
                   "iced": "hot-or-iced", "hot": "hot-or-iced", "temperature": "hot-or-iced",
                   "type": "order-type"}.get(aid, aid)  # fmt: skip
            if aid not in allowed or aid not in catalogue:
                raise StoreError(
                    f"Attribute {raw_id!r} does not apply here. Valid attribute ids: "
                    f"{', '.join(allowed) or 'none'}."
                )
            option = clean_text(ch.get("option"), field="option", limit=MAX_NAME, required=True)
            if aid == "name":
                out[aid] = option
                continue
            opts = catalogue[aid]["options"]
            match = self._match_option(option, opts)
            if match is None:
                raise StoreError(
                    f"{option!r} is not an option for {catalogue[aid]['attribute_name']}. "
                    f"Options: {', '.join(opts)}."
                )
            out[aid] = match
        return out

    async def resolve_addons(
        self, choices: Sequence[dict[str, Any]] | None, *, allowed: Sequence[str]
    ) -> list[str]:
        """[{addon_id, option: ADD|NO}] -> list of added addon ids (NO entries are dropped)."""
        if not choices:
            return []
        if len(choices) > MAX_CHOICES:
            raise StoreError(f"At most {MAX_CHOICES} add-ons per call.")
        catalogue = await self.addons()
        by_name = {_norm(a["name"]): k for k, a in catalogue.items()}
        added: list[str] = []
        for ch in choices:
            raw_id = clean_text(ch.get("addon_id"), field="addon_id", limit=60, required=True)
            aid = base_id(raw_id)
            if aid not in catalogue:
                aid = by_name.get(_norm(raw_id), "") or next(
                    (k for k in catalogue if k in (f"{aid}-sweetener", f"{aid}-sauce")), aid
                )
            if aid not in allowed:
                names = [catalogue[a]["name"] for a in allowed if a in catalogue]
                raise StoreError(
                    f"Add-on {raw_id!r} is not available for this drink. "
                    f"Available: {', '.join(names) or 'none'}."
                )
            option = clean_text(ch.get("option") or "ADD", field="option", limit=10).upper()
            if option not in {"ADD", "NO", "REMOVE"}:
                raise StoreError(f"Add-on option must be ADD or NO, got {option!r}.")
            if option == "ADD" and aid not in added:
                added.append(aid)
            elif option in {"NO", "REMOVE"} and aid in added:
                added.remove(aid)
        return added

    # ---- orders ----------------------------------------------------------------------------

    def _order_row(self, conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        if row is None:
            raise StoreError(
                f"There is no order {order_id!r}. Use the order_id returned by add_order_item."
            )
        return row

    async def add_order_item(
        self,
        *,
        menu_item_id: str,
        quantity: Any = 1,
        order_id: str | None = None,
        attributes: Sequence[dict[str, Any]] | None = None,
        addons: Sequence[dict[str, Any]] | None = None,
        notes: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Add a line to `order_id` (a new order when None). Returns {order_id, order_item_id}."""
        item = await self.resolve_menu_item(menu_item_id)
        qty = check_quantity(quantity)
        attrs = await self.resolve_attributes(attributes, allowed=item["attributes"])
        adds = await self.resolve_addons(addons, allowed=item["addons"])
        note = clean_text(notes, field="notes") or None
        oid = clean_text(order_id, field="order_id", limit=20) or None

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                now = time.time()
                new_oid = oid
                if new_oid is None:
                    new_oid = self._new_id(conn, "orders", "order_id")
                    conn.execute(
                        "INSERT INTO orders (order_id, created_at) VALUES (?, ?)", (new_oid, now)
                    )
                elif self._order_row(conn, new_oid)["status"] != "open":
                    raise StoreError(
                        f"Order {new_oid} is already finished. Start a new order by calling "
                        "add_order_item without an order_id."
                    )
                oiid = self._new_id(conn, "order_items", "order_item_id")
                conn.execute(
                    "INSERT INTO order_items (order_item_id, order_id, menu_item_id, quantity, "
                    "attributes, addons, notes, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        oiid,
                        new_oid,
                        item["menu_item_id"],
                        qty,
                        json.dumps(attrs),
                        json.dumps(adds),
                        note,
                        now,
                    ),  # fmt: skip
                )
                return {"order_id": new_oid, "order_item_id": oiid}

            return self._idempotent(conn, idempotency_key, "add_order_item", body)

        return await self._run(tx, write=True)

    async def update_order_item(
        self,
        *,
        order_item_id: str,
        quantity: Any = None,
        attributes: Sequence[dict[str, Any]] | None = None,
        addons: Sequence[dict[str, Any]] | None = None,
        notes: str | None = None,
        remove: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        oiid = clean_text(order_item_id, field="order_item_id", limit=20, required=True)

        def load(conn: sqlite3.Connection) -> sqlite3.Row:
            row = conn.execute(
                "SELECT oi.*, o.status FROM order_items oi JOIN orders o USING (order_id) "
                "WHERE oi.order_item_id = ?",
                (oiid,),
            ).fetchone()
            if row is None:
                raise StoreError(
                    f"There is no order item {oiid!r}. get_order_details lists the "
                    "order_item_id of each line."
                )
            return row

        current = await self._run(load)
        if current["status"] != "open":
            raise StoreError(f"Order {current['order_id']} is already finished and can't change.")
        item = await self.resolve_menu_item(current["menu_item_id"])
        qty = check_quantity(quantity) if quantity not in (None, "") else None
        attrs = await self.resolve_attributes(attributes, allowed=item["attributes"])
        current_adds: list[str] = json.loads(current["addons"])
        if addons:
            catalogue_adds = await self.resolve_addons(
                [a for a in addons if str(a.get("option", "ADD")).upper() == "ADD"],
                allowed=item["addons"],
            )
            removed = await self.resolve_addons(
                [
                    {**a, "option": "ADD"}
                    for a in addons
                    if str(a.get("option", "ADD")).upper() != "ADD"
                ],
                allowed=item["addons"],
            )
            current_adds = [a for a in current_adds if a not in removed]
            current_adds += [a for a in catalogue_adds if a not in current_adds]
        note = clean_text(notes, field="notes") if notes is not None else None

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                row = load(conn)
                if row["status"] != "open":
                    raise StoreError(f"Order {row['order_id']} is already finished.")
                if remove:
                    conn.execute("DELETE FROM order_items WHERE order_item_id = ?", (oiid,))
                    return {"order_item_id": oiid, "removed": True}
                merged = {**json.loads(row["attributes"]), **attrs}
                conn.execute(
                    "UPDATE order_items SET quantity = ?, attributes = ?, addons = ?, notes = ? "
                    "WHERE order_item_id = ?",
                    (
                        qty if qty is not None else row["quantity"],
                        json.dumps(merged),
                        json.dumps(current_adds),
                        note if note is not None else row["notes"],
                        oiid,
                    ),  # fmt: skip
                )
                return {"order_item_id": oiid}

            return self._idempotent(conn, idempotency_key, "update_order_item", body)

        return await self._run(tx, write=True)

    async def update_order(
        self,
        *,
        order_id: str,
        attributes: Sequence[dict[str, Any]] | None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        oid = clean_text(order_id, field="order_id", limit=20, required=True)
        if not attributes:
            raise StoreError("Give at least one attribute to change (order-type or name).")
        attrs = await self.resolve_attributes(attributes, allowed=["order-type", "name"])

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                row = self._order_row(conn, oid)
                if row["status"] != "open":
                    raise StoreError(f"Order {oid} is already finished and can't change.")
                merged = {**json.loads(row["attributes"]), **attrs}
                conn.execute(
                    "UPDATE orders SET attributes = ? WHERE order_id = ?", (json.dumps(merged), oid)
                )
                return {"order_id": oid}

            return self._idempotent(conn, idempotency_key, "update_order", body)

        return await self._run(tx, write=True)

    async def get_order_details(self, order_id: str) -> dict[str, Any]:
        oid = clean_text(order_id, field="order_id", limit=20, required=True)
        catalogue = await self.attributes()
        addon_names = {k: a["name"] for k, a in (await self.addons()).items()}

        def q(conn: sqlite3.Connection) -> dict[str, Any]:
            row = self._order_row(conn, oid)
            lines = conn.execute(
                "SELECT oi.*, m.name AS menu_item_name FROM order_items oi "
                "JOIN menu_items m USING (menu_item_id) WHERE oi.order_id = ? "
                "ORDER BY oi.created_at, oi.rowid",
                (oid,),
            ).fetchall()
            order_attrs = json.loads(row["attributes"])
            return {
                "order_id": oid,
                "status": row["status"],
                "attributes": [
                    {
                        "attribute_id": k,
                        "attribute_name": catalogue.get(k, {}).get("attribute_name", k),
                        "option": v,
                    }
                    for k, v in order_attrs.items()
                ],
                "menu_items": [
                    {
                        "order_item_id": r["order_item_id"],
                        "menu_item_id": r["menu_item_id"],
                        "menu_item_name": r["menu_item_name"],
                        "quantity": r["quantity"],
                        "attributes": [
                            {"attribute_id": k, "option": v}
                            for k, v in json.loads(r["attributes"]).items()
                        ],
                        "addons": [
                            {"addon_id": a, "name": addon_names.get(a, a), "option": "ADD"}
                            for a in json.loads(r["addons"])
                        ],
                        **({"notes": r["notes"]} if r["notes"] else {}),
                    }
                    for r in lines
                ],
            }

        return await self._run(q)

    async def finish_order(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        oid = clean_text(order_id, field="order_id", limit=20, required=True)

        def tx(conn: sqlite3.Connection) -> dict[str, Any]:
            def body() -> dict[str, Any]:
                row = self._order_row(conn, oid)
                if row["status"] == "finished":
                    # finishing twice is a no-op, never a second order
                    return {"success": True, "order_id": oid, "already_finished": True}
                n = conn.execute(
                    "SELECT COUNT(*) FROM order_items WHERE order_id = ?", (oid,)
                ).fetchone()[0]
                if n == 0:
                    raise StoreError(f"Order {oid} has no items yet; add something first.")
                conn.execute(
                    "UPDATE orders SET status = 'finished', finished_at = ? WHERE order_id = ?",
                    (time.time(), oid),
                )
                return {"success": True, "order_id": oid}

            return self._idempotent(conn, idempotency_key, "finish_order", body)

        return await self._run(tx, write=True)

    async def count(self, table: str) -> int:
        """Row count of one of our tables (tests, diagnostics)."""
        if table not in {
            "orders",
            "order_items",
            "menu_items",
            "idempotency",
            "addons",
            "attributes",
        }:
            raise ValueError(f"unknown table {table!r}")
        return await self._run(lambda c: c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
