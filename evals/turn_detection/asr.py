"""Real ASR text for the bench (``bench --transcript whisper``): text detectors get what Whisper
heard, not the reference words, so the 8 kHz mu-law rows measure the phone leg end to end.

At each decision span (a silence) the transcript is Whisper's (faster-whisper, the repo's
bundled ``tiny.en``, int8, one thread, beam 1) on the audio the models hear (16 kHz, or the 8 kHz
mu-law round trip) from the start of the turn up to the start of the silence: a Whisper-style
STT finalises a segment when the speaker pauses. The text is Whisper's own, punctuation and
closing period included. Results are cached per (turn, audio leg, span start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .turns import SR, Span, Turn


def whisper_model_path(name: str) -> str | None:
    """``tiny``: the bundled tiny.en (``None``, the plugin's default); ``base``: the telephony
    variant's phone STT, installed by ``scripts/install_models.py`` (``OSError`` if it is not)."""
    if name == "tiny":
        return None
    if name != "base":
        raise ValueError(f"unknown Whisper model {name!r} (tiny or base)")
    from agents.brain.model_files import LOCAL_STT_DIR, installed_model
    from agents.config import Settings

    path = installed_model(Settings.from_env().models_dir, LOCAL_STT_DIR)
    if not path:
        raise OSError("Whisper base is not installed: run python scripts/install_models.py")
    return str(path)


class WhisperTranscriber:
    def __init__(self, beam_size: int = 1, model: str | None = None) -> None:
        self.beam_size = beam_size
        self.model_path = model
        self._model: Any = None
        self._cache: dict[tuple[str, str, float], str] = {}
        self.calls = 0

    def load(self) -> None:
        from livekit.plugins.fasterwhisper import load_model

        self._model = load_model(self.model_path, cpu_threads=1)

    def transcribe(self, audio: np.ndarray) -> str:
        if self._model is None:
            self.load()
        self.calls += 1
        segments, _ = self._model.transcribe(
            audio.astype(np.float32), language="en", beam_size=self.beam_size,
            condition_on_previous_text=False, vad_filter=False, without_timestamps=True,
        )  # fmt: skip
        return " ".join(s.text.strip() for s in segments).strip()

    def text_fn(self, leg: str) -> Callable[[Turn, Span, np.ndarray], str]:
        """``fn(turn, span, audio)`` -> Whisper's transcript of ``audio[:span.start]``."""

        def fn(turn: Turn, span: Span, audio: np.ndarray) -> str:
            key = (turn.id, leg, round(span.start, 3))
            if key not in self._cache:
                self._cache[key] = self.transcribe(audio[: int(round(span.start * SR))])
            return self._cache[key]

        return fn

    def dump(self, path: str) -> int:
        """Write every transcript scored so far as JSON lines ``{"turn", "leg",
        "pause_start_s", "text"}`` (sorted), so what the detectors read can be inspected and the
        16 kHz and 8 kHz legs compared; returns the number of lines."""
        import json

        rows = sorted(self._cache.items())
        with open(path, "w", encoding="utf-8") as fh:
            for (turn, leg, start), text in rows:
                fh.write(json.dumps({"turn": turn, "leg": leg, "pause_start_s": start,
                                     "text": text}) + "\n")  # fmt: skip
        return len(rows)
