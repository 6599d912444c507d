"""Order and line ids from a counter that never runs out (`tools.coffee.orders.new_number`).

Before this revision ids were random five-digit numbers, never pruned: near full, most new
orders failed after 50 draws. Now PostgreSQL draws them from the sequence `order_numbers`
and SQLite from the `id_counters` row of the same name (bumped inside the write
transaction). Both start at 100000, above every id the old scheme could make, so the orders
already stored keep theirs and no new id meets one of them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FIRST = 100000


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE order_numbers AS bigint START WITH {FIRST} MINVALUE {FIRST}")
    else:
        op.create_table(
            "id_counters",
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("next_id", sa.BigInteger, nullable=False),
        )
        op.execute(f"INSERT INTO id_counters (name, next_id) VALUES ('order_numbers', {FIRST})")
    # retention (`tools.coffee.migrate.prune_orders`) finds old orders by their age
    op.create_index("orders_by_age", "orders", ["created_at"])


def downgrade() -> None:
    op.drop_index("orders_by_age", table_name="orders")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE order_numbers")
    else:
        op.drop_table("id_counters")
