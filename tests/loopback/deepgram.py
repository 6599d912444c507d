"""Loopback Deepgram speech-to-text server (``/v1/listen``: streaming WebSocket and REST).

It cannot understand speech: it segments the audio by energy and answers each segment with the
next scripted transcript.

Usage::

    async with DeepgramServer(["Hello there.", "What's the weather in Paris?"]) as dg:
        stt = deepgram.STT(base_url=dg.base_url, api_key="test", http_session=session)
        ...
        assert dg.received_audio_bytes > 0
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import uuid
import wave
from typing import Any

from aiohttp import WSMsgType, web

from ._common import EnergySegmenter, LoopbackServer, new_id
from .faults import MALFORMED, Fault, FaultKind, hit

_MODEL_UUID = "40bd3654-e622-47c4-a111-63a61b23bfe1"


def _qbool(v: str | None, default: bool) -> bool:
    if v is None:
        return default
    return v.lower() == "true"


def _word_forms(transcript: str) -> list[tuple[str, str]]:
    """(word, punctuated_word) pairs as Deepgram reports them."""
    out = []
    for tok in transcript.split():
        bare = re.sub(r"[^\w'-]", "", tok).lower() or tok.lower()
        out.append((bare, tok))
    return out


def _unpunctuate(transcript: str) -> str:
    return " ".join(w for w, _ in _word_forms(transcript))


class DeepgramServer(LoopbackServer):
    """Scripted Deepgram ``/v1/listen``.

    Args:
        transcripts: what the "recognizer" hears, one entry per detected utterance, in order (the
            streaming and the prerecorded endpoints share the queue). Once exhausted, segments
            get an empty transcript (as Deepgram answers noise).
        threshold: RMS (int16 units) above which a 10 ms window counts as speech.
        min_speech_ms: loud audio needed before a segment starts (ignores clicks).
        min_silence_ms: the endpoint waits for ``max(endpointing, min_silence_ms)`` ms of quiet:
            Deepgram's own VAD does not split words at their internal gaps, an energy VAD
            with the plugin's 25 ms endpointing would.
        interim_interval_s: audio time between interim ``Results`` during a segment.
        confidence: confidence reported for every word and alternative.

    Recorded: ``connections`` (query params of each WebSocket, as a dict of strings),
    ``headers``, ``received_audio`` (bytes of all streamed audio), ``received_audio_bytes``,
    ``control_messages`` (KeepAlive / Finalize / CloseStream JSON), ``sent`` (every JSON message
    sent), ``finals`` (final transcripts sent), ``recognize_requests`` (REST query params).
    """

    def __init__(
        self,
        transcripts: list[str] | None = None,
        *,
        threshold: float = 500.0,
        min_speech_ms: float = 60.0,
        min_silence_ms: float = 200.0,
        interim_interval_s: float = 0.3,
        confidence: float = 0.98,
        fault: Fault | None = None,
    ) -> None:
        self.transcripts: list[str] = list(transcripts or [])
        self.threshold = threshold
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.interim_interval_s = interim_interval_s
        self.confidence = confidence
        self.fault = fault
        self._next = 0
        self.connections: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.received_audio = bytearray()
        self.control_messages: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.finals: list[str] = []
        self.recognize_requests: list[dict[str, str]] = []
        super().__init__()

    @property
    def base_url(self) -> str:
        """For ``deepgram.STT(base_url=...)``: ``http://127.0.0.1:<port>/v1/listen``."""
        return f"{self.root_url}/v1/listen"

    @property
    def received_audio_bytes(self) -> int:
        return len(self.received_audio)

    @property
    def remaining_transcripts(self) -> list[str]:
        return self.transcripts[self._next :]

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/listen", self._ws_handler)
        app.router.add_post("/v1/listen", self._prerecorded)

    def _peek(self) -> str:
        return self.transcripts[self._next] if self._next < len(self.transcripts) else ""

    def _take(self) -> str:
        t = self._peek()
        if self._next < len(self.transcripts):
            self._next += 1
        return t

    def _words(
        self, transcript: str, start: float, end: float, *, punctuate: bool
    ) -> list[dict[str, Any]]:
        forms = _word_forms(transcript)
        if not forms:
            return []
        total = sum(len(b) for b, _ in forms) or 1
        span = max(end - start, 0.01 * len(forms))
        words, t = [], start
        for bare, punct in forms:
            d = span * len(bare) / total
            w: dict[str, Any] = {
                "word": bare,
                "start": round(t, 3),
                "end": round(t + d, 3),
                "confidence": self.confidence,
            }
            if punctuate:
                w["punctuated_word"] = punct
            words.append(w)
            t += d
        return words

    # ---------------------------------------------------------------- streaming

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        q = {k: v for k, v in request.query.items()}
        self.connections.append(q)
        self.headers.append(dict(request.headers))
        encoding = q.get("encoding", "linear16")
        if encoding != "linear16":
            return web.json_response(
                {
                    "err_code": "Bad Request",
                    "err_msg": f"loopback supports linear16, not {encoding}",
                },
                status=400,
            )
        fault = hit(self.fault)
        if fault == "http_5xx":
            return web.json_response(
                {"err_code": "INTERNAL_SERVER_ERROR", "err_msg": "loopback injected outage"},
                status=500,
            )
        request_id = str(uuid.uuid4())
        ws = web.WebSocketResponse(autoping=True)
        ws.headers["dg-request-id"] = request_id
        await ws.prepare(request)
        self._websockets.add(ws)
        try:
            await _ListenSession(self, ws, q, request_id, fault).run()
        finally:
            self._websockets.discard(ws)
        return ws

    # ---------------------------------------------------------------- prerecorded

    async def _prerecorded(self, request: web.Request) -> web.Response:
        q = {k: v for k, v in request.query.items()}
        self.recognize_requests.append(q)
        body = await request.read()
        try:
            with wave.open(io.BytesIO(body)) as w:
                rate, channels = w.getframerate(), w.getnchannels()
                pcm = w.readframes(w.getnframes())
        except Exception:
            return web.json_response(
                {"err_code": "Bad Request", "err_msg": "loopback accepts WAV bodies only"},
                status=400,
            )
        duration = len(pcm) / (2 * channels * rate) if rate else 0.0
        seg = EnergySegmenter(
            rate, channels=channels, threshold=self.threshold, min_speech_ms=self.min_speech_ms
        )
        events = seg.feed(pcm)
        starts = [t for k, t in events if k == "start"]
        voiced = [t for k, t in events if k == "voice"]
        transcript = self._take() if starts else ""
        punctuate = _qbool(q.get("punctuate"), False) or _qbool(q.get("smart_format"), False)
        if transcript and not punctuate:
            transcript = _unpunctuate(transcript)
        words = (
            self._words(transcript, starts[0], voiced[-1], punctuate=punctuate)
            if transcript
            else []
        )
        channel: dict[str, Any] = {
            "alternatives": [
                {
                    "transcript": transcript,
                    "confidence": self.confidence if transcript else 0.0,
                    "words": words,
                }
            ]
        }
        if _qbool(q.get("detect_language"), False):
            channel["detected_language"] = "en"
            channel["language_confidence"] = 0.99
        request_id = str(uuid.uuid4())
        return web.json_response(
            {
                "metadata": {
                    "transaction_key": "deprecated",
                    "request_id": request_id,
                    "sha256": new_id("", 32),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "duration": round(duration, 3),
                    "channels": channels,
                    "models": [_MODEL_UUID],
                    "model_info": {
                        _MODEL_UUID: {
                            "name": f"general-{q.get('model', 'nova-3')}",
                            "version": "2024-12-20.0",
                            "arch": q.get("model", "nova-3"),
                        }
                    },
                },
                "results": {"channels": [channel]},
            },
            headers={"dg-request-id": request_id},
        )


