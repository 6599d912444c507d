"""One simulated ordering call through the agent a live call gets, offline and in real time.

The call is assembled as `agent.py replay` assembles it (`agents.call.open_call`: the chosen
brain, the order store, the tool runtime, the CoffeeAgent), with the simulated caller as its
audio input, replay's real-time playout as its output and LiveKit's `RecorderIO` writing
`call.ogg` (left = caller, right = agent). On a phone goal (`rate: 8k-mulaw`, or `--telephony`)
the caller is a SIP participant and its audio crosses replay's simulated SIP hop
(`evals.replay.telephony.TelephonySim`) both ways. The call's orders are then read from the
order store and scored (`evals.orders.scoring`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from livekit.agents import AgentSession, llm, utils
from livekit.agents.voice.recorder_io import RecorderIO

from agents.brain import BrainChoice
from agents.call import Call, open_call
from agents.config import Settings
from agents.side_channel import masked_rows, transcript_items, turn_latencies
from agents.side_channel.log_redaction import RedactingFilter
from evals.replay.telephony import SIP_RATE, TelephonySim
from tools.sensitive import mask_value

from .caller import MAX_CALL_S, CallEnd, SimulatedCaller
from .caller_io import AgentEar, CallerAudioInput, SpokenLine
from .caller_mind import CallerMind
from .goals import Goal
from .scoring import (
    CallScore,
    OrderLine,
    read_order_lines,
    score_order,
    split_latencies,
    ungrounded_statements,
)
from .voices import Voice, speech_for

WIDEBAND_RATE = 16000
RUN_LIMIT_S = MAX_CALL_S + 60.0
"""The caller's own limit, plus a margin: a caller stuck on the session never hangs the run."""


@dataclass
class CallResult:
    goal: Goal
    voice: str
    telephony: bool
    score: CallScore
    lines: list[OrderLine]
    ended_by: str
    heard_placed: bool
    """The caller heard "your order is placed" after its last request."""
    duration: float
    said: list[dict[str, Any]]
    out_dir: Path

    def as_dict(self) -> dict[str, Any]:
        s = self.score
        return {
            "goal": self.goal.id,
            "voice": self.voice,
            "rate": "8k-mulaw" if self.telephony else "16k",
            "exact": s.exact,
            "turns": s.turns,
            "heard_turns": s.heard_turns,
            "premature_hangup": s.premature_hangup,
            "ungrounded": [dataclasses.asdict(u) for u in s.ungrounded],
            "latency_policy_median": s.latency_median(model=False),
            "latency_model_median": s.latency_median(model=True),
            "latencies": [dataclasses.asdict(t) for t in s.latencies],
            "want": [dataclasses.asdict(w) for w in self.goal.want],
            "order_lines": [dataclasses.asdict(ln) for ln in self.lines],
            "ended_by": self.ended_by,
            "caller_heard_placed": self.heard_placed,
            "duration": round(self.duration, 1),
            "caller_said": self.said,
            "out_dir": str(self.out_dir),
        }


@dataclass
class Talk:
    end: CallEnd
    t0: float
    """Wall time of the recording's zero."""
    mind: CallerMind
    spoken: list[SpokenLine]


CALL_LOGGERS = ("livekit.agents", "livekit.plugins", "voice_suite", "evals.orders")
"""Logged at DEBUG into each call's `agent.log`: a call that goes deaf can be read back."""
log = logging.getLogger("evals.orders")


@contextlib.contextmanager
def call_log(path: Path) -> Iterator[None]:
    """The call's own log file (`agent.log`): LiveKit's and our loggers at DEBUG, masked by
    the worker's `RedactingFilter`; warnings still reach stderr."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    stderr: logging.Handler | None = None
    if not root.handlers:  # without any handler, Python's last resort printed the warnings
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(logging.WARNING)
        stderr.addFilter(RedactingFilter())
        root.addHandler(stderr)
    loggers = [logging.getLogger(n) for n in CALL_LOGGERS]
    levels = [lg.level for lg in loggers]
    root.addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        root.removeHandler(handler)
        if stderr is not None:
            root.removeHandler(stderr)
        handler.close()


def log_session_events(session: AgentSession) -> None:
    """What the session heard and did, in the call's log: states and every transcript."""
    session.on("user_state_changed",
               lambda e: log.debug("user %s -> %s", e.old_state, e.new_state))  # fmt: skip
    session.on("agent_state_changed",
               lambda e: log.debug("agent %s -> %s", e.old_state, e.new_state))  # fmt: skip
    session.on("user_input_transcribed",
               lambda e: log.debug("heard (final=%s): %s", e.is_final, e.transcript))  # fmt: skip
    session.on("error", lambda e: log.warning("session error from %s: %s", e.source, e.error))


def caller_rng(goal: Goal) -> np.random.Generator:
    """Seeded by the goal's id and seed: the same goal always gets the same noise."""
    return np.random.default_rng([goal.seed, zlib.crc32(goal.id.encode())])


def synthesise_goal(goal: Goal, voice: Voice, rate: int) -> dict[str, np.ndarray]:
    """Every line the caller may say, at `rate`, before the call starts (no TTS delay in it)."""
    rng = caller_rng(goal)
    return {
        t: speech_for(t, voice, rate, noise_db=goal.noise_db, rng=rng)
        for t in CallerMind(goal).possible_lines()
    }


