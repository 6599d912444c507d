"""Loopback OpenAI Realtime server (GA protocol: ``GET /v1/realtime?model=...`` WebSocket).

Speaks the GA event names the installed plugin uses (``session.update`` with
``type: "realtime"`` and nested ``audio.input/output``, ``conversation.item.added``,
``response.output_audio.delta``, ``response.output_audio_transcript.delta``,
``response.output_text.delta``...). Server VAD is emulated by energy; user transcripts and
responses come from scripts.

Usage::

    async with OpenAIRealtimeServer(
        tool_then_text("get_weather", {"city": "Paris"}, "It is sunny in Paris."),
        user_transcripts=["What's the weather in Paris?"],
    ) as rt:
        model = openai.realtime.RealtimeModel(base_url=rt.base_url, api_key="test")
        ...
        assert rt.responses[0]["reply"].tool_calls[0].name == "get_weather"
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import time
from typing import Any

from aiohttp import WSMsgType, web

from ._common import (
    EnergySegmenter,
    LoopbackServer,
    ToneGenerator,
    new_id,
    split_chars,
    split_pieces,
    text_duration,
)
from .faults import MALFORMED, STALL_S, Fault, hit
from .script import Fail, Reply, Script, ToolCall, run_script, text

_SEMANTIC_SILENCE_MS = {"low": 1200, "medium": 600, "auto": 600, "high": 300}


def _default_turn_detection(td: dict[str, Any]) -> dict[str, Any]:
    if td.get("type") == "semantic_vad":
        base = {
            "type": "semantic_vad",
            "eagerness": "auto",
            "create_response": True,
            "interrupt_response": True,
        }
    else:
        base = {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "idle_timeout_ms": None,
            "create_response": True,
            "interrupt_response": True,
        }
    base.update({k: v for k, v in td.items() if v is not None or k not in base})
    return base


def _merge(dst: dict[str, Any], src: dict[str, Any], path: tuple[str, ...] = ()) -> None:
    for k, v in src.items():
        if path + (k,) == ("audio", "input", "turn_detection") and isinstance(v, dict):
            dst[k] = _default_turn_detection(v)
        elif isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v, path + (k,))
        else:
            dst[k] = copy.deepcopy(v)


class OpenAIRealtimeServer(LoopbackServer):
    """Scripted OpenAI Realtime endpoint.

    Args:
        script: decides each response: ``script(request) -> str | ToolCall | list[ToolCall] |
            Reply | Fail`` (request keys: ``items``, ``instructions``, ``tools``, ``tool_choice``,
            ``output_modalities``, ``response``, ``trigger``; see :mod:`tests.loopback.script`).
        user_transcripts: transcripts of the user's audio turns, one per committed audio item
            (server VAD or ``input_audio_buffer.commit``), in order. Once exhausted: ``""``.
        vad_threshold: RMS (int16) above which a 10 ms window counts as speech.
        silence_ms: overrides the end-of-turn silence (default: ``silence_duration_ms`` of
            server_vad, or 1200/600/300 ms for semantic_vad eagerness low/medium|auto/high).
        min_speech_ms: loud audio needed before ``speech_started``.
        seconds_per_char: assistant audio seconds per non-blank character.
        audio_chunk_ms: audio per ``response.output_audio.delta``.
        response_delay: seconds between ``response.created`` and the first output (TTFT).
        realtime_factor: pace audio deltas at this multiple of real time (``None``: as fast as
            possible, like the real service, which streams faster than playout).

    Recorded: ``connections`` (query params), ``headers``, ``client_events`` (every client event
    except ``input_audio_buffer.append``), ``received_audio`` / ``received_audio_bytes``
    (appended pcm16), ``sessions`` (latest session config per connection), ``items`` (the
    conversation of the latest connection), ``responses`` (``{"id", "request", "reply",
    "status", "trigger"}`` per response), ``server_events`` (every event sent except audio
    deltas), ``user_transcripts_sent``.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        user_transcripts: list[str] | None = None,
        vad_threshold: float = 500.0,
        silence_ms: float | None = None,
        min_speech_ms: float = 60.0,
        seconds_per_char: float = 0.06,
        audio_chunk_ms: int = 50,
        response_delay: float = 0.0,
        realtime_factor: float | None = None,
        freq: float = 200.0,
        fault: Fault | None = None,
    ) -> None:
        self.script: Script = script or text("Hello from the loopback realtime model.")
        self.user_transcripts = list(user_transcripts or [])
        self._next_transcript = 0
        self.vad_threshold = vad_threshold
        self.silence_ms = silence_ms
        self.min_speech_ms = min_speech_ms
        self.seconds_per_char = seconds_per_char
        self.audio_chunk_ms = audio_chunk_ms
        self.response_delay = response_delay
        self.realtime_factor = realtime_factor
        self.freq = freq
        self.fault = fault
        self.down = False
        """After an injected outage (5xx) the server refuses new connections."""
        self.connections: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.client_events: list[dict[str, Any]] = []
        self.server_events: list[dict[str, Any]] = []
        self.received_audio = bytearray()
        self.sessions: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.user_transcripts_sent: list[str] = []
        self._conns: list[_RealtimeConnection] = []
        super().__init__()

    @property
    def base_url(self) -> str:
        """For ``RealtimeModel(base_url=...)``: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.root_url}/v1"

    @property
    def received_audio_bytes(self) -> int:
        return len(self.received_audio)

    @property
    def items(self) -> list[dict[str, Any]]:
        return self._conns[-1].items if self._conns else []

    def expected_duration(self, text_: str) -> float:
        return text_duration(text_, self.seconds_per_char)

    def _take_transcript(self) -> str:
        if self._next_transcript < len(self.user_transcripts):
            t = self.user_transcripts[self._next_transcript]
            self._next_transcript += 1
            return t
        return ""

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/realtime", self._ws_handler)
        app.router.add_get("/realtime", self._ws_handler)

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        q = {k: v for k, v in request.query.items()}
        self.connections.append(q)
        self.headers.append(dict(request.headers))
        if self.down:
            return web.json_response(
                {"error": {"type": "server_error", "message": "loopback injected outage"}},
                status=500,
            )
        ws = web.WebSocketResponse(autoping=True, max_msg_size=64 * 1024 * 1024)
        await ws.prepare(request)
        self._websockets.add(ws)
        conn = _RealtimeConnection(self, ws, q.get("model", "gpt-realtime"))
        self._conns.append(conn)
        try:
            await conn.run()
        finally:
            await conn.close()
            self._websockets.discard(ws)
        return ws


class _RealtimeConnection:
    def __init__(self, srv: OpenAIRealtimeServer, ws: web.WebSocketResponse, model: str) -> None:
        self.srv = srv
        self.ws = ws
        self.lock = asyncio.Lock()
        self.session: dict[str, Any] = {
            "type": "realtime",
            "object": "realtime.session",
            "id": new_id("sess_"),
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "",
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "expires_at": int(time.time()) + 3600,
            "include": None,
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": None,
                    "noise_reduction": None,
                    "turn_detection": _default_turn_detection({"type": "server_vad"}),
                },
                "output": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "voice": "marin",
                    "speed": 1.0,
                },
            },
        }
        srv.sessions.append(self.session)
        self.items: list[dict[str, Any]] = []
        self.conversation_id = new_id("conv_")
        self.seg = self._new_segmenter()
        self.seg.silence_s = self._silence_ms() / 1000
        self.buffer_bytes = 0  # uncommitted audio
        self.buffer_start_ms = 0.0
        self.pending_item_id: str | None = None  # user item id of the current VAD segment
        self.active: _Response | None = None

    # ------------------------------------------------------------------ helpers

    @property
    def rate(self) -> int:
        fmt = self.session["audio"]["input"].get("format") or {}
        return int(fmt.get("rate") or 24000)

    @property
    def turn_detection(self) -> dict[str, Any] | None:
        return self.session["audio"]["input"].get("turn_detection")

    def _silence_ms(self) -> float:
        if self.srv.silence_ms is not None:
            return self.srv.silence_ms
        td = self.turn_detection or {}
        if td.get("type") == "semantic_vad":
            return _SEMANTIC_SILENCE_MS.get(td.get("eagerness") or "auto", 600)
        return float(td.get("silence_duration_ms") or 500)

    def _new_segmenter(self) -> EnergySegmenter:
        seg = EnergySegmenter(
            24000,
            threshold=self.srv.vad_threshold,
            min_speech_ms=self.srv.min_speech_ms,
            silence_ms=500,
        )
        return seg

    async def send(self, event: dict[str, Any]) -> None:
        event = {"event_id": new_id("event_"), **event}
        if event["type"] != "response.output_audio.delta":
            self.srv.server_events.append(event)
        async with self.lock:
            if not self.ws.closed:
                await self.ws.send_str(json.dumps(event))

    async def error(
        self,
        message: str,
        *,
        code: str | None = None,
        event_id: str | None = None,
        param: str | None = None,
    ) -> None:
        await self.send(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    def _index(self, item_id: str) -> int | None:
        for i, it in enumerate(self.items):
            if it.get("id") == item_id:
                return i
        return None

    async def add_item(
        self,
        item: dict[str, Any],
        previous_item_id: str | None = ...,  # type: ignore[assignment]
        event_id: str | None = None,
    ) -> bool:
        """Insert into the conversation and announce it (conversation.item.added/done)."""
        if self._index(item["id"]) is not None:
            await self.error(
                f"Item with id '{item['id']}' already exists.",
                code="item_create_duplicate_item_id",
                event_id=event_id,
            )
            return False
        if previous_item_id is ...:
            pos = len(self.items)
        elif previous_item_id == "root":
            pos = 0
        elif previous_item_id is None:
            pos = len(self.items)
        else:
            idx = self._index(previous_item_id)
            if idx is None:
                await self.error(
                    f"Previous item with id '{previous_item_id}' not found.",
                    code="item_create_invalid_previous_item_id",
                    event_id=event_id,
                    param="previous_item_id",
                )
                return False
            pos = idx + 1
        self.items.insert(pos, item)
        prev = self.items[pos - 1]["id"] if pos > 0 else None
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": item})
        return True

    # ------------------------------------------------------------------ main loop

    async def run(self) -> None:
        await self.send({"type": "session.created", "session": self.session})
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.ERROR:
                    return
                continue
            try:
                ev = json.loads(msg.data)
            except ValueError:
                await self.error(
                    "We could not parse the JSON body of your request.", code="invalid_json"
                )
                continue
            try:
                await self.handle(ev)
            except Exception as e:  # keep the connection, report as the service would
                await self.error(f"loopback server failed on {ev.get('type')}: {e!r}")

    async def close(self) -> None:
        if self.active is not None:
            self.active.task.cancel()

    async def handle(self, ev: dict[str, Any]) -> None:
        typ = ev.get("type")
        eid = ev.get("event_id")
        if typ == "input_audio_buffer.append":
            await self.on_append(ev)
            return
        self.srv.client_events.append(ev)
        if typ == "session.update":
            sess = ev.get("session") or {}
            if sess.get("type") not in (None, "realtime"):
                await self.error(
                    "session.type must be 'realtime'",
                    code="invalid_value",
                    event_id=eid,
                    param="session.type",
                )
                return
            _merge(self.session, sess)
            self.seg.silence_s = self._silence_ms() / 1000
            await self.send({"type": "session.updated", "session": self.session})
        elif typ == "input_audio_buffer.commit":
            if self.buffer_bytes < self.rate * 2 * 0.1:
                await self.error(
                    "Error committing input audio buffer: buffer too small. Expected at least 100ms "
                    f"of audio, but buffer only has {self.buffer_bytes / (self.rate * 2) * 1000:.2f}ms of audio.",
                    code="input_audio_buffer_commit_empty",
                    event_id=eid,
                )
                return
            self.seg.reset()
            await self.commit_user_audio(
                self.pending_item_id or new_id("item_"), auto_respond=False
            )
        elif typ == "input_audio_buffer.clear":
            self.buffer_bytes = 0
            self.seg.reset()
            self.pending_item_id = None
            await self.send({"type": "input_audio_buffer.cleared"})
        elif typ == "conversation.item.create":
            item = copy.deepcopy(ev.get("item") or {})
            item.setdefault("id", new_id("item_"))
            item.setdefault("object", "realtime.item")
            item.setdefault("status", "completed")
            if item.get("type") not in ("message", "function_call", "function_call_output"):
                await self.error(
                    f"Invalid item type {item.get('type')!r}", event_id=eid, param="item.type"
                )
                return
            await self.add_item(item, ev.get("previous_item_id", ...), event_id=eid)
        elif typ == "conversation.item.delete":
            idx = self._index(ev.get("item_id", ""))
            if idx is None:
                await self.error(
                    f"Item with item_id not found: {ev.get('item_id')}",
                    code="item_delete_invalid_item_id",
                    event_id=eid,
                )
                return
            self.items.pop(idx)
            await self.send({"type": "conversation.item.deleted", "item_id": ev["item_id"]})
        elif typ == "conversation.item.truncate":
            idx = self._index(ev.get("item_id", ""))
            if idx is None:
                await self.error(
                    "Item not found", code="item_truncate_invalid_item_id", event_id=eid
                )
                return
            item = self.items[idx]
            end_ms = int(ev.get("audio_end_ms") or 0)
            for part in item.get("content") or []:
                if part.get("type") == "output_audio" and part.get("transcript"):
                    full = part["transcript"]
                    dur_ms = self.srv.expected_duration(full) * 1000 or 1
                    keep = int(len(full) * min(1.0, end_ms / dur_ms))
                    part["transcript"] = full[:keep]
            await self.send(
                {
                    "type": "conversation.item.truncated",
                    "item_id": item["id"],
                    "content_index": ev.get("content_index", 0),
                    "audio_end_ms": end_ms,
                }
            )
        elif typ == "conversation.item.retrieve":
            idx = self._index(ev.get("item_id", ""))
            if idx is None:
                await self.error(
                    "Item not found", code="item_retrieve_invalid_item_id", event_id=eid
                )
                return
            await self.send({"type": "conversation.item.retrieved", "item": self.items[idx]})
        elif typ == "response.create":
            if self.active is not None:
                await self.error(
                    "Conversation already has an active response in progress: "
                    f"{self.active.id}. Wait until the response is finished before creating a new one.",
                    code="conversation_already_has_active_response",
                    event_id=eid,
                )
                return
            self.start_response(ev.get("response") or {}, trigger="client")
        elif typ == "response.cancel":
            rid = ev.get("response_id")
            if self.active is None or (rid and rid != self.active.id):
                await self.error(
                    "Cancellation failed: no active response found",
                    code="response_cancel_not_active",
                    event_id=eid,
                )
                return
            self.active.cancel("client_cancelled")
        elif typ == "output_audio_buffer.clear":
            await self.send({"type": "output_audio_buffer.cleared", "response_id": None})
        else:
            await self.error(
                f"Invalid value: '{typ}'. Supported values are: 'session.update', "
                "'input_audio_buffer.append', 'input_audio_buffer.commit', "
                "'input_audio_buffer.clear', 'conversation.item.create', "
                "'conversation.item.retrieve', 'conversation.item.truncate', "
                "'conversation.item.delete', 'response.create', 'response.cancel'.",
                code="invalid_value",
                event_id=eid,
                param="type",
            )

    # ------------------------------------------------------------------ input audio

    async def on_append(self, ev: dict[str, Any]) -> None:
        try:
            data = base64.b64decode(ev.get("audio") or "")
        except ValueError:
            await self.error("Invalid base64 audio", event_id=ev.get("event_id"))
            return
        self.srv.received_audio.extend(data)
        if self.buffer_bytes == 0:
            self.buffer_start_ms = self.seg.t * 1000
        self.buffer_bytes += len(data)
        events = self.seg.feed(data)
        td = self.turn_detection
        if td is None:
            return
        for kind, t in events:
            if kind == "start":
                self.pending_item_id = new_id("item_")
                prefix = (td.get("prefix_padding_ms") or 300) / 1000
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(max(0.0, t - prefix) * 1000),
                        "item_id": self.pending_item_id,
                    }
                )
                if td.get("interrupt_response", True) and self.active is not None:
                    self.active.cancel("turn_detected")
            elif kind == "stop":
                item_id = self.pending_item_id or new_id("item_")
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": int(t * 1000),
                        "item_id": item_id,
                    }
                )
                await self.commit_user_audio(
                    item_id, auto_respond=bool(td.get("create_response", True))
                )

    async def commit_user_audio(self, item_id: str, *, auto_respond: bool) -> None:
        seconds = self.buffer_bytes / (self.rate * 2)
        self.buffer_bytes = 0
        self.pending_item_id = None
        prev = self.items[-1]["id"] if self.items else None
        await self.send(
            {"type": "input_audio_buffer.committed", "previous_item_id": prev, "item_id": item_id}
        )
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        await self.add_item(item)
        transcription = self.session["audio"]["input"].get("transcription")
        transcript = self.srv._take_transcript()
        item["content"][0]["transcript"] = transcript  # type: ignore[index]
        if transcription is not None:
            for piece in split_pieces(transcript):
                await self.send(
                    {
                        "type": "conversation.item.input_audio_transcription.delta",
                        "item_id": item_id,
                        "content_index": 0,
                        "delta": piece,
                    }
                )
            n_tok = max(1, len(split_pieces(transcript)))
            audio_tok = max(1, int(seconds * 10))
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id,
                    "content_index": 0,
                    "transcript": transcript,
                    "usage": {
                        "type": "tokens",
                        "input_tokens": audio_tok,
                        "output_tokens": n_tok,
                        "total_tokens": audio_tok + n_tok,
                        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tok},
                    },
                }
            )
            self.srv.user_transcripts_sent.append(transcript)
        if not auto_respond:
            return
        if self.active is None:
            self.start_response({}, trigger="server_vad")
        elif self.active.cancel_reason is not None:
            # the interrupted response is still winding down: answer once it is done
            prev_task = self.active.task

            async def _after_cancel() -> None:
                with contextlib.suppress(asyncio.CancelledError):
                    await prev_task
                if self.active is None and not self.ws.closed:
                    self.start_response({}, trigger="server_vad")

            self.srv._spawn(_after_cancel())

    # ------------------------------------------------------------------ responses

    def start_response(self, params: dict[str, Any], *, trigger: str) -> None:
        self.active = _Response(self, params, trigger)
        self.active.task = asyncio.ensure_future(self.active.run())


class _Response:
    def __init__(self, conn: _RealtimeConnection, params: dict[str, Any], trigger: str) -> None:
        self.conn = conn
        self.srv = conn.srv
        self.params = params
        self.trigger = trigger
        self.id = new_id("resp_")
        self.task: asyncio.Task[None]
        self.cancel_reason: str | None = None
        self.output: list[dict[str, Any]] = []
        self.in_conversation = params.get("conversation", "auto") != "none"
        sess = conn.session
        self.modalities: list[str] = (
            params.get("output_modalities") or sess.get("output_modalities") or ["audio"]
        )
        self.record: dict[str, Any] = {"id": self.id, "trigger": trigger, "status": "in_progress"}
        self.srv.responses.append(self.record)

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason

    def _response_obj(self, status: str, usage: dict[str, Any] | None = None) -> dict[str, Any]:
        sess = self.conn.session
        details: dict[str, Any] | None = None
        if status == "cancelled":
            details = {"type": "cancelled", "reason": self.cancel_reason}
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": self.output if status != "in_progress" else [],
            "conversation_id": self.conn.conversation_id if self.in_conversation else None,
            "output_modalities": self.modalities,
            "max_output_tokens": self.params.get(
                "max_output_tokens", sess.get("max_output_tokens")
            ),
            "audio": {"output": copy.deepcopy(sess["audio"]["output"])},
            "usage": usage,
            "metadata": self.params.get("metadata"),
        }

    async def _checkpoint(self) -> bool:
        """Yield to the loop; True when the response was cancelled."""
        await asyncio.sleep(0)
        return self.cancel_reason is not None

    async def _inject(self, fault: str) -> bool:
        """An injected fault instead of this response; True when the response is over."""
        conn, srv = self.conn, self.srv
        if fault == "slow_first_byte":
            assert srv.fault is not None
            await asyncio.sleep(srv.fault.delay)
            return False
        if fault == "http_5xx":
            srv.down = True
            await conn.send(
                {
                    "type": "error",
                    "error": {
                        "type": "server_error",
                        "code": "server_error",
                        "message": "The server had an error while processing your request.",
                    },
                }
            )
            await conn.ws.close(code=1011, message=b"loopback injected outage")
        elif fault == "malformed":
            await conn.ws.send_str(MALFORMED)
            await asyncio.sleep(STALL_S)
        elif fault == "stall":
            await asyncio.sleep(STALL_S)
        elif fault == "drop":
            await conn.send(
                {"type": "response.created", "response": self._response_obj("in_progress")}
            )
            await conn.ws.close(code=1011, message=b"loopback injected drop")
        return True

    async def run(self) -> None:
        conn = self.conn
        try:
            fault = hit(self.srv.fault)
            if fault is not None and await self._inject(fault):
                self.record["status"] = f"fault:{fault}"
                return
            await conn.send(
                {"type": "response.created", "response": self._response_obj("in_progress")}
            )
            if self.srv.response_delay:
                await asyncio.sleep(self.srv.response_delay)
            sess = conn.session
            items = copy.deepcopy(conn.items)
            if "input" in self.params and self.params["input"] is not None:
                items = copy.deepcopy(self.params["input"])
            request = {
                "items": items,
                "instructions": self.params.get("instructions") or sess.get("instructions") or "",
                "tools": self.params.get("tools", sess.get("tools") or []),
                "tool_choice": self.params.get("tool_choice", sess.get("tool_choice")),
                "output_modalities": self.modalities,
                "response": copy.deepcopy(self.params),
                "trigger": self.trigger,
            }
            self.record["request"] = request
            try:
                reply = await run_script(self.srv.script, request)
            except Exception as e:
                reply = Fail(500, f"loopback script raised {type(e).__name__}: {e}")
            self.record["reply"] = reply
            if isinstance(reply, Fail):
                self.record["status"] = "failed"
                resp = self._response_obj("failed", self._usage(0, 0))
                resp["status_details"] = {
                    "type": "failed",
                    "error": {"type": reply.type, "code": reply.code, "message": reply.message},
                }
                await conn.send({"type": "response.done", "response": resp})
                return
            assert isinstance(reply, Reply)
            out_text = out_audio = 0
            if reply.text and not await self._checkpoint():
                out_text, out_audio = await self._message(reply.text, len(self.output))
            for tc in reply.tool_calls:
                if await self._checkpoint():
                    break
                out_text += await self._function_call(tc, len(self.output))
            status = "cancelled" if self.cancel_reason else "completed"
            self.record["status"] = status
            await conn.send(
                {
                    "type": "response.done",
                    "response": self._response_obj(status, self._usage(out_text, out_audio)),
                }
            )
        finally:
            if conn.active is self:
                conn.active = None

    def _usage(self, out_text: int, out_audio: int) -> dict[str, Any]:
        in_text = max(1, len(json.dumps(self.conn.items)) // 4)
        in_audio = max(0, int(self.srv.received_audio_bytes / 48000 * 10))
        return {
            "total_tokens": in_text + in_audio + out_text + out_audio,
            "input_tokens": in_text + in_audio,
            "output_tokens": out_text + out_audio,
            "input_token_details": {
                "text_tokens": in_text,
                "audio_tokens": in_audio,
                "image_tokens": 0,
                "cached_tokens": 0,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }

    async def _add_output_item(self, item: dict[str, Any], output_index: int) -> None:
        conn = self.conn
        self.output.append(item)
        await conn.send(
            {
                "type": "response.output_item.added",
                "response_id": self.id,
                "output_index": output_index,
                "item": item,
            }
        )
        if self.in_conversation:
            conn.items.append(item)
            prev = conn.items[-2]["id"] if len(conn.items) > 1 else None
            await conn.send(
                {"type": "conversation.item.added", "previous_item_id": prev, "item": item}
            )

    async def _finish_output_item(self, item: dict[str, Any], output_index: int) -> None:
        conn = self.conn
        await conn.send(
            {
                "type": "response.output_item.done",
                "response_id": self.id,
                "output_index": output_index,
                "item": item,
            }
        )
        if self.in_conversation:
            idx = conn._index(item["id"])
            prev = conn.items[idx - 1]["id"] if idx else None
            await conn.send(
                {"type": "conversation.item.done", "previous_item_id": prev, "item": item}
            )

    async def _message(self, text_: str, output_index: int) -> tuple[int, int]:
        conn = self.conn
        audio = "audio" in self.modalities
        item_id = new_id("item_")
        item: dict[str, Any] = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        await self._add_output_item(item, output_index)
        ids = {
            "response_id": self.id,
            "item_id": item_id,
            "output_index": output_index,
            "content_index": 0,
        }
        part: dict[str, Any] = (
            {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        )
        await conn.send({"type": "response.content_part.added", **ids, "part": part})

        rate = int((conn.session["audio"]["output"].get("format") or {}).get("rate") or 24000)
        tone = ToneGenerator(rate, self.srv.freq)
        step = max(1, rate * self.srv.audio_chunk_ms // 1000)
        sent_text = ""
        n_audio_chunks = 0
        n_pieces = 0
        # the whole text lasts expected_duration(text_); each piece gets its share by length
        total_samples = int(round(self.srv.expected_duration(text_) * rate))
        pieces = split_pieces(text_)
        total_chars = sum(len(p) for p in pieces) or 1
        chars_done = samples_done = 0
        for piece in pieces:
            if await self._checkpoint():
                break
            sent_text += piece
            n_pieces += 1
            if not audio:
                await conn.send({"type": "response.output_text.delta", **ids, "delta": piece})
                if self.srv.realtime_factor:
                    await asyncio.sleep(
                        self.srv.expected_duration(piece) / self.srv.realtime_factor
                    )
                continue
            await conn.send(
                {"type": "response.output_audio_transcript.delta", **ids, "delta": piece}
            )
            chars_done += len(piece)
            n = int(round(total_samples * chars_done / total_chars)) - samples_done
            samples_done += n
            for i in range(0, n, step):
                k = min(step, n - i)
                await conn.send(
                    {
                        "type": "response.output_audio.delta",
                        **ids,
                        "delta": base64.b64encode(tone.pcm16(k)).decode(),
                    }
                )
                n_audio_chunks += 1
                if self.srv.realtime_factor:
                    await asyncio.sleep(k / rate / self.srv.realtime_factor)
                elif await self._checkpoint():
                    break

        if audio:
            await conn.send({"type": "response.output_audio.done", **ids})
            await conn.send(
                {"type": "response.output_audio_transcript.done", **ids, "transcript": sent_text}
            )
            done_part = {"type": "audio", "transcript": sent_text}
            item["content"] = [{"type": "output_audio", "transcript": sent_text}]
        else:
            await conn.send({"type": "response.output_text.done", **ids, "text": sent_text})
            done_part = {"type": "text", "text": sent_text}
            item["content"] = [{"type": "output_text", "text": sent_text}]
        await conn.send({"type": "response.content_part.done", **ids, "part": done_part})
        item["status"] = "incomplete" if self.cancel_reason else "completed"
        await self._finish_output_item(item, output_index)
        return n_pieces, n_audio_chunks

    async def _function_call(self, tc: ToolCall, output_index: int) -> int:
        conn = self.conn
        item_id = new_id("item_")
        call_id = tc.resolved_call_id()
        item: dict[str, Any] = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": tc.name,
            "call_id": call_id,
            "arguments": "",
        }
        await self._add_output_item(item, output_index)
        args = tc.arguments_json()
        ids = {
            "response_id": self.id,
            "item_id": item_id,
            "output_index": output_index,
            "call_id": call_id,
        }
        pieces = split_chars(args, 7)
        for piece in pieces:
            await conn.send(
                {"type": "response.function_call_arguments.delta", **ids, "delta": piece}
            )
        await conn.send(
            {
                "type": "response.function_call_arguments.done",
                **ids,
                "name": tc.name,
                "arguments": args,
            }
        )
        item["arguments"] = args
        item["status"] = "completed"
        await self._finish_output_item(item, output_index)
        return len(pieces)
