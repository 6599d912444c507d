"""The generic tool runtime and call control, used identically by every brain.

Public API (bound by agents/):

    runtime = ToolRuntime(ToolRuntimeOptions(timeout=8.0, filler_delay=1.0))
    tools = [*domain_tools, *build_call_control_tools(runtime, transfer_to=settings.transfer_to)]

The coffee-ordering domain (Taskmaster-4 API tools, order store, menu) is `tools.coffee`.
See tools/README.md for behaviour (timeout, filler, barge-in, idempotency, event records).

Importing it installs `tools.schema_cache` (each tool's argument model and JSON schema
derived once, not on every LLM request).

Owns: re-exports of `tools.runtime` and `tools.call_control`. May import: livekit, pydantic,
the standard library and those modules; never `tools.coffee` (a domain builds on the
runtime, not the other way round), `agents` or `evals`.
"""

from . import schema_cache
from .call_control import CallControlOptions, DtmfBuffer, build_call_control_tools
from .runtime import (
    RecoverableToolError,
    ToolCallRecord,
    ToolEventLog,
    ToolRuntime,
    ToolRuntimeOptions,
    idempotency_key,
    tool_event_log,
    turn_key,
)

__all__ = [
    "CallControlOptions",
    "DtmfBuffer",
    "RecoverableToolError",
    "ToolCallRecord",
    "ToolEventLog",
    "ToolRuntime",
    "ToolRuntimeOptions",
    "build_call_control_tools",
    "idempotency_key",
    "tool_event_log",
    "turn_key",
]

schema_cache.install()
