"""Order-store benchmark: tool-call latency and orders per second, SQLite vs PostgreSQL.

    python -m evals.orders_bench [--callers 1,10,50] [--orders 3] [--processes 4]
                                 [--postgres URL] [--sqlite PATH]

Each caller is one call after another (`--orders` calls per caller), each call a fresh
`OrderStore` with its own owner making the tool calls of a real order, in the order the agent
makes them: get_menu_items, get_addons (menu options and add-ons), add_order_item twice,
update_order (to go), get_order_details, finish_order; the writes carry idempotency keys, as
the tools' do. The callers are spread over `--processes` worker processes (LiveKit runs calls
in separate job processes; the stores of one process share its SQLite connection or its
psycopg pool) and start together. Per back end and concurrency it prints the tool-call p50
and p95 (ms) and the finished orders per second, with PostgreSQL's figures as ratios of
SQLite's, measured in the same run. Without `--postgres` it starts a throwaway PostgreSQL on
loopback (`evals.pg_server`, Debian's `postgresql`); with fsync off there, so the figures
compare the code paths and the servers, not the disks. Run it under `nice -n 15` on a shared box.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOOLS = ("get_menu_items", "get_addons", "add_order_item", "update_order",
         "get_order_details", "finish_order")  # fmt: skip


@dataclass
class Sample:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TOOLS})
    orders: int = 0
    started: float = 0.0
    ended: float = 0.0


async def one_call(db: str, sample: Sample) -> None:
    """One caller's call: the tool calls of one order, each timed."""
    from tools.coffee import OrderStore

    owner = f"bench-{uuid.uuid4().hex}"
    async with OrderStore(db, owner=owner) as store:

        async def timed(tool: str, coro: Any) -> Any:
            t0 = time.perf_counter()
            out = await coro
            sample.latencies[tool].append(time.perf_counter() - t0)
            return out

        found = await timed("get_menu_items", store.search_menu("latte"))
        item = found[0]["menu_item_id"]

        async def addons() -> None:
            await store.attributes()
            await store.addons()

        await timed("get_addons", addons())
        first = await timed(
            "add_order_item",
            store.add_order_item(
                menu_item_id=item,
                attributes=[{"attribute_id": "milk-options", "option": "oat"}],
                idempotency_key=f"{owner}:1",
            ),
        )
        oid = first["order_id"]
        await timed(
            "add_order_item",
            store.add_order_item(
                menu_item_id="mocha", quantity=2, order_id=oid, idempotency_key=f"{owner}:2"
            ),
        )
        await timed(
            "update_order",
            store.update_order(
                order_id=oid,
                attributes=[{"attribute_id": "order-type", "option": "To go"}],
                idempotency_key=f"{owner}:3",
            ),
        )
        await timed("get_order_details", store.get_order_details(oid))
        done = await timed("finish_order", store.finish_order(oid, idempotency_key=f"{owner}:4"))
        assert done["success"] and "already_finished" not in done
        sample.orders += 1


async def run_process(db: str, callers: int, orders: int, barrier: Any) -> Sample:
    from tools.coffee import OrderStore

    sample = Sample()
    warm = OrderStore(db)  # keeps this process's connection / pool open for its callers
    await warm.open()
    await warm.menu()
    await asyncio.to_thread(barrier.wait, 120)
    sample.started = time.time()

    async def caller() -> None:
        for _ in range(orders):
            await one_call(db, sample)

    await asyncio.gather(*(caller() for _ in range(callers)))
    sample.ended = time.time()
    await warm.close()
    return sample


def _child(db: str, callers: int, orders: int, barrier: Any, out: Any) -> None:
    out.put(asyncio.run(run_process(db, callers, orders, barrier)))


def measure(db: str, callers: int, orders: int, processes: int) -> dict[str, float]:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__, "tools.coffee"])
    nproc = max(1, min(processes, callers))
    shares = [callers // nproc + (1 if i < callers % nproc else 0) for i in range(nproc)]
    barrier, out = ctx.Barrier(nproc), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(db, n, orders, barrier, out)) for n in shares]
    for p in procs:
        p.start()
    samples: list[Sample] = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            raise RuntimeError(f"a benchmark process failed (exit {p.exitcode})")
    lat = [x for s in samples for v in s.latencies.values() for x in v]
    wall = max(s.ended for s in samples) - min(s.started for s in samples)
    total = sum(s.orders for s in samples)
    q = statistics.quantiles(lat, n=20, method="inclusive")
    return {"p50": statistics.median(lat) * 1000, "p95": q[18] * 1000, "orders_s": total / wall,
            "orders": total, "calls": len(lat)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m evals.orders_bench", description=__doc__.split("\n")[0]
    )
    p.add_argument("--callers", default="1,10,50", help="concurrent callers, comma-separated")
    p.add_argument("--orders", type=int, default=3, help="calls (orders) per caller")
    p.add_argument("--processes", type=int, default=4, help="worker processes (at most)")
    p.add_argument("--postgres", default="", help="postgresql:// URL (default: a throwaway server)")
    p.add_argument("--sqlite", default="", help="SQLite file (default: a temp file)")
    args = p.parse_args(argv)
    try:
        levels = [int(x) for x in args.callers.split(",") if x.strip()]
        if not levels or min(levels) < 1 or args.orders < 1 or args.processes < 1:
            raise ValueError
    except ValueError:
        print(f"error: --callers {args.callers!r} / --orders / --processes must be positive integers",
              file=sys.stderr)  # fmt: skip
        return 2

    from tools.coffee import DbConfigError, check_orders_db

    tmp = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    sqlite_db = args.sqlite or str(tmp / "orders.sqlite")
    pg_db = args.postgres
    if not pg_db:
        from evals.pg_server import PostgresUnavailable, fresh_database_url

        try:
            pg_db = fresh_database_url()
        except PostgresUnavailable as e:
            print(f"error: {e}; or pass --postgres URL", file=sys.stderr)
            return 2
    backends = {"sqlite": sqlite_db, "postgresql": pg_db}
    try:
        for db in backends.values():
            check_orders_db(db)
    except DbConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    print(f"orders bench: {args.orders} calls per caller, 6 tool kinds (7 tool calls) per call, "
          f"up to {args.processes} processes, {mp.cpu_count()} CPUs")  # fmt: skip
    header = (f"{'callers':>7}  {'backend':<10} {'p50 ms':>8} {'p95 ms':>8} {'orders/s':>9}"
              f"  {'p50 x':>6} {'p95 x':>6} {'orders/s x':>10}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for level in levels:
        base: dict[str, float] | None = None
        for name, db in backends.items():
            r = measure(db, level, args.orders, args.processes)
            if base is None:
                base = r
            print(f"{level:>7}  {name:<10} {r['p50']:>8.2f} {r['p95']:>8.2f} {r['orders_s']:>9.1f}"
                  f"  {r['p50'] / base['p50']:>6.2f} {r['p95'] / base['p95']:>6.2f}"
                  f" {r['orders_s'] / base['orders_s']:>10.2f}", flush=True)  # fmt: skip
    print("(x: ratio to SQLite at the same concurrency, same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
