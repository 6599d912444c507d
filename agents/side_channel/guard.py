"""One call's guardrails, wired to where they can honestly act.

- `gate_tts(text)`: a cascade's sentences (number-free words as they come,
  `gate.SentenceGate`) on their way to the TTS; blocking findings replace
  or drop a sentence before it is synthesized (reported from the transcript gate, not twice).
- `gate_transcript(text, spoken_first=...)`: the same screening on the text that becomes the
  transcript and the record. With `spoken_first=False` (cascade: the TTS got the same
  screened sentences) a finding is recorded as `before_speech`. With `spoken_first=True`
  (a realtime model speaking with its own voice: its transcript arrives with or after its
  audio) the finding is recorded as `after_the_fact`, the transcript is still masked, and
  the corrective action runs: interrupt whatever is left of that reply and have the model
  apologise without repeating the number. Audio already played is not unsaid.
- slow checks (`Guardrail.check_slow`, e.g. an LLM judge) run on each finished assistant
  item in a background task, off the audio path; a blocking finding is recorded as
  `after_the_fact` and gets the spoken correction.

Owns: `CallGuard`. Imports: livekit, `guardrails`, `gate`, `records`, `call_metrics`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Literal

from livekit.agents import AgentSession

from .call_metrics import call_metrics
from .gate import gate_sentences
from .guardrails import Finding, Guardrails, Screened
from .records import CallRecord

logger = logging.getLogger("voice_suite.guardrails")

Placement = Literal["before_speech", "after_the_fact"]

CORRECTION = (
    "You just read a personal number (a card, social security or phone number) out loud. "
    "Apologise in one short sentence, say you will not repeat it, and that if needed you "
    "can refer to it by its last four digits only. Do not say the number again."
)
POLICY_CORRECTION = (
    "Your last answer broke the shop's policy. Briefly correct yourself in one short sentence."
)


class CallGuard:
    stream_words = True
    """The gates pass number-free words on as they come (`gate.SentenceGate`); False only
    to measure what that saves (`--gate sentences` of `python -m evals.latency`)."""

    def __init__(
        self, guardrails: Guardrails, *, record: CallRecord | None = None, brain: str = ""
    ) -> None:
        self.guardrails = guardrails
        self.record = record
        self.brain = brain
        self.session: AgentSession | None = None
        self.corrections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, session: AgentSession) -> CallGuard:
        self.session = session
        if self.guardrails.has_slow_checks:
            session.on("conversation_item_added", self._on_item)
        return self

    # --- the gates ----------------------------------------------------------------------

    def gate_tts(self, text: AsyncIterable[str]) -> AsyncIterator[str]:
        return gate_sentences(text, self.guardrails, words=self.stream_words)

    def gate_transcript(
        self, text: AsyncIterable[str], *, spoken_first: bool
    ) -> AsyncIterator[str]:
        placement: Placement = "after_the_fact" if spoken_first else "before_speech"

        def on_screened(_original: str, screened: Screened) -> None:
            self.report(screened.findings, placement=placement)
            if spoken_first and screened.changed:
                self.correct(screened.findings)

        return gate_sentences(text, self.guardrails, on_screened, words=self.stream_words)

    # --- findings -----------------------------------------------------------------------

    def report(
        self, findings: tuple[Finding, ...] | list[Finding], *, placement: Placement
    ) -> None:
        m = call_metrics().guardrail_findings
        for f in findings:
            m.labels(
                guardrail=f.guardrail, finding=f.kind, action=f.action, placement=placement
            ).inc()
            if self.record is not None:
                self.record.event("guardrail", placement=placement, **f.as_event())
            logger.warning("guardrail %s: %s (%s, %s)", f.guardrail, f.kind, f.action, placement)

    def correct(self, findings: tuple[Finding, ...] | list[Finding]) -> None:
        """The corrective action for words already spoken: stop the rest of the reply and
        have the agent correct itself. Scheduled, so the reply being screened is not cut
        from inside its own pipeline."""
        session = self.session
        if session is None:
            return
        personal = any(f.guardrail == "personal_numbers" for f in findings)
        instructions = CORRECTION if personal else POLICY_CORRECTION
        self.corrections += 1
        if self.record is not None:
            self.record.event(
                "guardrail_correction",
                action="interrupt+spoken_correction",
                findings=[f.kind for f in findings],
            )

        def run() -> None:
            try:
                session.interrupt(force=True)
            except Exception:  # the reply may already be over
                logger.debug("nothing to interrupt", exc_info=True)
            try:
                session.generate_reply(instructions=instructions, tool_choice="none")
            except Exception:
                logger.exception("guardrail correction could not be spoken")

        asyncio.get_running_loop().call_soon(run)

    # --- slow checks, off the audio path ---------------------------------------------------

    def _on_item(self, ev: Any) -> None:
        item = ev.item
        if getattr(item, "type", None) != "message" or item.role != "assistant":
            return
        text = item.text_content or ""
        if not text.strip():
            return
        task = asyncio.get_running_loop().create_task(self._slow(text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _slow(self, text: str) -> None:
        try:
            findings = await self.guardrails.slow_findings(text)
        except Exception as e:
            logger.warning("slow guardrail check failed: %s", type(e).__name__)
            if self.record is not None:
                self.record.error("guardrail", f"slow check failed: {type(e).__name__}")
            return
        if findings:
            self.report(findings, placement="after_the_fact")
            if any(f.action in ("mask", "block") for f in findings):
                self.correct(findings)

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
