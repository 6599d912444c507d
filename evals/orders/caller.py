"""`SimulatedCaller`: the goal-driven caller in a live session, in real time.

It listens to each agent utterance (`AgentEar`: its text and when its audio plays), lets
`CallerMind` decide the next line, waits the line's gap after the agent's audio ends (a
negative gap starts that long before the agent's last words end; a caller who talks over the
greeting starts `over_greeting` seconds into it), and speaks the pre-synthesised line through
`CallerAudioInput`. A decision is dropped, and taken again, when the agent starts another
utterance before the caller has spoken. The call ends when the agent hangs up, when the
caller has said goodbye and the agent has settled, or at `MAX_CALL_S`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .caller_io import AgentEar, AgentUtterance, CallerAudioInput
from .caller_mind import CallerMind, Decision

MAX_CALL_S = 300.0
MAX_LINES = 16
"""A caller who has said this much gives up (says goodbye)."""
PATIENCE_S = 12.0
"""The agent listening and silent this long after the caller's line: the caller repeats it."""
SETTLE_S = 3.0
"""After the caller's goodbye, the agent idle this long ends the call."""
GOODBYE_WAIT_S = 25.0
BUSY_STATES = ("thinking", "speaking")
LINE_SLACK_S = 5.0
"""A line not delivered this long after its duration: the session stopped reading audio."""


@dataclass
class CallEnd:
    by: str
    """"agent" (it hung up), "caller" (goodbye said and the agent settled), "timeout"."""
    while_caller_spoke: bool = False


class SimulatedCaller:
    def __init__(
        self,
        mind: CallerMind,
        ear: AgentEar,
        mic: CallerAudioInput,
        speech: dict[str, np.ndarray],
        *,
        agent_state: Callable[[], str],
        closed: asyncio.Event,
    ) -> None:
        """`speech`: every line the goal may say, synthesised; `agent_state`: the session's
        `agent_state`; `closed`: set when the session closes."""
        self.mind = mind
        self.ear = ear
        self.mic = mic
        self.speech = speech
        self._agent_state = agent_state
        self._closed = closed
        self._handled = 0
        """ear.heard[:_handled] have been considered."""
        self._last_line_at = 0.0
        self._quiet_since = time.time()

    async def speak(self, d: Decision) -> None:
        """Say `d` and wait until its last frame went out, or the session closed (a closed
        session reads no more audio)."""
        self.mind.commit(d)
        self._last_line_at = time.time()
        pcm = self.speech[d.text]
        line = self.mic.say(pcm, d.text, d.kind)
        closed = asyncio.ensure_future(self._closed.wait())
        waiters: list[asyncio.Future[Any]] = [line, closed]
        try:
            await asyncio.wait(
                waiters,
                timeout=len(pcm) / self.mic.sample_rate + LINE_SLACK_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            closed.cancel()
        self._quiet_since = time.time()

    async def _sleep_until(self, wall: float) -> bool:
        """False if the session closed first."""
        delay = wall - time.time()
        if delay <= 0:
            return not self._closed.is_set()
        try:
            await asyncio.wait_for(self._closed.wait(), delay)
        except asyncio.TimeoutError:
            return True
        return False

    def _next_utterance(self) -> AgentUtterance | None:
        """The newest agent utterance with text that began after the caller's last line
        began (older ones were answered or overtaken)."""
        fresh = self.ear.heard[self._handled :]
        usable = [u for u in fresh if u.text and u.started_at >= self._last_line_at]
        if not usable:
            return None
        newest = usable[-1]
        self._handled = self.ear.heard.index(newest) + 1
        return newest

    async def _when_to_speak(self, utt: AgentUtterance, d: Decision) -> bool:
        """Wait for the moment to say `d` after `utt`; False: drop it (the agent went on)."""
        if d.gap < 0:
            while not utt.synthesised.is_set() and not self._closed.is_set():
                await self.ear.wait_change(0.1)
            return await self._sleep_until(utt.expected_end + d.gap)
        while not utt.finished.is_set():
            if self._closed.is_set():
                return False
            await self.ear.wait_change(0.1)
        count = len(self.ear.heard)
        end = utt.finished_at or time.time()
        while not self._closed.is_set():
            if len(self.ear.heard) > count:
                return False  # the agent started another utterance: listen to it first
            if time.time() >= end + d.gap and self._agent_state() not in BUSY_STATES:
                return True
            await self.ear.wait_change(0.05)
        return False

    async def run(self, over_greeting: float | None) -> CallEnd:
        start = time.time()
        if over_greeting is not None:
            while not self.ear.heard:
                if self._closed.is_set():
                    return CallEnd("agent")
                await self.ear.wait_change(0.1)
            greeting = self.ear.heard[0]
            if await self._sleep_until(greeting.started_at + over_greeting):
                await self.speak(self.mind.first_line())
        while True:
            if self._closed.is_set():
                return CallEnd("agent", while_caller_spoke=self.mic.speaking)
            if self.mind.finished:
                return await self._after_goodbye()
            if time.time() - start > MAX_CALL_S:
                return CallEnd("timeout")
            if len(self.mind.said) >= MAX_LINES:
                await self.speak(Decision(self.mind.goal.goodbye, 0.0, "goodbye"))
                continue
            utt = self._next_utterance()
            if utt is None:
                if self._agent_idle() and time.time() - self._quiet_since > PATIENCE_S:
                    await self.speak(self.mind.on_silence())
                await self.ear.wait_change(0.1)
                continue
            self.mind.hear(utt.text)
            d = self.mind.decide(utt.text)
            if d is not None and await self._when_to_speak(utt, d):
                await self.speak(d)

    def _agent_idle(self) -> bool:
        idle = not self.ear.speaking and self._agent_state() not in BUSY_STATES
        if not idle or self.mic.speaking:
            self._quiet_since = time.time()
            return False
        return True

    async def _after_goodbye(self) -> CallEnd:
        deadline = time.time() + GOODBYE_WAIT_S
        idle_since: float | None = None
        while time.time() < deadline:
            if self._closed.is_set():
                return CallEnd("agent")
            now = time.time()
            if self._agent_idle():
                idle_since = idle_since or now
                if now - idle_since >= SETTLE_S:
                    return CallEnd("caller")
            else:
                idle_since = None
            await self.ear.wait_change(0.1)
        return CallEnd("caller")
