"""The order benchmark runs end to end on both back ends and prints its table (no timing is
asserted: speed figures belong to the benchmark's output, not to tests)."""

from __future__ import annotations

from evals import orders_bench
from tests.pgcluster import require_postgres


def test_bench_prints_both_back_ends_side_by_side(tmp_path, capsys):
    pg = require_postgres(migrated=True)
    code = orders_bench.main(
        ["--callers", "1,3", "--orders", "1", "--processes", "2", "--postgres", pg,
         "--sqlite", str(tmp_path / "orders.sqlite")]
    )  # fmt: skip
    assert code == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    table = [r for r in rows if len(r) == 8 and r[0].isdigit()]
    assert [(r[0], r[1]) for r in table] == [
        ("1", "sqlite"), ("1", "postgresql"), ("3", "sqlite"), ("3", "postgresql")
    ]  # fmt: skip
    for r in table:
        p50, p95, orders_s = float(r[2]), float(r[3]), float(r[4])
        assert 0 < p50 <= p95 and orders_s > 0
    assert all(float(r[5]) == 1.0 for r in table if r[1] == "sqlite")


def test_bench_rejects_bad_arguments(capsys):
    assert orders_bench.main(["--callers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
