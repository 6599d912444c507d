"""Baseline: the menu, orders, order lines and idempotency keys (the pre-Alembic schema).

Created with IF NOT EXISTS, so a database made by the pre-migration store is adopted as is.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "menu_items",
        sa.Column("menu_item_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("size", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("price", sa.Float),
        sa.Column("attributes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("addons", sa.Text, nullable=False, server_default="[]"),
        if_not_exists=True,
    )
    op.create_table(
        "attributes",
        sa.Column("attribute_id", sa.Text, primary_key=True),
        sa.Column("attribute_name", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False, server_default="[]"),
        if_not_exists=True,
    )
    op.create_table(
        "addons",
        sa.Column("addon_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False, server_default='["NO","ADD"]'),
        if_not_exists=True,
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("attributes", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.CheckConstraint("status IN ('open', 'finished')", name="orders_status"),
        if_not_exists=True,
    )
    op.create_table(
        "order_items",
        sa.Column("order_item_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, sa.ForeignKey("orders.order_id"), nullable=False),
        sa.Column(
            "menu_item_id", sa.Text, sa.ForeignKey("menu_items.menu_item_id"), nullable=False
        ),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False, server_default="{}"),
        sa.Column("addons", sa.Text, nullable=False, server_default="[]"),
        sa.Column("notes", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.CheckConstraint("quantity BETWEEN 1 AND 1000", name="order_items_quantity"),
        if_not_exists=True,
    )
    op.create_index("order_items_by_order", "order_items", ["order_id"], if_not_exists=True)
    op.create_table(
        "idempotency",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("tool", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    for table in ("idempotency", "order_items", "orders", "addons", "attributes", "menu_items"):
        op.drop_table(table)
