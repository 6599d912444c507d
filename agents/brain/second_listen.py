"""`SecondListenSTT`: a fast recogniser first, and a second, stronger one on the same audio
only when the first one's words cannot be placed.

The wideband leg hears with Whisper tiny.en (a pass in about 0.4 s on 2 cores). On voices the
suite was never tuned on it writes menu words as other words ("a free coat in my red" for
"three cultivar red", "Clortado" for "cortado"), which the ordering policy can only ask about.
Whisper base hears many of those right but takes about twice as long, so it listens only when
`doubtful(text)` says the first words do not place (the offline brain's predicate:
`agents.brain.guided.understanding.heard_doubtfully`), and its words replace the first ones
only when they do place. Measured (`python -m evals.second_listen`, README "The offline
brain"): on the orders eval's 16 kHz goal lines the policy read 105 of 193 as written
against 91 with tiny.en alone, with the second pass on 60 of them.

No library does this: LiveKit's `FallbackAdapter` switches engines on errors, not on what was
heard, so the choice is written here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, stt, utils
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from .wrapped_stt import WrappedSTT

if TYPE_CHECKING:
    from livekit.agents.voice.events import ConversationItemAddedEvent

logger = logging.getLogger("voice_suite.second_listen")


class SecondListenSTT(WrappedSTT):
    """`inner` hears every turn; `second` hears again the turns whose text `doubtful` rejects,
    and its text is used when `doubtful` accepts it (else the first stands). Both get the
    conversation (Whisper's agent-context prompt), prewarm and close."""

    def __init__(self, inner: stt.STT, second: stt.STT, doubtful: Callable[[str], bool]) -> None:
        super().__init__(inner)
        self._second = second
        self._doubtful = doubtful
        second.on("metrics_collected", lambda *a, **k: self.emit("metrics_collected", *a, **k))
        self.listens = 0
        """Turns heard a second time (this STT's life)."""
        self.replaced = 0
        """Turns whose words came from the second listen."""

    @property
    def second(self) -> stt.STT:
        return self._second

    def prewarm(self) -> None:
        super().prewarm()
        self._second.prewarm()

    def _push_conversation_item(self, ev: ConversationItemAddedEvent) -> None:
        super()._push_conversation_item(ev)
        self._second._push_conversation_item(ev)

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        first = await self._inner.recognize(buffer, language=language, conn_options=conn_options)
        text = _text(first)
        if not text.strip() or not self._doubtful(text):
            return first
        self.listens += 1
        try:
            again = await self._second.recognize(
                buffer, language=language, conn_options=conn_options
            )
        except Exception:  # the first words stand: a second opinion never loses the turn
            logger.warning("second listen failed; the first words stand", exc_info=True)
            return first
        text2 = _text(again)
        used = bool(text2.strip()) and not self._doubtful(text2)
        # the decision only: the caller's words are the transcript's, never the log's
        logger.debug("second listen", extra={"used": used})
        if not used:
            return first
        self.replaced += 1
        return again

    async def aclose(self) -> None:
        await super().aclose()
        await self._second.aclose()


def _text(event: stt.SpeechEvent) -> str:
    return event.alternatives[0].text if event.alternatives else ""
