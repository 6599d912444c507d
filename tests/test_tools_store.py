"""OrderStore on both back ends (a temp SQLite file and a throwaway PostgreSQL database, see
tests/pgcluster.py): menu seeding, orders, bad inputs, idempotency."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.pgcluster import require_postgres
from tools.coffee import MAX_QUANTITY, OrderStore, StoreError

INJECTION = "'; DROP TABLE orders;--"


@pytest.fixture(params=["sqlite", "postgresql"])
def orders_db(request, tmp_path) -> str:
    """ORDERS_DB for one test: a SQLite file in nested new dirs, or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        return require_postgres(migrated=True)
    return str(tmp_path / "nested" / "dir" / "orders.sqlite")


@pytest.fixture
async def store(orders_db):
    s = OrderStore(orders_db)
    await s.open()
    yield s
    await s.close()


async def test_seeds_menu(store):
    ids = {it["menu_item_id"] for it in await store.menu()}
    assert {"latte", "mocha", "chai-latte", "cortado", "english-breakfast"} <= ids


@pytest.mark.parametrize("orders_db", ["sqlite"], indirect=True)
async def test_opens_wal_creates_dirs_and_seeds_menu(store, tmp_path):
    assert (tmp_path / "nested" / "dir" / "orders.sqlite").exists()
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode.lower() == "wal"
    ids = {it["menu_item_id"] for it in await store.menu()}
    assert {"latte", "mocha", "chai-latte", "cortado", "english-breakfast"} <= ids


def test_menu_json_is_attributed_and_small():
    from tools.coffee import MENU_JSON

    menu = json.loads(MENU_JSON.read_text())
    assert "CC BY 4.0" in menu["source"] and "Taskmaster-4" in menu["source"]
    assert MENU_JSON.stat().st_size < 50_000


async def test_search(store):
    assert [i["menu_item_id"] for i in await store.search_menu("Chai Latte")] == ["chai-latte"]
    teas = {i["category"] for i in await store.search_menu("black tea")}
    assert teas == {"tea"}
    # words match from a word's start: "tea" is no part of "steamer", "choc" is of chocolate
    assert "steamer" not in {i["menu_item_id"] for i in await store.search_menu("tea")}
    assert "hot-chocolate" in {i["menu_item_id"] for i in await store.search_menu("choc")}
    both = {i["menu_item_id"] for i in await store.search_menu("mocha OR latte")}
    assert {"mocha", "latte"} <= both
    assert await store.search_menu(INJECTION) == []
    with pytest.raises(StoreError):
        await store.search_menu("x" * 500)


async def test_order_lifecycle(store):
    r = await store.add_order_item(
        menu_item_id="latte-4456",  # dataset-style id resolves to `latte`
        quantity="2",
        attributes=[{"attribute_id": "milk-options", "option": "oat"}],
        addons=[{"addon_id": "vanilla-sweetener-011", "option": "ADD"}],
        notes="extra hot",
    )
    oid = r["order_id"]
    r2 = await store.add_order_item(menu_item_id="mocha", quantity=1, order_id=oid)
    assert r2["order_id"] == oid
    await store.update_order(
        order_id=oid, attributes=[{"attribute_id": "order-type", "option": "togo"}]
    )
    await store.update_order_item(
        order_item_id=r["order_item_id"],
        attributes=[{"attribute_id": "caffeine", "option": "decaf"}],
    )
    d = await store.get_order_details(oid)
    assert d["attributes"] == [
        {"attribute_id": "order-type", "attribute_name": "Order Type", "option": "To go"}
    ]
    first = d["menu_items"][0]
    assert first["menu_item_id"] == "latte" and first["quantity"] == 2
    assert {"attribute_id": "milk-options", "option": "Oat Milk"} in first["attributes"]
    assert {"attribute_id": "caffeine", "option": "Decaf"} in first["attributes"]
    assert first["addons"][0]["addon_id"] == "vanilla-sweetener"
    assert (await store.finish_order(oid))["success"] is True
    again = await store.finish_order(oid)
    assert again["success"] and again["already_finished"]
    with pytest.raises(StoreError, match="already finished"):
        await store.add_order_item(menu_item_id="latte", order_id=oid)


@pytest.mark.parametrize("qty", [0, -1, -100, MAX_QUANTITY + 1, 10**9, "abc", 1.5])
async def test_bad_quantity(store, qty):
    with pytest.raises(StoreError, match="quantity"):
        await store.add_order_item(menu_item_id="latte", quantity=qty)
    assert await store.count("order_items") == 0


async def test_bad_inputs(store):
    with pytest.raises(StoreError, match="no menu item"):
        await store.add_order_item(menu_item_id="unicorn-frappe")
    with pytest.raises(StoreError, match="no menu item"):
        await store.add_order_item(menu_item_id=INJECTION)
    with pytest.raises(StoreError, match="no order"):
        await store.get_order_details("99999")
    with pytest.raises(StoreError, match="no order"):
        await store.finish_order(INJECTION[:15])
    with pytest.raises(StoreError, match="not an option"):
        await store.add_order_item(
            menu_item_id="latte", attributes=[{"attribute_id": "milk-options", "option": "goat"}]
        )
    with pytest.raises(StoreError, match="does not apply"):
        await store.add_order_item(
            menu_item_id="english-breakfast",
            attributes=[{"attribute_id": "espresso-shots", "option": "double"}],
        )
    with pytest.raises(StoreError, match="not available"):
        await store.add_order_item(menu_item_id="latte", addons=[{"addon_id": "ketchup"}])
    with pytest.raises(StoreError, match="too long"):
        await store.add_order_item(menu_item_id="latte", notes="x" * 1000)
    with pytest.raises(StoreError, match="no order item"):
        await store.update_order_item(order_item_id="12345", quantity=2)


async def test_injection_is_plain_data(store):
    r = await store.add_order_item(menu_item_id="mocha", notes=INJECTION)
    d = await store.get_order_details(r["order_id"])
    assert d["menu_items"][0]["notes"] == INJECTION
    await store.update_order(
        order_id=r["order_id"], attributes=[{"attribute_id": "name", "option": INJECTION}]
    )
    assert await store.count("orders") == 1  # the table is still there
    assert (await store.get_order_details(r["order_id"]))["attributes"][0]["option"] == INJECTION


async def test_idempotency_key(store):
    a = await store.add_order_item(menu_item_id="latte", idempotency_key="k1")
    b = await store.add_order_item(menu_item_id="latte", idempotency_key="k1")
    assert b["duplicate"] and b["order_item_id"] == a["order_item_id"]
    assert await store.count("order_items") == 1
    await store.finish_order(a["order_id"], idempotency_key="f1")
    assert (await store.finish_order(a["order_id"], idempotency_key="f1"))["duplicate"]


async def test_failed_write_rolls_back_and_keeps_no_key(store):
    with pytest.raises(StoreError):
        await store.add_order_item(menu_item_id="latte", order_id="424242", idempotency_key="k2")
    assert await store.count("orders") == 0 and await store.count("idempotency") == 0