class _ListenSession:
    def __init__(
        self,
        server: DeepgramServer,
        ws: web.WebSocketResponse,
        q: dict[str, str],
        request_id: str,
        fault: FaultKind | None = None,
    ) -> None:
        self.srv = server
        self.ws = ws
        self.fault = fault
        self.muted = False  # a stalled or broken stream sends nothing more
        self.request_id = request_id
        self.sample_rate = int(q.get("sample_rate", "16000"))
        self.channels = int(q.get("channels", "1"))
        self.interim = _qbool(q.get("interim_results"), False)
        self.vad_events = _qbool(q.get("vad_events"), False)
        self.punctuate = _qbool(q.get("punctuate"), False) or _qbool(q.get("smart_format"), False)
        ep = q.get("endpointing", "10")
        self.endpointing_ms: float | None = None if ep.lower() == "false" else float(ep)
        ue = q.get("utterance_end_ms")
        self.utterance_end_s: float | None = float(ue) / 1000 if ue else None
        self.model = q.get("model", "nova-3")
        silence_ms = max(self.endpointing_ms or 0.0, server.min_silence_ms)
        self.seg = EnergySegmenter(
            self.sample_rate,
            channels=self.channels,
            threshold=server.threshold,
            min_speech_ms=server.min_speech_ms,
            silence_ms=silence_ms,
        )
        self.in_segment = False
        self.finalized_in_segment = False  # a Finalize already produced this segment's final
        self.last_interim_t = 0.0
        self.pending_utterance_end: float | None = None  # last_word_end awaiting UtteranceEnd
        self.cursor = 0.0  # end of the audio covered by the last final result
        self.lock = asyncio.Lock()

    async def send(self, msg: dict[str, Any]) -> None:
        if self.muted or self.ws.closed:
            return
        if self.fault is not None and msg.get("type") in ("Results", "SpeechStarted"):
            fault, self.fault = self.fault, None  # the first answer is where it strikes
            if fault == "slow_first_byte":
                assert self.srv.fault is not None
                await asyncio.sleep(self.srv.fault.delay)
            elif fault == "stall":
                self.muted = True
                return
            elif fault == "malformed":
                self.muted = True
                await self.ws.send_str(MALFORMED)
                return
            elif fault == "drop":
                self.muted = True
                await self.ws.close(code=1011, message=b"loopback injected drop")
                return
        self.srv.sent.append(msg)
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(msg))

    def _metadata(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "model_info": {
                "name": f"general-{self.model}",
                "version": "2024-12-20.0",
                "arch": self.model,
            },
            "model_uuid": _MODEL_UUID,
        }

    def _results(
        self,
        transcript: str,
        start: float,
        end: float,
        *,
        is_final: bool,
        speech_final: bool,
        from_finalize: bool = False,
    ) -> dict[str, Any]:
        if transcript and not self.punctuate:
            transcript = _unpunctuate(transcript)
        words = (
            self.srv._words(transcript, start, end, punctuate=self.punctuate) if transcript else []
        )
        return {
            "type": "Results",
            "channel_index": [0, self.channels],
            "duration": round(max(0.0, end - start), 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {
                "alternatives": [
                    {
                        "transcript": transcript,
                        "confidence": self.srv.confidence if transcript else 0.0,
                        "words": words,
                    }
                ]
            },
            "metadata": self._metadata(),
        }

    async def _final(self, end: float, *, speech_final: bool, from_finalize: bool) -> None:
        start = self.seg.seg_start
        transcript = self.srv._take()
        if transcript:
            self.srv.finals.append(transcript)
        await self.send(
            self._results(
                transcript,
                start,
                end,
                is_final=True,
                speech_final=speech_final,
                from_finalize=from_finalize,
            )
        )
        self.cursor = end
        if self.utterance_end_s is not None:
            self.pending_utterance_end = end

    async def _on_audio(self, data: bytes) -> None:
        for kind, t in self.seg.feed(data):
            if kind == "start":
                self.in_segment = True
                self.finalized_in_segment = False
                self.last_interim_t = t
                self.pending_utterance_end = None
                if self.vad_events:
                    await self.send(
                        {
                            "type": "SpeechStarted",
                            "channel": [0, self.channels],
                            "timestamp": round(t, 3),
                        }
                    )
            elif kind == "voice":
                if (
                    self.in_segment
                    and not self.finalized_in_segment
                    and self.interim
                    and t - self.last_interim_t >= self.srv.interim_interval_s
                ):
                    self.last_interim_t = t
                    words = self.srv._peek().split()
                    elapsed = t - self.seg.seg_start
                    k = min(max(1, int(elapsed / 0.3)), max(1, len(words) - 1))
                    partial = " ".join(words[:k]) if words else ""
                    await self.send(
                        self._results(
                            partial, self.seg.seg_start, t, is_final=False, speech_final=False
                        )
                    )
            elif kind == "stop":
                self.in_segment = False
                if self.finalized_in_segment:
                    # the final went out on Finalize; the endpoint still closes the utterance
                    if self.endpointing_ms is not None:
                        await self.send(self._results("", t, t, is_final=True, speech_final=True))
                else:
                    await self._final(
                        t, speech_final=self.endpointing_ms is not None, from_finalize=False
                    )
            elif kind == "tick" and (
                self.pending_utterance_end is not None
                and self.utterance_end_s is not None
                and t - self.pending_utterance_end >= self.utterance_end_s
            ):
                last = self.pending_utterance_end
                self.pending_utterance_end = None
                await self.send(
                    {
                        "type": "UtteranceEnd",
                        "channel": [0, self.channels],
                        "last_word_end": round(last, 3),
                    }
                )

    async def _on_finalize(self) -> None:
        if self.in_segment and not self.finalized_in_segment:
            self.finalized_in_segment = True
            await self._final(self.seg.last_voice_end, speech_final=False, from_finalize=True)
        else:
            await self.send(
                self._results(
                    "",
                    self.cursor,
                    self.seg.t,
                    is_final=True,
                    speech_final=False,
                    from_finalize=True,
                )
            )
            self.cursor = self.seg.t

    async def run(self) -> None:
        ws = self.ws
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                self.srv.received_audio.extend(msg.data)
                await self._on_audio(msg.data)
            elif msg.type == WSMsgType.TEXT:
                try:
                    ctl = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=1008, message=b"invalid JSON")
                    return
                self.srv.control_messages.append(ctl)
                typ = ctl.get("type")
                if typ == "KeepAlive":
                    continue
                if typ == "Finalize":
                    await self._on_finalize()
                elif typ == "CloseStream":
                    if self.in_segment and not self.finalized_in_segment:
                        await self._final(
                            self.seg.last_voice_end, speech_final=True, from_finalize=False
                        )
                    await self.send(
                        {
                            "type": "Metadata",
                            "transaction_key": "deprecated",
                            "request_id": self.request_id,
                            "sha256": new_id("", 32),
                            "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                            "duration": round(self.seg.t, 3),
                            "channels": self.channels,
                            "models": [_MODEL_UUID],
                            "model_info": {
                                _MODEL_UUID: {
                                    "name": f"general-{self.model}",
                                    "version": "2024-12-20.0",
                                    "arch": self.model,
                                }
                            },
                        }
                    )
                    await ws.close()
                    return
            elif msg.type == WSMsgType.ERROR:
                return
