"""The OpenAI realtime model as the suite runs it: a session whose connection has failed
closes without raising.

LiveKit's `RealtimeSession.aclose` awaits its main task and so re-raises the error that
ended it (a lost connection, a 5xx, a frame it could not parse). When the call then changes brains with
`AgentSession.update_agent` (the failover, `agents.resilience.failover`), closing the old
activity raises and the new agent never starts: the caller would be left in silence by the
very step meant to save the call. The error was already reported (the session's `error`
event), so here it is logged and dropped.
"""

from __future__ import annotations

from livekit.plugins import openai

from ..log import logger


class QuietCloseSession(openai.realtime.RealtimeSession):
    async def aclose(self) -> None:
        try:
            await super().aclose()
        except Exception as e:  # whatever ended it (a lost line, a frame it could not parse)
            logger.info("realtime session closed after its failure: %r", e)


class RealtimeModel(openai.realtime.RealtimeModel):
    def session(self, *, turn_detection_disabled: bool = False) -> QuietCloseSession:
        sess = QuietCloseSession(self, turn_detection_disabled=turn_detection_disabled)
        self._sessions.add(sess)
        return sess
