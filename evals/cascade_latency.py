"""What the suite adds to a cloud cascade: `python -m evals.latency --cascade`.

The same recorded call is played, in real time, into two sessions on the cascade's real
provider plugins (Deepgram STT, OpenAI chat, Cartesia TTS) talking to the loopback doubles of
`tests/loopback`, with delays configured like the real services (`ProviderDelays`), alternating
in one process so both see the same machine and load:

- **suite**: the whole call as a live job builds it (`agents.call.open_call`, as replay runs
  it): brain selection and its chains, the tool runtime, the turn guard, the guardrail
  sentence gate, call records, watchdogs, metrics, the coffee agent with its greeting;
- **bare**: an `AgentSession` with the same plugin objects (built by the same factories),
  the same Silero VAD and turn detector, the same instructions, the same greeting, and the
  same eleven tools (same names, arguments and descriptions, so every request carries the
  same schemas) whose bodies it calls directly on the same order store, without the tool
  runtime; nothing else.

Per caller turn it reports the stages both variants share (caller stops -> agent audio, the
end-of-utterance delay, STT, LLM time to first token, TTS first byte) as median [IQR] and
p5-p95 over every answered turn, the suite / bare ratio and a 95 % bootstrap interval of the
difference of medians (what the suite adds per turn), and the worker process's CPU seconds
per second of call (both variants, median [IQR] over the calls). The providers run in a child
process of their own, so their CPU is not counted (on a deployment they are other machines).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from livekit.agents import function_tool

from agents.brain import build_brain, choose_brain
from agents.brain.assembly import silero_vad
from agents.brain.profiles import PROFILES, SILERO_SILENCE
from agents.config import Settings
from agents.side_channel import turn_latencies
from evals.replay import play_into_session, run_replay
from evals.replay.recording import Recording, load_recording
from tools import ToolRuntimeOptions

START_TIMEOUT_S = 60.0
LOOPBACK_KEY = "loopback"
"""Not a secret: the plugins insist on a key, the loopback servers ignore it."""


@dataclasses.dataclass(frozen=True)
class ProviderDelays:
    """What the doubles make a turn wait, set like the real services answer (order of
    magnitude of their published/observed figures, not a claim about any one of them)."""

    stt_endpoint_ms: float = 300.0
    """Silence Deepgram's endpointing waits before a final transcript."""
    llm_first_token_s: float = 0.35
    """OpenAI chat: request to first streamed token."""
    llm_token_s: float = 0.015
    """OpenAI chat: between streamed tokens."""
    tts_first_chunk_s: float = 0.15
    """Cartesia: text to first audio."""
    tts_realtime_factor: float = 4.0
    """Cartesia: audio generated at this many times real time after the first chunk."""


def transcripts_for(recording: Path) -> list[str]:
    """The caller's words as the recording's JSON beside it says (what the Deepgram double
    answers, segment by segment)."""
    meta = recording.with_suffix(".json")
    if not meta.is_file():
        raise ValueError(f"{meta} is missing: the cascade bench needs the caller's words")
    return [t["text"] for t in json.loads(meta.read_text())["caller_turns"]]


# --- the providers, in a child process ----------------------------------------------------


async def _serve(
    transcripts: list[str], delays: ProviderDelays, ready: Any, stop: threading.Event
) -> None:
    from evals.density.providers import CyclingDeepgramServer, coffee_script
    from tests.loopback import CartesiaServer, OpenAIChatServer

    async with (
        CyclingDeepgramServer(transcripts, min_silence_ms=delays.stt_endpoint_ms) as dg,
        OpenAIChatServer(
            coffee_script,
            first_token_delay=delays.llm_first_token_s,
            token_delay=delays.llm_token_s,
        ) as oa,
        CartesiaServer(
            first_chunk_delay=delays.tts_first_chunk_s,
            realtime_factor=delays.tts_realtime_factor,
        ) as ca,
    ):
        ready.send((dg.base_url, oa.base_url, ca.base_url))
        while not stop.is_set():
            await asyncio.sleep(0.2)
            dg.received_audio.clear()  # the doubles keep everything for tests
            dg.sent.clear()
            oa.requests.clear()
            ca.requests.clear()


def _provider_main(
    transcripts: list[str], delays: ProviderDelays, ready: Any, stop_conn: Any
) -> None:
    stop = threading.Event()

    def wait_for_stop() -> None:
        with contextlib.suppress(EOFError):
            stop_conn.recv()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    asyncio.run(_serve(transcripts, delays, ready, stop))


@contextlib.contextmanager
def providers(transcripts: list[str], delays: ProviderDelays) -> Any:
    """The three doubles in a child process; yields (deepgram, openai, cartesia) URLs."""
    ctx = mp.get_context("spawn")
    ready_recv, ready_send = ctx.Pipe(duplex=False)
    stop_recv, stop_send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_provider_main,
        args=(transcripts, delays, ready_send, stop_recv),
        name="cascade-providers",
        daemon=True,
    )
    proc.start()
    try:
        if not ready_recv.poll(START_TIMEOUT_S):
            raise RuntimeError("the loopback provider process did not start")
        yield ready_recv.recv()
    finally:
        with contextlib.suppress(OSError):
            stop_send.send(None)
        proc.join(10)
        if proc.is_alive():
            proc.kill()


def cascade_settings(urls: tuple[str, str, str], tmp: Path) -> Settings:
    dg, oa, ca = urls
    return Settings(
        brain="cascade",
        deepgram_api_key=LOOPBACK_KEY, deepgram_base_url=dg,
        openai_api_key=LOOPBACK_KEY, openai_base_url=oa,
        cartesia_api_key=LOOPBACK_KEY, cartesia_base_url=ca,
        # a cloud worker as deployed without the offline engines: the chains hold one
        # engine per stage, and no local model competes for the CPU being measured
        local_fallback="off",
        orders_db=str(tmp / "orders.sqlite"),
        call_records_dir=str(tmp / "records"),
    )  # fmt: skip


