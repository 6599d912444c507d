"""The sample agent: a coffee shop's phone-ordering assistant (Taskmaster-4's coffee domain).

The same Agent, with the same tools, runs in every brain; only the greeting differs between
a brain that has its own TTS (it can `say` a fixed line at once) and a speech-to-speech one
(which must generate the greeting itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Protocol

from livekit import rtc
from livekit.agents import Agent, ModelSettings, llm, stt

from tools.coffee import COFFEE_INSTRUCTIONS

from .brain import BrainProfile

GREETING = "Hi, thanks for calling the coffee shop. What can I get started for you?"

TELEPHONY_NOTE = (
    " The caller is on the phone: keep every answer to one or two short sentences, read "
    "numbers digit by digit, and offer to transfer them to a person if they ask for one."
)


class AudioSink(Protocol):
    def push(self, frame: rtc.AudioFrame) -> None: ...


class CoffeeAgent(Agent):
    def __init__(
        self,
        *,
        profile: BrainProfile,
        tools: Sequence[llm.FunctionTool | llm.RawFunctionTool],
        greet: bool = True,
        audio_tap: AudioSink | None = None,
    ) -> None:
        instructions = COFFEE_INSTRUCTIONS + (TELEPHONY_NOTE if profile.telephony else "")
        super().__init__(instructions=instructions, tools=list(tools))
        self._greet = greet
        self._audio_tap = audio_tap
        self._warm_task: asyncio.Task[None] | None = None

    async def stt_node(
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterable[stt.SpeechEvent]:
        """The default STT node; with a fusion turn detector it also copies the caller's
        audio into the detector's tap on the way (the text-detector protocol gets no audio)."""
        tap = self._audio_tap
        if tap is not None:

            async def tapped(
                source: AsyncIterable[rtc.AudioFrame],
            ) -> AsyncIterator[rtc.AudioFrame]:
                async for frame in source:
                    tap.push(frame)
                    yield frame

            audio = tapped(audio)
        async for event in Agent.default.stt_node(self, audio, model_settings):
            yield event

    async def on_exit(self) -> None:
        if self._warm_task is not None and not self._warm_task.done():
            self._warm_task.cancel()

    async def on_enter(self) -> None:
        # an engine that can pre-compute the prompt (llama.cpp's KV cache) does it while the
        # greeting plays, so the caller's first turn does not pay for a cold prefill
        warm = getattr(self.session.llm, "warm_prompt", None)
        if warm is not None:
            self._warm_task = asyncio.create_task(warm(self.chat_ctx.copy(), list(self.tools)))
        if not self._greet:
            return
        if self.session.tts is not None:
            self.session.say(GREETING, add_to_chat_ctx=True)
        else:
            self.session.generate_reply(
                instructions=f"Greet the caller with exactly this sentence: {GREETING}"
            )
