"""Tool runtime and the coffee-ordering domain (Taskmaster-4 API) for every brain.

Public API (bound by agents/):

    store = OrderStore(settings.orders_db)          # sync ctor; opens lazily (or `await store.open()`)
    runtime = ToolRuntime(ToolRuntimeOptions(timeout=8.0, filler_delay=1.0))
    tools = build_coffee_tools(store, runtime) + build_call_control_tools(runtime)
    Agent(instructions=COFFEE_INSTRUCTIONS, tools=tools)

See tools/README.md for behaviour (timeout, filler, barge-in, idempotency, event records).
"""

from .call_control import CallControlOptions, DtmfBuffer, build_call_control_tools
from .coffee import COFFEE_INSTRUCTIONS, MAX_TOOL_STEPS, build_coffee_tools
from .runtime import (
    ToolCallRecord,
    ToolEventLog,
    ToolRuntime,
    ToolRuntimeOptions,
    idempotency_key,
    tool_event_log,
    turn_key,
)
from .store import OrderStore, StoreError

__all__ = [
    "COFFEE_INSTRUCTIONS",
    "CallControlOptions",
    "DtmfBuffer",
    "MAX_TOOL_STEPS",
    "OrderStore",
    "StoreError",
    "ToolCallRecord",
    "ToolEventLog",
    "ToolRuntime",
    "ToolRuntimeOptions",
    "build_call_control_tools",
    "build_coffee_tools",
    "idempotency_key",
    "tool_event_log",
    "turn_key",
]
