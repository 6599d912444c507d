"""The order store's guarantees come from the database, so they hold across worker processes:
another call cannot touch an order, a call retried on another worker finds its order, and
duplicated writes from separate processes at the same moment add once and finish once.
Both back ends: SQLite (one file, several processes) and PostgreSQL (tests/pgcluster.py)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
from typing import Any

import pytest

from tests.pgcluster import require_postgres
from tools.coffee import OrderStore, StoreError


@pytest.fixture(params=["sqlite", "postgresql"])
def orders_db(request, tmp_path) -> str:
    if request.param == "postgresql":
        return require_postgres(migrated=True)
    return str(tmp_path / "orders.sqlite")


async def test_another_call_cannot_read_or_change_an_order(orders_db):
    async with (
        OrderStore(orders_db, owner="room-a") as a,
        OrderStore(orders_db, owner="room-b") as b,
    ):
        mine = await a.add_order_item(menu_item_id="latte", quantity=2)
        oid, line = mine["order_id"], mine["order_item_id"]
        with pytest.raises(StoreError, match="no order"):
            await b.get_order_details(oid)
        with pytest.raises(StoreError, match="no order"):
            await b.finish_order(oid)
        with pytest.raises(StoreError, match="no order"):
            await b.update_order(
                order_id=oid, attributes=[{"attribute_id": "name", "option": "Mallory"}]
            )
        with pytest.raises(StoreError, match="no order"):
            await b.add_order_item(menu_item_id="mocha", order_id=oid)
        with pytest.raises(StoreError, match="no order item"):
            await b.update_order_item(order_item_id=line, quantity=9)
        with pytest.raises(StoreError, match="no order item"):
            await b.update_order_item(order_item_id=line, remove=True)
        assert await b.open_order_id() is None
        # the owner's order is untouched, and an unknown id reads exactly like a foreign one
        details = await a.get_order_details(oid)
        assert details["status"] == "open" and details["attributes"] == []
        assert [(i["menu_item_id"], i["quantity"]) for i in details["menu_items"]] == [("latte", 2)]
        with pytest.raises(StoreError) as foreign:
            await b.get_order_details(oid)
        with pytest.raises(StoreError) as unknown:
            await b.get_order_details("10000" if oid != "10000" else "10001")
        assert str(foreign.value).replace(oid, "X") == str(unknown.value).replace(
            "10000" if oid != "10000" else "10001", "X"
        )


async def test_same_key_in_another_call_is_another_request(orders_db):
    async with OrderStore(orders_db, owner="a") as a, OrderStore(orders_db, owner="b") as b:
        first = await a.add_order_item(menu_item_id="latte", idempotency_key="turn-1")
        other = await b.add_order_item(menu_item_id="latte", idempotency_key="turn-1")
        assert "duplicate" not in other and other["order_id"] != first["order_id"]
        assert await a.count("order_items") == 2


async def test_a_retried_call_on_another_worker_finds_its_order(orders_db):
    async with OrderStore(orders_db, owner="room-7") as first_worker:
        r = await first_worker.add_order_item(menu_item_id="mocha")
    async with OrderStore(orders_db, owner="room-7") as second_worker:
        assert await second_worker.open_order_id() == r["order_id"]
        more = await second_worker.add_order_item(menu_item_id="latte", order_id=r["order_id"])
        assert more["order_id"] == r["order_id"]
        await second_worker.finish_order(r["order_id"])
        assert await second_worker.open_order_id() is None


# ---- separate processes -----------------------------------------------------------------


def _retry_worker(db: str, barrier: Any, out: Any) -> None:
    """One worker process serving the same call (same owner, same idempotency keys)."""

    async def main() -> dict[str, Any]:
        async with OrderStore(db, owner="room-retry") as s:
            await s.menu()  # warm: the race below is the writes, not the first open
            barrier.wait(timeout=60)
            added = await s.add_order_item(
                menu_item_id="latte", quantity=2, idempotency_key="turn-3:add"
            )
            finished = await s.finish_order(added["order_id"], idempotency_key="turn-4:finish")
            return {"added": added, "finished": finished}

    out.put(asyncio.run(main()))


def _busy_worker(db: str, barrier: Any, out: Any, worker: int, calls: int) -> None:
    """One worker process taking `calls` whole orders, each from its own call, all processes
    drawing ids from the one counter at the same time."""

    async def main() -> list[str]:
        done: list[str] = []
        stores = [OrderStore(db, owner=f"w{worker}-call{i}") for i in range(calls)]
        await stores[0].open()
        barrier.wait(timeout=60)
        for s in stores:
            r = await s.add_order_item(menu_item_id="cortado")
            await s.add_order_item(menu_item_id="mocha", order_id=r["order_id"])
            await s.finish_order(r["order_id"])
            done.append(r["order_id"])
        for s in stores:
            await s.close()
        return done

    out.put(asyncio.run(main()))


def _mp() -> Any:
    """Fresh interpreters (no state shared with pytest's), forked from a server that has
    imported the store once, so each worker starts in a fraction of a second."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def _run_processes(target: Any, args_of: list[tuple[Any, ...]], barrier: Any) -> list[Any]:
    ctx = _mp()
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a[:1], barrier, out, *a[1:])) for a in args_of]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


