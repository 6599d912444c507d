"""Scripts: what the loopback "model" answers.

A script is a callable ``script(request: dict) -> reply``. The request is

* for the chat server, the JSON body of ``POST /v1/chat/completions`` (``messages``, ``tools``...);
* for the realtime server, ``{"items": [conversation items, OpenAI format], "instructions": str,
  "tools": [...], "tool_choice": ..., "output_modalities": [...], "response": {response.create
  params or {} for a server-VAD response}, "trigger": "client" | "server_vad"}``.

A reply is a ``str`` (spoken/text answer), a :class:`ToolCall`, a list of ``ToolCall``, a
:class:`Reply` (text and/or tool calls) or a :class:`Fail` (provider error). A script may also be
an ``async`` callable.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._common import new_id


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)

    def resolved_call_id(self) -> str:
        if self.call_id is None:
            self.call_id = new_id("call_", 24)
        return self.call_id


@dataclass
class Reply:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass
class Fail:
    """Make the provider fail this request (chat: HTTP error; realtime: response failed)."""

    status: int = 500
    message: str = "loopback failure"
    code: str | None = "server_error"
    type: str = "server_error"


ReplyLike = str | ToolCall | list[ToolCall] | Reply | Fail
Script = Callable[[dict[str, Any]], Any]


def as_reply(value: Any) -> Reply | Fail:
    if isinstance(value, (Reply, Fail)):
        return value
    if value is None:
        return Reply()
    if isinstance(value, str):
        return Reply(text=value)
    if isinstance(value, ToolCall):
        return Reply(tool_calls=[value])
    if isinstance(value, (list, tuple)) and all(isinstance(v, ToolCall) for v in value):
        return Reply(tool_calls=list(value))
    raise TypeError(f"script returned an unsupported reply: {value!r}")


async def run_script(script: Script, request: dict[str, Any]) -> Reply | Fail:
    value = script(request)
    if inspect.isawaitable(value):
        value = await value
    reply = as_reply(value)
    if isinstance(reply, Reply):
        # fresh ids for each call, so a reused ToolCall object never repeats its call_id
        reply = Reply(
            text=reply.text,
            tool_calls=[ToolCall(tc.name, tc.arguments, tc.call_id) for tc in reply.tool_calls],
        )
    return reply


def last_is_tool_result(request: dict[str, Any]) -> bool:
    """True when the last chat message / conversation item is a tool (function) output."""
    if "messages" in request:
        msgs = request.get("messages") or []
        return bool(msgs) and msgs[-1].get("role") == "tool"
    items = request.get("items") or []
    return bool(items) and items[-1].get("type") == "function_call_output"


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for c in content:
        if isinstance(c, str):
            parts.append(c)
        elif isinstance(c, dict):
            parts.append(c.get("text") or c.get("transcript") or "")
    return " ".join(p for p in parts if p)


def last_user_text(request: dict[str, Any]) -> str:
    """The text of the last user message (chat) or user item (realtime: text or transcript)."""
    if "messages" in request:
        for m in reversed(request.get("messages") or []):
            if m.get("role") == "user":
                return _content_text(m.get("content"))
        return ""
    for it in reversed(request.get("items") or []):
        if it.get("type") == "message" and it.get("role") == "user":
            return _content_text(it.get("content"))
    return ""


def tool_then_text(
    tool_name: str, args: dict[str, Any] | str | None = None, final_text: str = "Done."
) -> Script:
    """If the last message is not a tool result, call `tool_name(args)`; else say `final_text`."""

    def _script(request: dict[str, Any]) -> ReplyLike:
        if last_is_tool_result(request):
            return final_text
        return ToolCall(tool_name, args if args is not None else {})

    return _script


def text(reply: str) -> Script:
    """Always answer `reply`."""
    return lambda request: reply


def echo(prefix: str = "You said: ") -> Script:
    """Answer with `prefix` + the last user text."""
    return lambda request: f"{prefix}{last_user_text(request)}"


def sequence(*replies: ReplyLike | Script, repeat_last: bool = True) -> Script:
    """Answer the given replies in order (a callable entry is called with the request).

    After the last one, repeat it (``repeat_last``) or answer an empty text.
    """
    it = iter(replies)
    last: list[Any] = [Reply()]

    def _script(request: dict[str, Any]) -> Any:
        nxt = next(it, None)
        if nxt is None:
            nxt = last[0] if repeat_last else Reply()
        last[0] = nxt
        return nxt(request) if callable(nxt) else nxt

    return _script
