"""Shared pieces of the loopback servers: the aiohttp lifecycle, tones, energy and ids."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import uuid
from typing import Any

import numpy as np
from aiohttp import web


def new_id(prefix: str, n: int = 20) -> str:
    return f"{prefix}{uuid.uuid4().hex[:n]}"


class LoopbackServer:
    """An aiohttp app on 127.0.0.1, on a free port, usable as ``async with``."""

    def __init__(self) -> None:
        self._app = web.Application(client_max_size=64 * 1024 * 1024)
        self._runner: web.AppRunner | None = None
        self._websockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port: int | None = None
        self._setup_routes(self._app)

    def _setup_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def root_url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started: use `async with server:` or `await start()`")
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, shutdown_timeout=0.5)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for ws in list(self._websockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self):  # noqa: ANN204 - returns the concrete subclass
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


class ToneGenerator:
    """A deterministic, phase-continuous voiced tone (fundamental + 2 harmonics) as pcm_s16le."""

    def __init__(self, sample_rate: int, freq: float = 220.0, amplitude: float = 0.3) -> None:
        self.sample_rate = sample_rate
        self.freq = freq
        self.amplitude = amplitude
        self._pos = 0

    def samples(self, n: int) -> np.ndarray:
        t = (np.arange(n, dtype=np.float64) + self._pos) / self.sample_rate
        self._pos += n
        w = 2 * math.pi * self.freq * t
        sig = 0.6 * np.sin(w) + 0.3 * np.sin(2 * w) + 0.1 * np.sin(3 * w)
        return (sig * self.amplitude).astype(np.float32)

    def pcm16(self, n: int) -> bytes:
        return (self.samples(n) * 32767).astype("<i2").tobytes()

    def encode(self, n: int, encoding: str = "pcm_s16le") -> bytes:
        s = self.samples(n)
        if encoding == "pcm_f32le":
            return s.astype("<f4").tobytes()
        if encoding == "pcm_mulaw":
            return _mulaw(s)
        return (s * 32767).astype("<i2").tobytes()


def _mulaw(x: np.ndarray) -> bytes:
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.abs(np.clip(x, -1, 1))) / math.log1p(mu)
    return ((y + 1) / 2 * 255).astype(np.uint8).tobytes()


def rms_int16(data: bytes) -> float:
    if len(data) < 2:
        return 0.0
    a = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(a * a))) if a.size else 0.0


def text_duration(text: str, seconds_per_char: float) -> float:
    """Speech duration for `text`: proportional to its non-blank length."""
    return len(text.strip()) * seconds_per_char


def split_pieces(text: str) -> list[str]:
    """Split text into token-like pieces (each word with its trailing whitespace)."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def split_chars(s: str, n: int) -> list[str]:
    return [s[i : i + n] for i in range(0, len(s), n)] or [""]


class EnergySegmenter:
    """Energy VAD over pcm_s16le in 10 ms windows, in audio time.

    ``feed(data)`` returns a list of ``("start", t)`` / ``("voice", t)`` / ``("stop", t)``
    events; ``t`` is seconds of audio since the stream began. A segment starts once
    ``min_speech_ms`` of loud windows accumulate (the start is the first loud window) and stops
    when the energy stays below threshold for ``silence_ms`` (the stop is the end of the last
    loud window).
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        channels: int = 1,
        threshold: float = 500.0,
        min_speech_ms: float = 60.0,
        silence_ms: float = 500.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.threshold = threshold
        self.min_speech_s = min_speech_ms / 1000
        self.silence_s = silence_ms / 1000
        self._win_bytes = max(1, sample_rate // 100) * channels * 2
        self._buf = bytearray()
        self.t = 0.0  # audio time consumed
        self.in_speech = False
        self.seg_start = 0.0
        self.last_voice_end = 0.0
        self._cand_start: float | None = None
        self._cand_voiced = 0.0
        self._cand_last = 0.0

    def reset(self) -> None:
        self.in_speech = False
        self._cand_start = None
        self._cand_voiced = 0.0

    def feed(self, data: bytes) -> list[tuple[str, float]]:
        self._buf.extend(data)
        events: list[tuple[str, float]] = []
        wdur = (self._win_bytes // (2 * self.channels)) / self.sample_rate
        while len(self._buf) >= self._win_bytes:
            win = bytes(self._buf[: self._win_bytes])
            del self._buf[: self._win_bytes]
            start = self.t
            self.t += wdur
            loud = rms_int16(win) >= self.threshold
            if loud:
                if not self.in_speech:
                    if self._cand_start is None or start - self._cand_last > 0.1:
                        self._cand_start = start
                        self._cand_voiced = 0.0
                    self._cand_voiced += wdur
                    self._cand_last = self.t
                    if self._cand_voiced + 1e-9 >= self.min_speech_s:
                        self.in_speech = True
                        self.seg_start = self._cand_start
                        self._cand_start = None
                        events.append(("start", self.seg_start))
                if self.in_speech:
                    self.last_voice_end = self.t
                    events.append(("voice", self.t))
            elif self.in_speech and self.t - self.last_voice_end >= self.silence_s - 1e-9:
                self.in_speech = False
                events.append(("stop", self.last_voice_end))
            else:
                events.append(("tick", self.t))
        return events
