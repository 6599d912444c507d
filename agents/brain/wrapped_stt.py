"""`WrappedSTT`: an STT that is another STT plus one behaviour (the base of the suite's STT
wrappers: the stall watchdog of a chain, the telephony variant's digit normaliser). It takes
the inner engine's capabilities, label, model and provider, forwards its metrics, prewarm and
close, and recognises through it; a subclass overrides only what it changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, stt, utils
from livekit.agents.types import NOT_GIVEN, NotGivenOr

if TYPE_CHECKING:
    from livekit.agents.voice.events import ConversationItemAddedEvent


class WrappedSTT(stt.STT):
    def __init__(self, inner: stt.STT) -> None:
        super().__init__(capabilities=inner.capabilities)
        self._inner = inner
        inner.on("metrics_collected", lambda *a, **k: self.emit("metrics_collected", *a, **k))

    @property
    def inner(self) -> stt.STT:
        return self._inner

    @property
    def label(self) -> str:
        return self._inner.label

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def provider(self) -> str:
        return self._inner.provider

    def prewarm(self) -> None:
        self._inner.prewarm()

    def _push_conversation_item(self, ev: ConversationItemAddedEvent) -> None:
        # the conversation reaches an engine that hears better knowing it (Whisper's prompt)
        self._inner._push_conversation_item(ev)

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        return await self._inner.recognize(buffer, language=language, conn_options=conn_options)

    async def aclose(self) -> None:
        await self._inner.aclose()
