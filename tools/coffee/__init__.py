"""The coffee-ordering domain: Taskmaster-4's coffee API as tools, over an order store
(SQLite or PostgreSQL).

Public API (bound by agents/ and evals/):

    store = OrderStore(settings.orders_db, owner=call_id)  # SQLite path or postgresql:// URL;
                                                    # opens lazily (or `await store.open()`)
    check_orders_db(settings.orders_db)             # worker start: reach, migrate, seed
    tools = build_coffee_tools(store, runtime)      # runtime: tools.ToolRuntime
    Agent(instructions=COFFEE_INSTRUCTIONS, tools=tools)
    AgentSession(..., max_tool_steps=MAX_TOOL_STEPS)

Modules: `api_tools` (the eight tools, the prompt), `store` (the `OrderStore` facade) over
`db` (`db_sqlite`, `db_postgres`), `migrate` (Alembic, `migrations/`), `schema`, `menu`,
`options`, `orders`, `details`, `idempotency`, `validation`; `taskmaster4`
(the dataset reader) and `build_menu` (`python -m tools.coffee.build_menu` -> `data/menu.json`).
Derived from Taskmaster-4 (Google, CC BY 4.0): see tools/README.md (NOTICE section).

Owns: re-exports of the domain. May import: `tools.runtime` (through its modules), livekit,
pydantic and the standard library; never `agents` or `evals`. `build_menu` and `taskmaster4`
are not imported here (a command line and a dataset reader, not needed to take an order).
"""

from .api_tools import COFFEE_INSTRUCTIONS, MAX_TOOL_STEPS, READ_ONLY, build_coffee_tools
from .db import DbConfigError, parse_orders_db
from .menu import MENU_JSON
from .migrate import check_orders_db
from .options import match_option
from .store import OrderStore
from .validation import MAX_QUANTITY, StoreError, base_id, slug

__all__ = [
    "COFFEE_INSTRUCTIONS",
    "DbConfigError",
    "MAX_QUANTITY",
    "MAX_TOOL_STEPS",
    "MENU_JSON",
    "OrderStore",
    "READ_ONLY",
    "StoreError",
    "base_id",
    "build_coffee_tools",
    "check_orders_db",
    "match_option",
    "parse_orders_db",
    "slug",
]