# --- one call of each variant ---------------------------------------------------------------


@dataclasses.dataclass
class CallFigures:
    turns: list[dict[str, Any]]
    seconds: float
    cpu_seconds: float

    @property
    def cpu_per_call_second(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds > 0 else float("nan")


async def _measured(run: Any) -> CallFigures:
    wall, cpu = time.monotonic(), time.process_time()
    turns = await run
    return CallFigures(turns, time.monotonic() - wall, time.process_time() - cpu)


async def suite_call(settings: Settings, recording: Recording, out: Path) -> CallFigures:
    async def run() -> list[dict[str, Any]]:
        result = await run_replay(recording, out, settings, choose_brain(settings))
        return list(result.summary["turns"])

    return await _measured(run())


async def bare_call(settings: Settings, recording: Recording, out: Path) -> CallFigures:
    from livekit.agents import Agent, AgentSession

    from agents.coffee_agent import GREETING
    from tools import build_call_control_tools
    from tools.coffee import COFFEE_INSTRUCTIONS, build_coffee_tools
    from tools.coffee.store import OrderStore

    async def run() -> list[dict[str, Any]]:
        profile = dataclasses.replace(PROFILES["cascade"])
        brain = build_brain(profile, settings, vad_model=silero_vad(SILERO_SILENCE))
        store = await OrderStore(settings.orders_db).open()
        # the call's own tools, with the same names, arguments and descriptions, called
        # directly: no runtime (timeout, filler, idempotency, records)
        plain = _PlainRuntime()
        tools: list[Any] = [
            *build_coffee_tools(store, plain),  # type: ignore[arg-type]
            *build_call_control_tools(plain),  # type: ignore[arg-type]
        ]

        class Greeter(Agent):
            async def on_enter(self) -> None:
                self.session.say(GREETING, add_to_chat_ctx=True)

        session: AgentSession = AgentSession(**brain.session_kwargs())
        agent = Greeter(instructions=COFFEE_INSTRUCTIONS, tools=tools)
        out.mkdir(parents=True, exist_ok=True)
        try:
            t0 = await play_into_session(session, agent, recording, ogg_path=out / "bare.ogg")
        finally:
            await store.close()
        return turn_latencies(session.history, t0)

    return await _measured(run())


class _PlainRuntime:
    """Makes a tool body a plain LiveKit function tool with the same name, arguments and
    description as `tools.ToolRuntime.tool` gives it, without the runtime around it."""

    options = ToolRuntimeOptions()

    def tool(
        self, fn: Any, *, name: str | None = None, description: str | None = None, **_: Any
    ) -> Any:
        return function_tool(fn, name=name or fn.__name__, description=description)


def shortened(recording: Recording, seconds: float | None) -> Recording:
    if seconds is None or seconds >= recording.duration:
        return recording
    n = int(seconds * recording.sample_rate)
    return dataclasses.replace(recording, pcm=recording.pcm[:n])


@dataclasses.dataclass
class CascadeRun:
    suite: list[CallFigures]
    bare: list[CallFigures]
    load: list[tuple[float, float, float]]
    """Load average before the first call and after each pair."""

    def turns(self, variant: str) -> list[dict[str, Any]]:
        return [t for c in getattr(self, variant) for t in c.turns]

    def cpu(self, variant: str) -> list[float]:
        return [c.cpu_per_call_second for c in getattr(self, variant)]

    def paired(self, stage: str) -> list[tuple[float, float]]:
        """(suite, bare) values of `stage` for the same turn (same caller words, same place
        in the call) of the same run, where both variants answered it."""
        pairs = []
        for s_call, b_call in zip(self.suite, self.bare, strict=False):
            b_turns = {(i, t.get("user_text")): t for i, t in enumerate(b_call.turns)}
            for i, t in enumerate(s_call.turns):
                b = b_turns.get((i, t.get("user_text")))
                if b is not None and t.get(stage) is not None and b.get(stage) is not None:
                    pairs.append((float(t[stage]), float(b[stage])))
        return pairs


def run_cascade(
    recording_path: Path,
    runs: int,
    *,
    seconds: float | None = None,
    delays: ProviderDelays | None = None,
    log: Any = print,
    keep: Path | None = None,
) -> CascadeRun:
    """`runs` calls of each variant, alternating (bare first on even runs, suite first on
    odd ones), with the doubles in a child process."""
    recording = shortened(load_recording(recording_path), seconds)
    result = CascadeRun([], [], [os.getloadavg()])
    with (
        providers(transcripts_for(recording_path), delays or ProviderDelays()) as urls,
        tempfile.TemporaryDirectory() as tmp_s,
    ):
        tmp = keep or Path(tmp_s)  # `keep`: the calls' audio stays (for `evals.calls`)
        settings = cascade_settings(urls, tmp)
        silero_vad(SILERO_SILENCE)  # loaded once, before anything is timed
        for i in range(runs):
            order = ("bare", "suite") if i % 2 == 0 else ("suite", "bare")
            for variant in order:
                log(f"run {i + 1}/{runs}: {variant}...")
                out = tmp / f"{variant}-{i}"
                call = bare_call if variant == "bare" else suite_call
                figures = asyncio.run(call(settings, recording, out))
                getattr(result, variant).append(figures)
            result.load.append(os.getloadavg())
    return result
