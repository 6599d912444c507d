"""``SemanticTurnDetector``: livekit-agents text turn detector (``voice/turn.py`` ``_TurnDetector``).

The session calls ``predict_end_of_turn(chat_ctx)`` after a final transcript, with the pending
user text appended to a copy of the chat context. A probability below ``unlikely_threshold``
makes the session wait ``max_delay`` (3 s by default) instead of ``min_delay`` (0.5 s).

This class deliberately has no ``stream()`` method: livekit-agents' runtime-checkable
``_StreamingTurnDetector`` protocol would match it and the session would treat it as an audio
detector.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from livekit.agents import llm

from .model import DEFAULT_MODEL_NAME, TurnModel

MAX_CONTEXT_TURNS = 2
_ENGLISH = ("en", "eng", "english")


def is_english(language: str | None) -> bool:
    """``None`` (STT reports no language), "en", "en-US", "en_GB", "eng", "english" -> True."""
    if language is None:
        return True
    code = str(language).strip().lower().replace("_", "-").split("-")[0]
    return code in _ENGLISH


def turn_from_chat_ctx(
    chat_ctx: llm.ChatContext, max_context: int = MAX_CONTEXT_TURNS
) -> tuple[str, list[str]]:
    """(current user turn text, previous assistant turns oldest-first) from a chat context.

    The trailing run of user messages is the current turn (joined with spaces); the assistant
    messages right before it are the context. Function calls/outputs and other non-message items
    are skipped; a system/developer message or an earlier user message ends the context.
    """
    items: list[Any] = list(chat_ctx.items)
    i = len(items) - 1
    user: list[str] = []
    while i >= 0:
        it = items[i]
        if getattr(it, "type", None) != "message":
            i -= 1
            continue
        if it.role != "user":
            break
        if it.text_content:
            user.append(it.text_content.strip())
        i -= 1
    context: list[str] = []
    while i >= 0 and len(context) < max_context:
        it = items[i]
        i -= 1
        if getattr(it, "type", None) != "message":
            continue
        if it.role != "assistant":
            break
        if it.text_content:
            context.append(it.text_content.strip())
    return " ".join(reversed([u for u in user if u])), list(reversed(context))


class SemanticTurnDetector:
    """English semantic end-of-turn detector: user text + the agent's last question.

    Args:
        unlikely_threshold: P(end of turn) below which the session waits ``max_delay``.
            Default: the threshold stored with the weights (chosen on held-out dev dialogs for
            <= 5 % false cut-offs, see the README).
        model_path: ``.npz`` weights; default: the ones shipped in the package.
        complete: a predicate on the user's text marking answers that end the turn whatever
            the model predicts (an application's closing answers, "Yes, please place it.",
            which a model trained on other dialogs may hold); they get 1.0. Default: none.
    """

    def __init__(
        self,
        *,
        unlikely_threshold: float | None = None,
        model_path: str | None = None,
        complete: Callable[[str], bool] | None = None,
    ) -> None:
        self._complete = complete
        self._model = TurnModel.load(model_path)
        self._threshold = (
            float(unlikely_threshold)
            if unlikely_threshold is not None
            else float(self._model.threshold)
        )
        self._model_name = DEFAULT_MODEL_NAME if model_path is None else _stem(model_path)
        self.last_prediction: float | None = None
        """The probability the last ``predict_end_of_turn`` returned to the session."""

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def provider(self) -> str:
        return "semantic-turn"

    @property
    def threshold(self) -> float:
        """The configured ``unlikely_threshold`` (sync accessor)."""
        return self._threshold

    @property
    def turn_model(self) -> TurnModel:
        return self._model

    async def unlikely_threshold(self, language: str | None) -> float | None:
        return self._threshold if is_english(language) else None

    async def supports_language(self, language: str | None) -> bool:
        return is_english(language)

    def predict_text(self, text: str, context: Sequence[str] = ()) -> float:
        """P(end of turn) for ``text`` (the user's transcript so far) after ``context`` (previous
        assistant turns, most recent last). An empty text returns 1.0 (no evidence to hold)."""
        if not text or not text.strip():
            return 1.0
        if self._complete is not None and self._complete(text):
            return 1.0
        return self._model.predict(text, list(context)[-MAX_CONTEXT_TURNS:])

    async def predict_end_of_turn(
        self, chat_ctx: llm.ChatContext, *, timeout: float | None = None
    ) -> float:
        # ~0.1 ms of pure Python: no thread hop, so ``timeout`` can never be exceeded
        text, context = turn_from_chat_ctx(chat_ctx)
        p = self.predict_text(text, context)
        self.last_prediction = p
        return p


def _stem(path: str) -> str:
    import os

    return os.path.splitext(os.path.basename(path))[0]


_default: SemanticTurnDetector | None = None
_default_lock = threading.Lock()


def predict_text(text: str, context: Sequence[str] = ()) -> float:
    """Module-level shortcut: ``SemanticTurnDetector().predict_text`` with the shipped weights."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = SemanticTurnDetector()
    return _default.predict_text(text, context)
