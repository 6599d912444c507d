"""Tool calls: which tools a request may call, the GBNF grammar a call is generated under,
and parsing the generated call.

The model answers either plain text or ``<tool_call>`` followed by
``{"name": ..., "arguments": {...}}``; the JSON is generated under a llama.cpp grammar built
from the tools' JSON schemas, so it matches exactly one tool's parameters.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from livekit.agents import APIError, llm
from livekit.agents.llm import ToolChoice
from livekit.agents.llm.tool_context import Tool

from .models import ToolMode

TOOL_CALL_MARKER = "<tool_call>"
"""Written by the model before the JSON of a tool call; plain text never starts with '<'."""

TOOL_CALL_MAX_TOKENS = 256
"""Token budget of a tool call (the JSON must close within it); text replies use max_tokens."""

_ROOT_RULE = re.compile(r"^root ::=", flags=re.MULTILINE)


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


def tool_specs(tools: list[Tool]) -> list[ToolSpec]:
    """JSON schemas of the function tools, built with livekit's own helpers (as the OpenAI
    plugin does for its non-strict mode)."""
    specs: list[ToolSpec] = []
    for tool in tools:
        if isinstance(tool, llm.RawFunctionTool):
            raw = tool.info.raw_schema
            specs.append(
                ToolSpec(
                    name=raw["name"],
                    description=raw.get("description", "") or "",
                    parameters=copy.deepcopy(raw.get("parameters") or {"type": "object"}),
                )
            )
        elif isinstance(tool, llm.FunctionTool):
            schema = llm.utils.build_legacy_openai_schema(tool, internally_tagged=True)
            specs.append(
                ToolSpec(
                    name=schema["name"],
                    description=schema["description"],
                    parameters=copy.deepcopy(schema["parameters"]),
                )
            )
        # provider tools (hosted search etc.) have no meaning for a local model
    return specs


def plan_tool_use(tools: list[Tool], tool_choice: ToolChoice) -> tuple[list[ToolSpec], ToolMode]:
    """The callable tools and the mode: "text", "auto" or "tool"."""
    specs = tool_specs(tools)
    if not specs or tool_choice == "none":
        return [], "text"
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name")
        forced = [s for s in specs if s.name == name]
        if not forced:
            raise APIError(f"tool_choice names unknown function {name!r}", retryable=False)
        return forced, "tool"
    return specs, "tool" if tool_choice == "required" else "auto"


def tool_call_schema(specs: list[ToolSpec]) -> dict[str, Any]:
    """``{"name": <one tool>, "arguments": <that tool's parameters>}`` for exactly one tool."""
    defs: dict[str, Any] = {}
    alternatives = []
    for spec in specs:
        params = copy.deepcopy(spec.parameters)
        defs.update(params.pop("$defs", {}))
        params.setdefault("type", "object")
        params.setdefault("properties", {})
        alternatives.append(
            {
                "type": "object",
                "properties": {"name": {"const": spec.name}, "arguments": params},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    schema: dict[str, Any] = (
        {"oneOf": alternatives} if len(alternatives) > 1 else dict(alternatives[0])
    )
    if defs:
        schema["$defs"] = defs
    return schema


def tool_call_grammar(specs: list[ToolSpec]) -> str:
    """GBNF: the tool-call marker, then JSON matching exactly one tool's parameter schema."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    json_rules = json_schema_to_gbnf(
        json.dumps(tool_call_schema(specs)), prop_order=["name", "arguments"]
    )
    json_rules = _ROOT_RULE.sub("lk-tool-json ::=", json_rules)
    return f'root ::= "{TOOL_CALL_MARKER}" space lk-tool-json\n{json_rules}'


def parse_tool_call(text: str) -> dict[str, Any]:
    """``{"name": ..., "arguments": ...}`` from the generated text; APIError when incomplete."""
    body = text.strip()
    if body.startswith(TOOL_CALL_MARKER):
        body = body[len(TOOL_CALL_MARKER) :]
    try:
        call = json.loads(body)
    except json.JSONDecodeError as e:
        raise APIError(
            f"tool call did not complete within {TOOL_CALL_MAX_TOKENS} tokens: {text!r}",
            retryable=False,
        ) from e
    if not isinstance(call, dict) or "name" not in call or "arguments" not in call:
        raise APIError(f"malformed tool call: {text!r}", retryable=False)
    return call
