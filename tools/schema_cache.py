"""Each tool's argument model and JSON schema, derived once per tool instead of once per request.

LiveKit 1.8 derives a function tool's pydantic argument model from its signature and
docstring (`llm.utils.function_arguments_to_pydantic_model`: docstring parsing, type hints,
`pydantic.create_model`) and its JSON schema from that model on every LLM request, for every
tool offered (`build_strict_openai_schema` / `build_legacy_openai_schema`), and again to
validate each tool call's arguments. With the eleven tools a call offers that was 9.5-14.5 ms
of CPU before each request's first byte left (one tool: ~1.4 ms), measured by
`python -m evals.latency --cascade` as the suite's extra LLM time to first token.

A tool's signature, docstring, name and description do not change after it is made, so the
model and the schemas are kept per tool object (weakly: a tool that goes away takes its
entries with it) and each request gets a fresh copy of the schema. `install()` patches the
three functions in `livekit.agents.llm.utils` once per process; `tools` calls it on import,
so every session in the process (a bare `AgentSession` too) gets it.

Owns: the cache. Imports: livekit and the standard library.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable
from typing import Any

from livekit.agents.llm import utils as lk_utils

_lock = threading.Lock()
_installed = False
_models: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_schemas: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
originals: dict[str, Callable[..., Any]] = {}
"""LiveKit's own functions, as they were before `install` (for tests)."""
stats = {"derived": 0, "reused": 0}
"""Argument models and schemas derived, and requests served from the cache (for tests)."""


def _cached_model(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def function_arguments_to_pydantic_model(func: Any) -> Any:
        try:
            model = _models.get(func)
        except TypeError:  # not weakly referenceable: derive as LiveKit does
            return original(func)
        if model is None:
            model = _models[func] = original(func)
            stats["derived"] += 1
        else:
            stats["reused"] += 1
        return model

    return function_arguments_to_pydantic_model


def _cached_schema(original: Callable[..., dict[str, Any]], kind: str) -> Callable[..., Any]:
    def build(function_tool: Any, **kwargs: Any) -> dict[str, Any]:
        key = (kind, tuple(sorted(kwargs.items())))
        try:
            per_tool = _schemas.setdefault(function_tool, {})
        except TypeError:
            return original(function_tool, **kwargs)
        schema = per_tool.get(key)
        if schema is None:
            schema = per_tool[key] = original(function_tool, **kwargs)
            stats["derived"] += 1
        else:
            stats["reused"] += 1
        return copy.deepcopy(schema)  # the request may be changed on its way out

    build.__name__ = original.__name__
    return build


def install() -> None:
    """Patch LiveKit's per-request derivations with the per-tool cache (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        for name in (
            "function_arguments_to_pydantic_model",
            "build_strict_openai_schema",
            "build_legacy_openai_schema",
        ):
            originals[name] = getattr(lk_utils, name)
        lk_utils.function_arguments_to_pydantic_model = _cached_model(  # type: ignore[assignment]
            lk_utils.function_arguments_to_pydantic_model
        )
        lk_utils.build_strict_openai_schema = _cached_schema(  # type: ignore[assignment]
            lk_utils.build_strict_openai_schema, "strict"
        )
        lk_utils.build_legacy_openai_schema = _cached_schema(  # type: ignore[assignment]
            lk_utils.build_legacy_openai_schema, "legacy"
        )
        _installed = True
