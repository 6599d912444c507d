"""Prompt formatting: chat context -> chat-template turns (with a tool list a small model can
follow) -> prompt text rendered with the model's GGUF chat template."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from livekit.agents import llm

from .tool_calls import TOOL_CALL_MARKER, ToolSpec

if TYPE_CHECKING:
    from .model_cache import LoadedModel

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""Used when a GGUF carries no ``tokenizer.chat_template``."""


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


def last_is_user(chat_ctx: llm.ChatContext) -> bool:
    """True when the last turn (system/developer messages skipped) is a user message."""
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role in ("system", "developer"):
            continue
        return item.type == "message" and item.role == "user"
    return False


def render_prompt(
    model: LoadedModel, messages: list[dict[str, str]], *, add_generation_prompt: bool = True
) -> str:
    """The prompt text for `messages` under the model's chat template; without the
    generation prompt (the assistant turn's opener) it is a prefix of the next request's."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(
        template=model.chat_template,
        eos_token=model.eos_token,
        bos_token=model.bos_token,
        add_generation_prompt=add_generation_prompt,
    )
    return formatter(messages=messages).prompt  # type: ignore[arg-type]
