"""Alembic environment of the order store: migrates the connection it is handed.

`tools.coffee.migrate.upgrade` passes a live SQLAlchemy connection in
`config.attributes["connection"]` (taken under the migration lock). From the command line,
`alembic -c tools/coffee/migrations/alembic.ini -x db=ORDERS_DB upgrade head` works too (without
`-x db=`, the `ORDERS_DB` environment variable, else the default SQLite file).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


handed = config.attributes.get("connection")
if handed is not None:
    _run(handed)
else:
    from tools.coffee.db import parse_orders_db

    raw = context.get_x_argument(as_dictionary=True).get("db") or os.environ.get(
        "ORDERS_DB", ".data/orders.sqlite"
    )
    engine = create_engine(parse_orders_db(raw).sqlalchemy_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        _run(conn)
