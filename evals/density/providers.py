"""The cascade's providers for the density benchmark: the loopback Deepgram, OpenAI chat and
Cartesia servers of `tests/loopback`, shared by every call, in a process of their own.

Their own process keeps their CPU out of the worker's measurement and their event loop from
competing with the calls' loops (on a real deployment the providers are other machines).
`ProviderProcess.cpu_seconds()` still says what they cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import multiprocessing.connection
import threading
from dataclasses import dataclass
from typing import Any

import psutil

from tests.loopback import CartesiaServer, DeepgramServer, OpenAIChatServer, ToolCall
from tests.loopback.script import last_is_tool_result, last_user_text

START_TIMEOUT_S = 60.0


class CyclingDeepgramServer(DeepgramServer):
    """Deepgram loopback whose scripted transcripts repeat forever: every call's every
    utterance gets one, however many calls share the server."""

    def _peek(self) -> str:
        return self.transcripts[self._next % len(self.transcripts)] if self.transcripts else ""

    def _take(self) -> str:
        text = self._peek()
        self._next += 1
        return text


def coffee_script(request: dict[str, Any]) -> Any:
    """The chat "model": a drink order is looked up with a tool first (a read-only database
    query on every first turn, as a real order does), then answered; anything else is
    answered at once."""
    if last_is_tool_result(request):
        return "We have that. A large one, coming up. Anything else?"
    said = last_user_text(request).lower()
    if "mocha" in said or "cappuccino" in said:
        return ToolCall("get_menu_items", {"query": "mocha" if "mocha" in said else "cappuccino"})
    return "Thanks for calling. Your order will be ready soon."


@dataclass(frozen=True)
class ProviderUrls:
    deepgram: str
    openai: str
    cartesia: str


async def _serve(transcripts: list[str], ready: Any, stop: threading.Event) -> None:
    async with (
        CyclingDeepgramServer(transcripts) as dg,
        OpenAIChatServer(coffee_script) as oa,
        CartesiaServer() as ca,
    ):
        ready.send(ProviderUrls(dg.base_url, oa.base_url, ca.base_url))
        while not stop.is_set():
            await asyncio.sleep(0.2)
            # the servers keep every request for tests; a long benchmark must not grow them
            dg.received_audio.clear()
            dg.sent.clear()
            oa.requests.clear()
            ca.requests.clear()


def _provider_main(transcripts: list[str], ready: Any, stop_conn: Any) -> None:
    stop = threading.Event()

    def wait_for_stop() -> None:
        with contextlib.suppress(EOFError):  # EOF: the parent went away
            stop_conn.recv()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    asyncio.run(_serve(transcripts, ready, stop))


class ProviderProcess:
    """The loopback providers running in a child process (`with ProviderProcess(...) as p:`)."""

    def __init__(self, transcripts: list[str]) -> None:
        self._transcripts = transcripts
        self._process: mp.process.BaseProcess | None = None
        self._stop: multiprocessing.connection.Connection | None = None
        self.urls: ProviderUrls | None = None

    def __enter__(self) -> ProviderProcess:
        ctx = mp.get_context("spawn")
        ready_recv, ready_send = ctx.Pipe(duplex=False)
        stop_recv, stop_send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_provider_main,
            args=(self._transcripts, ready_send, stop_recv),
            name="density-providers",
            daemon=True,
        )
        self._process.start()
        self._stop = stop_send
        if not ready_recv.poll(START_TIMEOUT_S):
            self.__exit__()
            raise RuntimeError("the loopback provider process did not start")
        self.urls = ready_recv.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop.send(None)
            self._stop.close()
            self._stop = None
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
            self._process = None

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the provider process has used so far."""
        assert self._process is not None and self._process.pid is not None
        times = psutil.Process(self._process.pid).cpu_times()
        return times.user + times.system
