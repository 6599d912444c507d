"""Order and line ids cannot run out, and old orders do not pile up (both back ends).

Ids come from one counter (a PostgreSQL sequence; a SQLite counter row) starting above every
five-digit id of the old random scheme; the worker's start (`check_orders_db`, `ORDERS_DAYS`)
deletes orders older than the retention with their lines."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, pool, text

from tests.pgcluster import require_postgres
from tools.coffee import OrderStore, check_orders_db, parse_orders_db


@pytest.fixture(params=["sqlite", "postgresql"])
def orders_db(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "postgresql":
        return require_postgres()
    return str(tmp_path / "orders.sqlite")


def _sql(db: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = create_engine(parse_orders_db(db).sqlalchemy_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params or {})
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


async def test_every_five_digit_id_taken_and_orders_still_open(orders_db: str) -> None:
    check_orders_db(orders_db)
    # the old scheme's whole space is taken (what made 16 of 20 new orders fail)
    _sql(
        orders_db,
        "INSERT INTO orders (order_id, owner, created_at) "
        "VALUES " + ", ".join(f"('{n}', 'old', :t)" for n in range(10000, 100000)),
        {"t": time.time()},
    )
    ids: list[int] = []
    async with OrderStore(orders_db, owner="call-1") as store:
        for _ in range(20):
            r = await store.add_order_item(menu_item_id="latte")
            ids += [int(r["order_id"]), int(r["order_item_id"])]
    assert len(set(ids)) == len(ids) == 40
    assert min(ids) >= 100000 and len(str(max(ids))) == 6  # short: read out to the caller


async def test_a_taken_number_is_skipped_never_overwritten(orders_db: str) -> None:
    check_orders_db(orders_db)
    async with OrderStore(orders_db, owner="call-1") as store:
        first = await store.add_order_item(menu_item_id="latte")
        nxt = int(first["order_item_id"]) + 1
        # a row written by other means holds the counter's next number
        _sql(
            orders_db,
            "INSERT INTO orders (order_id, owner, created_at) VALUES (:id, 'other', 0)",
            {"id": str(nxt)},
        )
        second = await store.add_order_item(menu_item_id="mocha")
        assert second["order_id"] == str(nxt + 1) and second["order_item_id"] == str(nxt + 2)
    assert _sql(orders_db, "SELECT owner FROM orders WHERE order_id = :id", {"id": str(nxt)}) == [
        ("other",)
    ]


async def test_worker_start_deletes_orders_older_than_orders_days(orders_db: str) -> None:
    day = 86400.0
    now = time.time()
    async with OrderStore(orders_db, owner="call-1") as store:
        old_done = await store.add_order_item(menu_item_id="latte")
        await store.finish_order(old_done["order_id"])
        old_open = await store.add_order_item(menu_item_id="mocha")
        late_done = await store.add_order_item(menu_item_id="cortado")
        await store.finish_order(late_done["order_id"])
        recent = await store.add_order_item(menu_item_id="latte")
        ages = {
            old_done["order_id"]: (now - 40 * day, now - 40 * day),
            old_open["order_id"]: (now - 40 * day, None),
            # opened long ago, finished yesterday: its last change is recent
            late_done["order_id"]: (now - 40 * day, now - day),
        }
        for oid, (created, finished) in ages.items():
            _sql(
                orders_db,
                "UPDATE orders SET created_at = :c, finished_at = :f WHERE order_id = :id",
                {"c": created, "f": finished, "id": oid},
            )
        check_orders_db(orders_db, orders_days=0)  # 0 keeps all
        assert await store.count("orders") == 4
        check_orders_db(orders_db, orders_days=30)
        kept = {r[0] for r in _sql(orders_db, "SELECT order_id FROM orders")}
        assert kept == {late_done["order_id"], recent["order_id"]}
        lines = {r[0] for r in _sql(orders_db, "SELECT order_id FROM order_items")}
        assert lines == kept  # their lines went with them
        # the call that owns a kept order still reads it
        details = await store.get_order_details(recent["order_id"])
        assert details["status"] == "open"


@pytest.mark.parametrize(("days", "kept"), [(0.0, 1), (30.0, 0)])
async def test_the_workers_start_up_check_applies_orders_days(
    tmp_path: Any, days: float, kept: int
) -> None:
    from agents import worker
    from agents.config import Settings

    db = str(tmp_path / "orders.sqlite")
    async with OrderStore(db, owner="call-1") as store:
        done = await store.add_order_item(menu_item_id="latte")
        await store.finish_order(done["order_id"])
    long_ago = time.time() - 40 * 86400.0
    _sql(db, "UPDATE orders SET created_at = :t, finished_at = :t", {"t": long_ago})
    settings = Settings(
        orders_db=db, orders_days=days, brain="cascade", local_fallback="off",
        openai_api_key="k", deepgram_api_key="k", cartesia_api_key="k",
    )  # fmt: skip
    worker.check_startup(settings, ["agent.py", "console"])  # what `agent.py console` runs first
    assert len(_sql(db, "SELECT order_id FROM orders")) == kept