def fallback_models(model: object) -> list[llm.LLM]:
    """The fallback language models inside the call's LLM stage (the guided brain's
    `fallback`, through any fallback chain): their generations mark model-answered turns."""
    found: list[llm.LLM] = []
    todo = [model]
    while todo:
        m = todo.pop()
        inner = getattr(m, "fallback", None)
        if isinstance(inner, llm.LLM):
            found.append(inner)
        todo += [x for x in getattr(m, "_llm_instances", []) if isinstance(x, llm.LLM)]
    return found


async def _talk(
    call: Call,
    goal: Goal,
    speech: dict[str, np.ndarray],
    *,
    ogg_path: Path,
    phone: TelephonySim | None,
    model_windows: list[tuple[float, float]],
) -> Talk:
    session: AgentSession = call.session
    rate = SIP_RATE if phone else WIDEBAND_RATE
    mic = CallerAudioInput(
        rate,
        noise_db=goal.noise_db,
        rng=np.random.default_rng([goal.seed, zlib.crc32(goal.id.encode()), 1]),
        uplink=phone.uplink.carry if phone else None,
    )
    ear = AgentEar()
    recorder = RecorderIO(agent_session=session, sample_rate=rate)
    session.input.audio = recorder.record_input(mic)
    out = recorder.record_output(ear.playout)
    session.output.audio = phone.output(out) if phone else out
    session.output.transcription = ear

    def on_generation(m: Any) -> None:
        model_windows.append((m.timestamp - m.duration, m.timestamp))

    # the fallback model may be shared by every call of the process: listen for this call only
    models = fallback_models(call.brain.llm)
    for model in models:
        model.on("metrics_collected", on_generation)
    await recorder.start(output_path=ogg_path)
    t0 = recorder.recording_started_at
    assert t0 is not None
    mic.t0 = t0
    closed = asyncio.Event()
    session.on("close", lambda _: closed.set())
    log_session_events(session)
    mind = CallerMind(goal)
    caller = SimulatedCaller(
        mind, ear, mic, speech, agent_state=lambda: session.agent_state, closed=closed
    )
    async with utils.http_context.open():
        try:
            await session.start(agent=call.agent)
            try:
                end = await asyncio.wait_for(caller.run(goal.over_greeting), RUN_LIMIT_S)
            except asyncio.TimeoutError:
                end = CallEnd("timeout")
        finally:
            for model in models:
                model.off("metrics_collected", on_generation)
            mic.close()
            await session.aclose()
            await recorder.aclose()
    return Talk(end, t0, mind, mic.lines)


async def run_goal(
    goal: Goal,
    voice: Voice,
    settings: Settings,
    choice: BrainChoice,
    out_dir: Path,
    *,
    phone: TelephonySim | None,
) -> CallResult:
    """Run one goal's call; writes `out_dir/{call.ogg,transcript.jsonl,result.json,agent.log}`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with call_log(out_dir / "agent.log"):
        rate = SIP_RATE if phone else WIDEBAND_RATE
        speech = await asyncio.to_thread(synthesise_goal, goal, voice, rate)
        model_windows: list[tuple[float, float]] = []
        started = time.time()
        with phone.job() if phone else contextlib.nullcontext():
            call = await open_call(
                settings,
                choice,
                room=phone.room if phone else None,
                caller_kind="simulated-sip" if phone else "simulated",
            )
            try:
                talk = await _talk(
                    call,
                    goal,
                    speech,
                    ogg_path=out_dir / "call.ogg",
                    phone=phone,
                    model_windows=model_windows,
                )
            finally:
                await call.aclose()
        history, t0, mind = call.session.history, talk.t0, talk.mind
        rows = transcript_items(history, t0)
        with open(out_dir / "transcript.jsonl", "w", encoding="utf-8") as f:
            for row in masked_rows(rows):  # what may be written: personal numbers masked
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        lines = read_order_lines(Path(settings.orders_db), call.store.owner)
        order = score_order(lines, goal.want)
        score = CallScore(
            goal=goal.id,
            exact=order.exact,
            turns=len(mind.said),
            heard_turns=sum(1 for r in rows if r["role"] == "user"),
            # the agent hung up before the caller's goodbye, or in the middle of a caller's line
            premature_hangup=talk.end.by == "agent"
            and (not mind.finished or talk.end.while_caller_spoke),
            ungrounded=ungrounded_statements(rows),
            latencies=split_latencies(turn_latencies(history, t0), model_windows, t0),
        )
        said = [
            {
                "text": ln.text,
                "kind": ln.kind,
                "start": round(ln.start - t0, 2),
                "end": None if ln.end is None else round(ln.end - t0, 2),
            }
            for ln in talk.spoken
        ]
        result = CallResult(
            goal=goal,
            voice=str(voice),
            telephony=phone is not None,
            score=score,
            lines=lines,
            ended_by=talk.end.by,
            heard_placed=mind.heard_placed,
            duration=time.time() - started,
            said=said,
            out_dir=out_dir,
        )
        (out_dir / "result.json").write_text(
            json.dumps(mask_value(result.as_dict()), indent=2) + "\n"
        )
        return result
