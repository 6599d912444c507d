"""Loopback OpenAI Chat Completions server (``POST /v1/chat/completions``, ``GET /v1/models``).

Usage::

    async with OpenAIChatServer(tool_then_text("get_weather", {"city": "Paris"}, "Sunny.")) as srv:
        llm = openai.LLM(model="gpt-4.1", base_url=srv.base_url, api_key="test")
        ...
        assert srv.requests[-1]["messages"][-1]["role"] == "tool"
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from aiohttp import web

from ._common import LoopbackServer, new_id, split_chars, split_pieces
from .faults import MALFORMED, STALL_S, Fault, FaultKind, hit
from .script import Fail, Reply, Script, run_script, text


class OpenAIChatServer(LoopbackServer):
    """Scripted Chat Completions endpoint.

    Args:
        script: ``script(request_json) -> str | ToolCall | list[ToolCall] | Reply | Fail``
            (see :mod:`tests.loopback.script`). Defaults to a fixed text answer.
        first_token_delay: seconds before the first streamed chunk (simulated TTFT).
        token_delay: seconds between streamed chunks.
        args_chunk_chars: size of the pieces tool-call arguments are streamed in.

    Recorded: ``requests`` (request JSON bodies, in order), ``headers`` (their headers),
    ``replies`` (the normalized reply sent for each request), ``model_list_calls``,
    ``usages`` (the ``usage`` object reported for each request, as OpenAI bills it).

    Usage: ``prompt_tokens`` is a quarter of the request's messages JSON length; with
    ``prompt_cache_min`` set, prompt caching as OpenAI's: a prompt of at least that many
    tokens (OpenAI: 1024) that shares a prefix with an earlier request reports that prefix,
    rounded down to ``prompt_cache_block`` tokens (OpenAI: 128), as ``cached_tokens``.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        args_chunk_chars: int = 7,
        fault: Fault | None = None,
        prompt_cache_min: int | None = None,
        prompt_cache_block: int = 128,
    ) -> None:
        self.script: Script = script or text("Hello from the loopback model.")
        self.first_token_delay = first_token_delay
        self.token_delay = token_delay
        self.args_chunk_chars = args_chunk_chars
        self.fault = fault
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.replies: list[Reply | Fail] = []
        self.model_list_calls = 0
        self.prompt_cache_min = prompt_cache_min
        self.prompt_cache_block = prompt_cache_block
        self.usages: list[dict[str, Any]] = []
        self._prompts: list[str] = []
        super().__init__()

    @property
    def base_url(self) -> str:
        """For ``openai.LLM(base_url=...)``: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.root_url}/v1"

    def _setup_routes(self, app: web.Application) -> None:
        for prefix in ("/v1", ""):
            app.router.add_post(f"{prefix}/chat/completions", self._completions)
            app.router.add_get(f"{prefix}/models", self._models)

    async def _models(self, request: web.Request) -> web.Response:
        self.model_list_calls += 1
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": "gpt-4.1", "object": "model", "created": 0, "owned_by": "loopback"},
                    {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "loopback"},
                ],
            }
        )

    @staticmethod
    def _error(status: int, message: str, type_: str, code: str | None) -> web.Response:
        return web.json_response(
            {"error": {"message": message, "type": type_, "param": None, "code": code}},
            status=status,
        )

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except Exception:
            return self._error(400, "invalid JSON body", "invalid_request_error", None)
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if not isinstance(body.get("messages"), list) or "model" not in body:
            return self._error(
                400, "'messages' and 'model' are required", "invalid_request_error", None
            )

        fault = hit(self.fault)
        if fault == "http_5xx":
            return self._error(500, "loopback injected outage", "server_error", "server_error")
        if fault == "slow_first_byte":
            assert self.fault is not None
            await asyncio.sleep(self.fault.delay)
        try:
            reply = await run_script(self.script, body)
        except Exception as e:  # a broken script is a server error, visible to the test
            reply = Fail(500, f"loopback script raised {type(e).__name__}: {e}")
        self.replies.append(reply)
        if isinstance(reply, Fail):
            return self._error(reply.status, reply.message, reply.type, reply.code)

        model = body["model"]
        completion_id = new_id("chatcmpl-", 24)
        created = int(time.time())
        prompt_tokens = max(1, len(json.dumps(body["messages"])) // 4)
        cached = self._cached_tokens(json.dumps(body["messages"]), prompt_tokens)
        if body.get("stream"):
            return await self._stream(
                request, body, reply, completion_id, created, prompt_tokens, fault, cached
            )

        tool_calls = [
            {
                "id": tc.resolved_call_id(),
                "type": "function",
                "function": {"name": tc.name, "arguments": tc.arguments_json()},
            }
            for tc in reply.tool_calls
        ]
        completion_tokens = max(1, len(split_pieces(reply.text))) + 5 * len(tool_calls)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text if reply.text or not tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if tool_calls:
            message["tool_calls"] = tool_calls
        return web.json_response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_loopback",
                "service_tier": "default",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if tool_calls else "stop",
                    }
                ],
                "usage": self._usage(prompt_tokens, completion_tokens, cached),
            }
        )

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        reply: Reply,
        completion_id: str,
        created: int,
        prompt_tokens: int,
        fault: FaultKind | None = None,
        cached: int = 0,
    ) -> web.StreamResponse:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "x-request-id": new_id("req_"),
            }
        )
        await resp.prepare(request)

        def envelope(choices: list[dict[str, Any]]) -> dict[str, Any]:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "system_fingerprint": "fp_loopback",
                "service_tier": "default",
                "choices": choices,
            }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            c = envelope([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
            if include_usage:
                c["usage"] = None
            return c

        first = [True]

        async def send(obj: dict[str, Any]) -> None:
            if first[0]:
                first[0] = False
                if self.first_token_delay:
                    await asyncio.sleep(self.first_token_delay)
            elif self.token_delay:
                await asyncio.sleep(self.token_delay)
            await resp.write(f"data: {json.dumps(obj)}\n\n".encode())

        completion_tokens = 0
        if fault == "malformed":
            await resp.write(f"data: {MALFORMED}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        if fault in ("drop", "stall"):
            await send(chunk({"role": "assistant", "content": "", "refusal": None}))
            await send(chunk({"content": split_pieces(reply.text or "Let me")[0]}))
            if fault == "stall":
                await asyncio.sleep(STALL_S)
            assert request.transport is not None
            request.transport.close()  # cut mid-stream: no [DONE], no usage
            return resp
        if reply.text or not reply.tool_calls:
            await send(chunk({"role": "assistant", "content": "", "refusal": None}))
            for piece in split_pieces(reply.text):
                completion_tokens += 1
                await send(chunk({"content": piece}))
        for index, tc in enumerate(reply.tool_calls):
            head: dict[str, Any] = {
                "tool_calls": [
                    {
                        "index": index,
                        "id": tc.resolved_call_id(),
                        "type": "function",
                        "function": {"name": tc.name, "arguments": ""},
                    }
                ]
            }
            if index == 0 and not reply.text:
                head = {"role": "assistant", "content": None, **head}
            await send(chunk(head))
            for piece in split_chars(tc.arguments_json(), self.args_chunk_chars):
                completion_tokens += 1
                await send(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
        await send(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
        if include_usage:
            usage = self._usage(prompt_tokens, max(1, completion_tokens), cached)
            await send({**envelope([]), "usage": usage})
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    def _cached_tokens(self, prompt: str, prompt_tokens: int) -> int:
        """OpenAI-style prompt caching (see the class): tokens of `prompt` already seen."""
        earlier, self._prompts = self._prompts, [*self._prompts, prompt]
        if self.prompt_cache_min is None or prompt_tokens < self.prompt_cache_min:
            return 0
        shared = max((len(os.path.commonprefix([p, prompt])) for p in earlier), default=0)
        block = self.prompt_cache_block
        return min(prompt_tokens, shared // 4 // block * block)

    def _usage(self, prompt_tokens: int, completion_tokens: int, cached: int) -> dict[str, Any]:
        usage = _usage(prompt_tokens, completion_tokens, cached)
        self.usages.append(usage)
        return usage


def _usage(prompt_tokens: int, completion_tokens: int, cached: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
