"""Loopback Cartesia text-to-speech server (``/tts/websocket`` and ``POST /tts/bytes``).

Audio is a deterministic voiced tone whose duration is proportional to the text length.

Usage::

    async with CartesiaServer() as cs:
        tts = cartesia.TTS(base_url=cs.base_url, api_key="test", http_session=session)
        ...
        assert cs.transcripts == ["Hello there. "]
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import wave
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ._common import LoopbackServer, ToneGenerator, new_id, text_duration
from .faults import MALFORMED, STALL_S, Fault, hit

_BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_f32le": 4, "pcm_mulaw": 1, "pcm_alaw": 1}


@dataclass
class _Context:
    context_id: str
    sample_rate: int
    encoding: str
    add_timestamps: bool
    tone: ToneGenerator
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    transcript: str = ""
    t: float = 0.0  # seconds of audio generated so far
    cancelled: bool = False
    task: asyncio.Task[None] | None = None


class CartesiaServer(LoopbackServer):
    """Scripted-free Cartesia: it "speaks" any text as a tone.

    Args:
        seconds_per_char: audio seconds per non-blank character (0.06 s is about 15 chars/s,
            a natural speaking rate).
        chunk_ms: audio per ``chunk`` message.
        first_chunk_delay: seconds before the first audio of each input (simulated TTFB).
        realtime_factor: if set, generation is paced at this many times real time (2.0 = twice
            as fast as playout); ``None`` sends as fast as possible.
        freq: tone frequency in Hz.

    Recorded: ``requests`` (every WebSocket JSON message and /tts/bytes body), ``connections``
    (query params of each WebSocket), ``headers``, ``contexts`` (context_id -> concatenated
    transcript), ``transcripts`` (the transcript of each finished context, in order, plus each
    /tts/bytes transcript), ``cancelled_contexts``, ``audio_seconds_sent``.
    """

    def __init__(
        self,
        *,
        seconds_per_char: float = 0.06,
        chunk_ms: int = 40,
        first_chunk_delay: float = 0.0,
        realtime_factor: float | None = None,
        freq: float = 220.0,
        fault: Fault | None = None,
    ) -> None:
        self.seconds_per_char = seconds_per_char
        self.chunk_ms = chunk_ms
        self.first_chunk_delay = first_chunk_delay
        self.realtime_factor = realtime_factor
        self.freq = freq
        self.fault = fault
        self.requests: list[dict[str, Any]] = []
        self.connections: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.contexts: dict[str, str] = {}
        self.transcripts: list[str] = []
        self.cancelled_contexts: list[str] = []
        self.audio_seconds_sent = 0.0
        super().__init__()

    @property
    def base_url(self) -> str:
        """For ``cartesia.TTS(base_url=...)``: ``http://127.0.0.1:<port>`` (no path)."""
        return self.root_url

    def expected_duration(self, text: str) -> float:
        return text_duration(text, self.seconds_per_char)

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/tts/websocket", self._ws_handler)
        app.router.add_post("/tts/bytes", self._bytes)

    @staticmethod
    def _check_format(fmt: Any) -> str | None:
        if not isinstance(fmt, dict):
            return "output_format is required"
        if fmt.get("container") not in ("raw", "wav"):
            return f"unsupported container {fmt.get('container')!r}"
        if fmt.get("encoding") not in _BYTES_PER_SAMPLE:
            return f"unsupported encoding {fmt.get('encoding')!r}"
        if not isinstance(fmt.get("sample_rate"), int) or fmt["sample_rate"] <= 0:
            return "output_format.sample_rate must be a positive integer"
        return None

    # ---------------------------------------------------------------- bytes

    async def _bytes(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(dict(request.headers))
        body = await request.json()
        self.requests.append(body)
        fmt = body.get("output_format")
        if err := self._check_format(fmt):
            return web.json_response({"error": err}, status=400)
        transcript = body.get("transcript")
        if not isinstance(transcript, str) or not body.get("model_id") or not body.get("voice"):
            return web.json_response(
                {"error": "transcript, model_id and voice are required"}, status=400
            )
        self.transcripts.append(transcript)
        rate, enc = fmt["sample_rate"], fmt["encoding"]
        n = int(round(self.expected_duration(transcript) * rate))
        tone = ToneGenerator(rate, self.freq)
        resp = web.StreamResponse(
            headers={
                "Content-Type": "audio/wav"
                if fmt["container"] == "wav"
                else "application/octet-stream"
            }
        )
        resp.headers["X-Request-Id"] = new_id("")
        await resp.prepare(request)
        if self.first_chunk_delay:
            await asyncio.sleep(self.first_chunk_delay)
        if fmt["container"] == "wav" and enc == "pcm_s16le":
            buf = io.BytesIO()
            with wave.open(buf, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(tone.pcm16(n))
            await resp.write(buf.getvalue())
        else:
            step = max(1, rate * self.chunk_ms // 1000)
            for i in range(0, n, step):
                k = min(step, n - i)
                await resp.write(tone.encode(k, enc))
                await self._pace(k / rate)
        self.audio_seconds_sent += n / rate
        await resp.write_eof()
        return resp

    async def _pace(self, seconds: float) -> None:
        if self.realtime_factor:
            await asyncio.sleep(seconds / self.realtime_factor)
        else:
            await asyncio.sleep(0)

    # ---------------------------------------------------------------- websocket

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        self.connections.append({k: v for k, v in request.query.items()})
        self.headers.append(dict(request.headers))
        ws = web.WebSocketResponse(autoping=True)
        ws.headers["X-Request-Id"] = new_id("")
        await ws.prepare(request)
        self._websockets.add(ws)
        contexts: dict[str, _Context] = {}
        lock = asyncio.Lock()

        async def send(msg: dict[str, Any] | str | None) -> None:
            """A message; a raw string (an injected malformed frame); None cuts the line."""
            async with lock:
                if ws.closed:
                    return
                if msg is None:
                    await ws.close(code=1011, message=b"loopback injected drop")
                else:
                    await ws.send_str(msg if isinstance(msg, str) else json.dumps(msg))

        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    await send(
                        {"type": "error", "status_code": 400, "done": True, "error": "invalid JSON"}
                    )
                    continue
                self.requests.append(data)
                cid = data.get("context_id") or new_id("ctx_")
                if data.get("cancel"):
                    if (ctx := contexts.pop(cid, None)) is not None:
                        ctx.cancelled = True
                        if ctx.task:
                            ctx.task.cancel()
                        self.cancelled_contexts.append(cid)
                    continue
                fmt = data.get("output_format")
                err = self._check_format(fmt)
                if err is None and not isinstance(data.get("transcript"), str):
                    err = "transcript is required"
                if err is None and not data.get("model_id"):
                    err = "model_id is required"
                if err:
                    await send(
                        {
                            "type": "error",
                            "context_id": cid,
                            "status_code": 400,
                            "done": True,
                            "error": err,
                        }
                    )
                    continue
                ctx = contexts.get(cid)
                if ctx is None:
                    ctx = _Context(
                        context_id=cid,
                        sample_rate=fmt["sample_rate"],
                        encoding=fmt["encoding"],
                        add_timestamps=bool(data.get("add_timestamps")),
                        tone=ToneGenerator(fmt["sample_rate"], self.freq),
                    )
                    contexts[cid] = ctx
                    self.contexts[cid] = ""
                    ctx.task = self._spawn(self._run_context(ctx, send, contexts))
                ctx.queue.put_nowait(data)
        finally:
            for ctx in contexts.values():
                if ctx.task:
                    ctx.task.cancel()
            self._websockets.discard(ws)
        return ws

    async def _run_context(self, ctx: _Context, send: Any, contexts: dict[str, _Context]) -> None:
        rate = ctx.sample_rate
        step = max(1, rate * self.chunk_ms // 1000)
        fault = hit(self.fault)
        if fault == "http_5xx":
            await send(
                {
                    "type": "error",
                    "context_id": ctx.context_id,
                    "status_code": 500,
                    "done": True,
                    "error": "loopback injected outage",
                }
            )
            contexts.pop(ctx.context_id, None)
            return
        if fault == "slow_first_byte":
            assert self.fault is not None
            await asyncio.sleep(self.fault.delay)
        if fault in ("stall", "malformed", "drop"):
            await ctx.queue.get()
            chunk = ctx.tone.encode(step, ctx.encoding)
            if fault == "drop":
                await send(
                    {
                        "type": "chunk",
                        "data": base64.b64encode(chunk).decode(),
                        "done": False,
                        "status_code": 206,
                        "step_time": round(step / rate * 1000, 3),
                        "context_id": ctx.context_id,
                    }
                )
                await send(None)
            elif fault == "malformed":
                await send(MALFORMED)
            await asyncio.sleep(STALL_S)
            return
        while True:
            data = await ctx.queue.get()
            assert data is not None
            transcript: str = data["transcript"]
            ctx.transcript += transcript
            self.contexts[ctx.context_id] = ctx.transcript
            dur = self.expected_duration(transcript)
            n = int(round(dur * rate))
            if n > 0:
                if self.first_chunk_delay:
                    await asyncio.sleep(self.first_chunk_delay)
                if ctx.add_timestamps:
                    words = transcript.split()
                    total = sum(len(w) for w in words) or 1
                    starts, ends, t = [], [], ctx.t
                    for w in words:
                        d = dur * len(w) / total
                        starts.append(round(t, 3))
                        ends.append(round(t + d, 3))
                        t += d
                    await send(
                        {
                            "type": "timestamps",
                            "context_id": ctx.context_id,
                            "status_code": 206,
                            "done": False,
                            "word_timestamps": {"words": words, "start": starts, "end": ends},
                        }
                    )
                for i in range(0, n, step):
                    k = min(step, n - i)
                    await send(
                        {
                            "type": "chunk",
                            "data": base64.b64encode(ctx.tone.encode(k, ctx.encoding)).decode(),
                            "done": False,
                            "status_code": 206,
                            "step_time": round(k / rate * 1000, 3),
                            "context_id": ctx.context_id,
                        }
                    )
                    self.audio_seconds_sent += k / rate
                    await self._pace(k / rate)
                ctx.t += n / rate
            if not data.get("continue", False):
                await send(
                    {"type": "done", "done": True, "status_code": 200, "context_id": ctx.context_id}
                )
                self.transcripts.append(ctx.transcript)
                contexts.pop(ctx.context_id, None)
                return
