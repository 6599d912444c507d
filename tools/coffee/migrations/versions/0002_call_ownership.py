"""Orders belong to the call that created them; idempotency keys are per call.

`orders.owner` is the call's id (the LiveKit room of a live call): every read and write of an
order names its owner, so another call cannot see or change it by guessing its five-digit id.
Orders made before this revision get the empty owner, which no call has.

`idempotency` is keyed by (owner, key) and its `result` is written after the change in the
same transaction (the key row is claimed first, so a concurrent duplicate waits on the
unique key instead of running the change a second time). Its rows are per-turn and
short-lived, so the table is recreated rather than copied.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("owner", sa.Text, nullable=False, server_default=""))
    op.create_index("orders_by_owner", "orders", ["owner", "status", "created_at"])
    op.drop_table("idempotency")
    op.create_table(
        "idempotency",
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("tool", sa.Text, nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("owner", "key", name="idempotency_pkey"),
    )


def downgrade() -> None:
    op.drop_table("idempotency")
    op.create_table(
        "idempotency",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("tool", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.drop_index("orders_by_owner", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("owner")
