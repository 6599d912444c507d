"""The sample agent: a coffee shop's phone-ordering assistant (Taskmaster-4's coffee domain).

The same Agent, with the same tools, runs in every brain; only the greeting differs between
a brain that has its own TTS (it can `say` a fixed line at once) and a speech-to-speech one
(which must generate the greeting itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from livekit import rtc
from livekit.agents import NOT_GIVEN, Agent, ModelSettings, llm, stt
from livekit.agents.voice.io import TimedString

from tools.coffee import COFFEE_INSTRUCTIONS

from .brain import BrainProfile
from .side_channel.guard import CallGuard

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
        greeting: str = GREETING,
        answer_pending: bool = False,
        audio_tap: AudioSink | None = None,
        engines: Mapping[str, Any] | None = None,
        chat_ctx: llm.ChatContext | None = None,
        guard: CallGuard | None = None,
    ) -> None:
        """`engines` (stt, llm, tts, vad, turn_handling) override the session's for this
        agent, and `chat_ctx` carries a conversation over: how a failover brain takes a call
        in progress (`agents.resilience.failover`)."""
        instructions = COFFEE_INSTRUCTIONS + (TELEPHONY_NOTE if profile.telephony else "")
        super().__init__(
            instructions=instructions,
            tools=list(tools),
            chat_ctx=chat_ctx if chat_ctx is not None else NOT_GIVEN,
            **dict(engines or {}),
        )
        self._greet = greet
        self._greeting = greeting
        self._answer_pending = answer_pending
        self._audio_tap = audio_tap
        self._guard = guard
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
        hear = getattr(self.llm or self.session.llm, "note_hearing", None)
        async for event in Agent.default.stt_node(self, audio, model_settings):
            if (
                hear is not None
                and isinstance(event, stt.SpeechEvent)
                and event.type == stt.SpeechEventType.FINAL_TRANSCRIPT
                and event.alternatives
            ):
                # the STT's confidence reaches the brain that asks when it is unsure
                best = event.alternatives[0]
                hear(best.text, best.confidence)
            yield event

    def _spoken_first(self) -> bool:
        """A realtime model speaking with its own voice: its words are audio before text."""
        model = self.llm or self.session.llm
        return isinstance(model, llm.RealtimeModel) and model.capabilities.audio_output

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterable[rtc.AudioFrame]:
        """The default TTS node, fed sentence by sentence through the guardrails: a
        blocking finding replaces or drops a sentence before any audio of it is made."""
        if self._guard is not None:
            text = self._guard.gate_tts(text)
        async for frame in Agent.default.tts_node(self, text, model_settings):
            yield frame

    async def transcription_node(
        self, text: AsyncIterable[str | TimedString], model_settings: ModelSettings
    ) -> AsyncIterable[str | TimedString]:
        """What becomes the transcript and the record, screened like the TTS input; for a
        realtime voice this is after the fact, and the guard records it and corrects."""
        source: AsyncIterable[str | TimedString] = text
        if self._guard is not None:
            source = self._guard.gate_transcript(text, spoken_first=self._spoken_first())
        async for delta in Agent.default.transcription_node(self, source, model_settings):
            yield delta

    async def on_exit(self) -> None:
        if self._warm_task is not None and not self._warm_task.done():
            self._warm_task.cancel()

    async def on_enter(self) -> None:
        # an engine that can pre-compute the prompt (llama.cpp's KV cache) does it while the
        # greeting plays, so the caller's first turn does not pay for a cold prefill
        warm = getattr(self.llm or self.session.llm, "warm_prompt", None)
        if warm is not None:
            self._warm_task = asyncio.create_task(warm(self.chat_ctx.copy(), list(self.tools)))
        if not self._greet:
            return
        if (self.tts or self.session.tts) is not None:
            self.session.say(self._greeting, add_to_chat_ctx=True)
        else:
            self.session.generate_reply(
                instructions=f"Greet the caller with exactly this sentence: {self._greeting}"
            )
        if self._answer_pending:
            # taken over mid-turn (a failover): the caller's last words still want an answer
            self.session.generate_reply()
