"""Chat context -> chat-template messages, tool descriptions and tool-call grammars."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from livekit.agents import llm
from livekit.agents.llm.tool_context import Tool

TOOL_CALL_MARKER = "<tool_call>"
"""Written by the model before the JSON of a tool call; plain text never starts with '<'."""

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


def _type_label(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "|".join(json.dumps(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type_label(s) for s in schema["anyOf"] if s.get("type") != "null")
    if schema.get("type") == "array":
        return f"list of {_type_label(schema.get('items', {}))}"
    if "$ref" in schema:
        return "object"
    return str(schema.get("type", "any"))


def describe_tools(specs: list[ToolSpec]) -> str:
    """A compact tool list a very small model can follow."""
    lines = ["You can call these tools:"]
    for spec in specs:
        props: dict[str, Any] = spec.parameters.get("properties", {})
        required = set(spec.parameters.get("required", []))
        params = ", ".join(
            f"{name}: {_type_label(prop)}{'' if name in required else ' (optional)'}"
            for name, prop in props.items()
        )
        desc = " ".join(spec.description.split())
        lines.append(f"- {spec.name}({params}){': ' + desc if desc else ''}")
    example = specs[0]
    example_args = {
        name: _example_value(prop)
        for name, prop in example.parameters.get("properties", {}).items()
        if name in set(example.parameters.get("required", []))
    }
    lines.append(
        f"To call a tool, reply with {TOOL_CALL_MARKER} and then JSON, for example: "
        f"{TOOL_CALL_MARKER}"
        + json.dumps({"name": example.name, "arguments": example_args})
        + "\nOtherwise reply with plain text."
    )
    return "\n".join(lines)


def _example_value(schema: dict[str, Any]) -> Any:
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    return {
        "string": "...",
        "integer": 1,
        "number": 1,
        "boolean": True,
        "array": [],
        "object": {},
    }.get(str(schema.get("type")), "...")


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


def _text_of(item: llm.ChatMessage) -> str:
    return (item.text_content or "").strip()


def to_chat_messages(chat_ctx: llm.ChatContext, *, tool_prompt: str | None) -> list[dict[str, str]]:
    """Render the chat context as system/user/assistant turns for the GGUF chat template.

    system/developer -> one system turn (first), function calls -> assistant turns written the
    way the model is asked to call tools, function outputs -> user turns stating the result.
    """
    system_parts: list[str] = []
    turns: list[dict[str, str]] = []

    def add(role: str, content: str) -> None:
        if not content:
            return
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n" + content
        else:
            turns.append({"role": role, "content": content})

    for item in chat_ctx.items:
        if item.type == "message":
            text = _text_of(item)
            if item.role in ("system", "developer"):
                if text:
                    system_parts.append(text)
            else:
                add(item.role, text)
        elif item.type == "function_call":
            try:
                args = json.loads(item.arguments or "{}")
            except json.JSONDecodeError:
                args = item.arguments
            add("assistant", TOOL_CALL_MARKER + json.dumps({"name": item.name, "arguments": args}))
        elif item.type == "function_call_output":
            label = "Error from" if item.is_error else "Result of"
            add("user", f"{label} {item.name or 'the tool'}: {item.output}")
        # agent handoffs / config updates carry nothing the model should read

    if tool_prompt:
        system_parts.append(tool_prompt)
    messages: list[dict[str, str]] = []
    if system_parts:
        messages.append({"role": "system", "content": "\n\n".join(system_parts)})
    messages.extend(turns)
    return messages