async def _migrated(db: str) -> None:
    async with OrderStore(db) as s:
        await s.menu()


async def test_duplicate_writes_from_two_processes_add_once_and_finish_once(orders_db):
    await _migrated(orders_db)
    workers = 3
    barrier = _mp().Barrier(workers)
    results = await asyncio.to_thread(
        _run_processes, _retry_worker, [(orders_db,)] * workers, barrier
    )
    order_ids = {r["added"]["order_id"] for r in results}
    line_ids = {r["added"]["order_item_id"] for r in results}
    assert len(order_ids) == 1 and len(line_ids) == 1, results
    assert sum("duplicate" not in r["added"] for r in results) == 1
    assert sum("duplicate" not in r["finished"] for r in results) == 1
    assert all(r["finished"]["success"] for r in results)
    async with OrderStore(orders_db, owner="room-retry") as s:
        assert await s.count("orders") == 1 and await s.count("order_items") == 1
        details = await s.get_order_details(order_ids.pop())
        assert details["status"] == "finished" and details["menu_items"][0]["quantity"] == 2


async def test_concurrent_callers_in_separate_processes_never_share_an_id(orders_db):
    await _migrated(orders_db)
    workers, calls = 3, 8
    barrier = _mp().Barrier(workers)
    results = await asyncio.to_thread(
        _run_processes,
        _busy_worker,
        [(orders_db, w, calls) for w in range(workers)],
        barrier,
    )
    ids = [oid for r in results for oid in r]
    assert len(ids) == len(set(ids)) == workers * calls
    async with OrderStore(orders_db) as s:
        assert await s.count("orders") == workers * calls
        assert await s.count("order_items") == 2 * workers * calls


async def test_a_cancelled_read_leaves_the_next_write_transactional():
    """Barge-in cancels read-only tools mid-query: the connection goes back to the pool in
    transaction mode, so a write that fails after it still rolls back whole."""
    db = require_postgres(migrated=True)
    async with OrderStore(db, owner="room-c", pool_size=1) as s:

        async def slow_read(tx: Any) -> Any:
            return await tx.fetchone("SELECT pg_sleep(5) AS slept")

        task = asyncio.ensure_future(s._run(slow_read))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(StoreError, match="no order"):
            await s.add_order_item(menu_item_id="latte", order_id="424242", idempotency_key="k")
        assert await s.count("idempotency") == 0 and await s.count("orders") == 0
        ok = await s.add_order_item(menu_item_id="latte", idempotency_key="k")
        assert await s.get_order_details(ok["order_id"])


async def test_a_call_cancelled_while_its_sqlite_transaction_begins_leaves_none_open(tmp_path):
    """Barge-in (or a tool timeout) can cancel a tool while SQLite's BEGIN runs in its worker
    thread: the BEGIN completes there regardless; it must be rolled back, or every later
    query of the call fails with "cannot start a transaction within a transaction"."""
    async with OrderStore(str(tmp_path / "o.sqlite"), owner="room-s") as s:
        for _ in range(20):  # cancel at several points of the BEGIN's round trip
            task = asyncio.ensure_future(s.add_order_item(menu_item_id="latte"))
            await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        ok = await s.add_order_item(menu_item_id="latte", idempotency_key="after")
        assert (await s.get_order_details(ok["order_id"]))["menu_items"]
