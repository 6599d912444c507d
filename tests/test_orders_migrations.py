"""ORDERS_DB parsing, Alembic migrations on both back ends, and the worker's start-up check:
a bad URL or an unreachable server is one line at start, never a failure mid-call."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool

from tests.pgcluster import require_postgres
from tools.coffee import DbConfigError, OrderStore, check_orders_db, parse_orders_db
from tools.coffee.migrate import MIGRATIONS_DIR, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent

PRE_ALEMBIC_SCHEMA = """
CREATE TABLE menu_items (menu_item_id TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT
  NULL, size TEXT, description TEXT, price REAL, attributes TEXT NOT NULL DEFAULT '[]',
  addons TEXT NOT NULL DEFAULT '[]');
CREATE TABLE attributes (attribute_id TEXT PRIMARY KEY, attribute_name TEXT NOT NULL,
  options TEXT NOT NULL DEFAULT '[]');
CREATE TABLE addons (addon_id TEXT PRIMARY KEY, name TEXT NOT NULL,
  options TEXT NOT NULL DEFAULT '["NO","ADD"]');
CREATE TABLE orders (order_id TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'open'
  CHECK (status IN ('open', 'finished')), attributes TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL, finished_at REAL);
CREATE TABLE order_items (order_item_id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES
  orders(order_id), menu_item_id TEXT NOT NULL REFERENCES menu_items(menu_item_id), quantity
  INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000), attributes TEXT NOT NULL DEFAULT '{}',
  addons TEXT NOT NULL DEFAULT '[]', notes TEXT, created_at REAL NOT NULL);
CREATE INDEX order_items_by_order ON order_items(order_id);
CREATE TABLE idempotency (key TEXT PRIMARY KEY, tool TEXT NOT NULL, result TEXT NOT NULL,
  created_at REAL NOT NULL);
INSERT INTO menu_items VALUES ('latte', 'Latte', 'coffee', NULL, NULL, NULL, '[]', '[]');
INSERT INTO orders (order_id, created_at) VALUES ('12345', 1.0);
INSERT INTO order_items VALUES ('54321', '12345', 'latte', 1, '{}', '[]', NULL, 1.0);
INSERT INTO idempotency VALUES ('k', 'add_order_item', '{}', 1.0);
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def orders_db(request, tmp_path) -> str:
    if request.param == "postgresql":
        return require_postgres()
    return str(tmp_path / "orders.sqlite")


def test_schema_version_is_alembic_head():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("value", "dialect", "location"),
    [
        (".data/orders.sqlite", "sqlite", ".data/orders.sqlite"),
        ("sqlite:///tmp/x.db", "sqlite", "tmp/x.db"),
        (":memory:", "sqlite", ":memory:"),
        ("postgres://u:p@db:5432/shop", "postgresql", "postgresql://u:p@db:5432/shop"),
        (
            "postgresql://u@10.0.0.5/shop?sslmode=require",
            "postgresql",
            "postgresql://u@10.0.0.5/shop?sslmode=require",
        ),
    ],  # fmt: skip
)
def test_parse_orders_db(value, dialect, location):
    target = parse_orders_db(value)
    assert (target.dialect, target.location) == (dialect, location)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("mysql://u:hunter2@db/shop", "mysql://, which is not supported"),
        ("postgresql://u:hunter2@/shop", "names no host"),
        ("postgresql://u:hunter2@db:5432", "names no database"),
        ("postgresql://u:hunter2@db:99999/shop", "not a valid URL"),
    ],
)
def test_bad_orders_db_is_one_line_without_the_password(value, message):
    with pytest.raises(DbConfigError, match=message) as e:
        parse_orders_db(value)
    assert "\n" not in str(e.value) and "hunter2" not in str(e.value)


def test_unreachable_server_is_one_line_without_the_password():
    with pytest.raises(DbConfigError, match="cannot reach ORDERS_DB") as e:
        check_orders_db("postgresql://shop:hunter2@127.0.0.1:1/shop")
    assert "\n" not in str(e.value) and "hunter2" not in str(e.value)
    assert "shop:***@127.0.0.1:1" in str(e.value)


def test_wrong_database_name_is_one_line():
    url = require_postgres()
    with pytest.raises(DbConfigError, match="cannot reach ORDERS_DB.*does not exist") as e:
        check_orders_db(url.rsplit("/", 1)[0] + "/no_such_db")
    assert "\n" not in str(e.value)


def test_migrations_go_down_and_up_again(orders_db):
    first = check_orders_db(orders_db)
    assert first.endswith(f"schema {SCHEMA_VERSION}")
    assert check_orders_db(orders_db) == first  # a second start changes nothing
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = create_engine(parse_orders_db(orders_db).sqlalchemy_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        assert "owner" not in {c["name"] for c in inspect(conn).get_columns("orders")}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        assert "orders" not in inspect(conn).get_table_names()
    engine.dispose()
    assert check_orders_db(orders_db) == first


async def test_a_pre_alembic_sqlite_file_is_adopted_and_its_orders_kept(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(PRE_ALEMBIC_SCHEMA)
    async with OrderStore(db) as store:
        assert await store.count("orders") == 1 and await store.count("order_items") == 1
        assert await store.count("idempotency") == 0  # per-turn keys are not carried over
        assert await store.open_order_id() is None  # an owner-less order is nobody's call's
        added = await store.add_order_item(menu_item_id="latte", idempotency_key="k")
        assert "duplicate" not in added
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_VERSION
        )
        assert conn.execute("SELECT owner FROM orders WHERE order_id = '12345'").fetchone() == ("",)


def _worker_start(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "ORDERS_"))}
    env.update(
        LIVEKIT_URL="ws://127.0.0.1:1", LIVEKIT_API_KEY="k", LIVEKIT_API_SECRET="s" * 32,
        BRAIN="local", **env_extra,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "agent.py", "start"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("orders_db", "message"),
    [
        ("postgresql://shop:hunter2@127.0.0.1:1/shop", "cannot reach ORDERS_DB"),
        ("mongodb://db/shop", "not supported"),
    ],
)
def test_worker_start_fails_in_one_line_on_a_bad_orders_db(orders_db, message):
    done = _worker_start({"ORDERS_DB": orders_db})
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


async def test_worker_start_prunes_day_old_idempotency_keys(orders_db):
    import time

    from tools.coffee.migrate import IDEMPOTENCY_TTL_S

    async with OrderStore(orders_db, owner="old-call") as store:
        await store.add_order_item(menu_item_id="latte", idempotency_key="old")
        await store.add_order_item(menu_item_id="mocha", idempotency_key="new")
        engine = create_engine(parse_orders_db(orders_db).sqlalchemy_url, poolclass=pool.NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE idempotency SET created_at = "
                f"{time.time() - IDEMPOTENCY_TTL_S - 60} WHERE key = 'old'"
            )
        engine.dispose()
        check_orders_db(orders_db)
        assert await store.count("idempotency") == 1
        assert await store.count("order_items") == 2  # only the keys go, never the orders
