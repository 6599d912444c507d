"""Fusing the semantic probability with LiveKit's local audio end-of-turn model and silence.

Policy (``TurnFusion.combine``), one line::

    P = sigmoid(bias + w_text * logit(p_text) + w_audio * logit(p_audio)
                + silence_rate * min(silence_s, silence_cap_s))

- ``p_audio is None`` (no ``livekit.local_inference``, it failed to load, or no audio) drops the
  audio term, which is the same as ``p_audio = 0.5`` (logit 0: no evidence either way).
- With ``TurnFusion.prior()`` (``bias = 0``, ``w_text = w_audio = 1``) and no silence, the
  text-only result is exactly ``p_text``; with both models it is the naive-Bayes combination of
  two calibrated, independent opinions at an even prior.
- The silence term is a hazard: every second of silence adds ``silence_rate`` to the logit,
  so a "probably not finished" (p = 0.12, logit -2) becomes a coin flip after 1 s.
- ``TurnFusion.fit`` (logistic regression, numpy) fits all four numbers on every decision
  point of the bench's spoken multi-domain dev set (``bench --fit-fusion``). The defaults are
  that fit (with the v3 text model, 118 spoken dev answers, 4,593 decision points): it beats
  the prior on those dev rows (AUC 0.936 vs 0.926), which is how it was chosen; the bench then
  scores it against the prior and text alone on the spoken test set (README). Record:
  ``evals/turn_detection/resources/fusion_fit.json`` in the suite.

How the session supplies audio: livekit-agents' text-detector protocol only passes a
``ChatContext``, never audio. ``FusedTurnDetector`` therefore reads audio from an ``AudioTap``
that the caller feeds (``tap.push(frame)`` for each ``rtc.AudioFrame`` of the user's track, e.g.
from an ``rtc.AudioStream`` on the participant's microphone or from an overridden
``Agent.stt_node``). The tap keeps the last 1.2 s at 16 kHz mono and an energy-based count of
trailing silence. Without a tap (or without frames) the audio term is dropped. Offline, the
benchmark calls ``FusedTurnDetector.predict_offline(text, context, pcm, silence_s)`` or
``TurnFusion.combine`` directly.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import numpy as np
from livekit.agents import llm

from .detector import SemanticTurnDetector, is_english, turn_from_chat_ctx
from .log import logger
from .model import sigmoid

SAMPLE_RATE = 16000
EOT_WINDOW_SAMPLES = 19200  # livekit.local_inference.EOT_MAX_SAMPLES (1.2 s @ 16 kHz)


def _logit(p: float, eps: float) -> float:
    p = min(max(float(p), eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


@dataclass
class TurnFusion:
    """Logit-linear fusion of text, audio and silence (see the module docstring)."""

    # Defaults: the weights fitted on the bench's spoken multi-domain dev set, chosen there over
    # the prior (``TurnFusion.prior()``) (``python -m evals.turn_detection bench --fit-fusion``;
    # record and test-set figures: ``evals/turn_detection/resources/fusion_fit.json``).
    w_text: float = 0.3794
    """Weight on logit(p_text) (fitted; 1.0 would keep the calibrated text probability as is)."""
    w_audio: float = 0.3325
    """Weight on logit(p_audio) from ``livekit.local_inference.EOT``; ignored when p_audio is None."""
    silence_rate: float = 2.262
    """Logit added per second of silence so far (a constant hazard)."""
    silence_cap_s: float = 3.0
    """Silence beyond this adds nothing more (the session's max_delay ends the turn anyway)."""
    bias: float = -1.253
    """Intercept (fitted; 0 would keep the text model's own calibration)."""
    eps: float = 1e-4
    """Probabilities are clipped to [eps, 1 - eps] before the logit."""

    @classmethod
    def prior(cls) -> TurnFusion:
        """The first release's unfitted prior: text and audio logits added, +2 logit per second
        of silence (capped at 3 s), no bias."""
        return cls(w_text=1.0, w_audio=1.0, silence_rate=2.0, silence_cap_s=3.0, bias=0.0)

    def combine(self, p_text: float, p_audio: float | None, silence_s: float) -> float:
        z = self.bias + self.w_text * _logit(p_text, self.eps)
        if p_audio is not None:
            z += self.w_audio * _logit(p_audio, self.eps)
        z += self.silence_rate * min(max(float(silence_s), 0.0), self.silence_cap_s)
        return sigmoid(z)

    @classmethod
    def fit(
        cls,
        p_text: Sequence[float],
        p_audio: Sequence[float | None],
        silence_s: Sequence[float],
        labels: Sequence[int],
        *,
        l2: float = 1.0,
        silence_cap_s: float = 3.0,
        iters: int = 100,
    ) -> TurnFusion:
        """Fit ``bias, w_text, w_audio, silence_rate`` by L2-regularised logistic regression
        (Newton's method with a backtracking line search, so rows that one feature nearly
        separates -- long silences are always ends of turn -- cannot make it diverge) on
        held-out rows; ``None`` audio rows contribute logit 0. Deterministic."""
        eps = cls.eps
        x = np.column_stack(
            [
                np.ones(len(labels)),
                [_logit(p, eps) for p in p_text],
                [0.0 if p is None else _logit(p, eps) for p in p_audio],
                [min(max(float(s), 0.0), silence_cap_s) for s in silence_s],
            ]
        )
        y = np.asarray(labels, dtype=np.float64)
        w = np.array([0.0, 1.0, 1.0, 0.0])
        reg = np.diag([0.0, l2, l2, l2])

        def loss(v: np.ndarray) -> float:
            z = x @ v
            nll = np.logaddexp(0.0, z) - y * z  # -log-likelihood, overflow-free
            return float(nll.sum() + 0.5 * v @ reg @ v)

        cur = loss(w)
        for _ in range(iters):
            p = 0.5 * (1.0 + np.tanh(0.5 * (x @ w)))  # stable sigmoid
            g = x.T @ (p - y) + reg @ w
            h = (x * (p * (1 - p))[:, None]).T @ x + reg + 1e-9 * np.eye(4)
            step = np.linalg.solve(h, g)
            t = 1.0
            while t > 1e-6:
                nxt = loss(w - t * step)
                if nxt <= cur:
                    break
                t *= 0.5
            else:
                break
            w = w - t * step
            done = cur - nxt < 1e-10 * max(1.0, abs(cur))
            cur = nxt
            if done or np.max(np.abs(t * step)) < 1e-8:
                break
        return cls(
            bias=float(w[0]),
            w_text=float(w[1]),
            w_audio=float(w[2]),
            silence_rate=float(w[3]),
            silence_cap_s=silence_cap_s,
        )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class AudioEOTModel(Protocol):
    """What we need of ``livekit.local_inference.EOT``."""

    def predict(self, pcm: np.ndarray) -> float: ...


def load_audio_eot() -> AudioEOTModel | None:
    """``livekit.local_inference.EOT()`` or None when it is not installed or fails to load."""
    try:
        from livekit.local_inference import EOT

        model: AudioEOTModel = EOT()
        return model
    except Exception as e:  # ImportError, missing native lib, model load failure...
        logger.warning("audio end-of-turn model unavailable, using text only: %s", e)
        return None


class AudioTap:
    """The last ``max_seconds`` of the user's audio at 16 kHz mono, plus trailing silence.

    ``push`` accepts an ``rtc.AudioFrame`` (any rate / channel count: down-mixed and linearly
    resampled) or an int16 numpy array with ``sample_rate``. Thread-safe.
    """

    def __init__(self, *, max_seconds: float = 1.2, silence_rms: float = 300.0) -> None:
        self._max = int(round(max_seconds * SAMPLE_RATE))
        self._buf = np.zeros(0, dtype=np.int16)
        self._silence_rms = silence_rms
        self._trailing_silence = 0  # samples
        self._lock = threading.Lock()
        self._resampler: Any = None
        self._resampler_rate = 0

    def push(self, frame: Any, sample_rate: int = SAMPLE_RATE) -> None:
        if hasattr(frame, "sample_rate") and hasattr(frame, "data"):
            sr = int(frame.sample_rate)
            ch = int(getattr(frame, "num_channels", 1))
            pcm = np.frombuffer(frame.data, dtype=np.int16)
        else:
            sr, ch = int(sample_rate), 1
            pcm = np.asarray(frame)
            if pcm.ndim == 2:  # (samples, channels)
                ch = pcm.shape[1]
                pcm = pcm.reshape(-1)
            pcm = pcm.astype(np.int16, copy=False)
        x: np.ndarray = pcm.astype(np.float32)
        if ch > 1:
            x = x[: len(x) // ch * ch].reshape(-1, ch).mean(axis=1)
        out = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        if sr != SAMPLE_RATE and len(out):
            out = self._resample(out, sr)
        if not len(out):
            return
        rms = float(np.sqrt(np.mean(out.astype(np.float32) ** 2)))
        with self._lock:
            self._buf = np.concatenate([self._buf, out])[-self._max :]
            if rms < self._silence_rms:
                self._trailing_silence += len(out)
            else:
                self._trailing_silence = 0

    def _resample(self, pcm: np.ndarray, rate: int) -> np.ndarray:
        """To 16 kHz with LiveKit's streaming resampler (one per input rate, state kept)."""
        from livekit import rtc

        if self._resampler is None or self._resampler_rate != rate:
            self._resampler = rtc.AudioResampler(rate, SAMPLE_RATE, num_channels=1)
            self._resampler_rate = rate
        frame = rtc.AudioFrame(
            data=pcm.tobytes(), sample_rate=rate, num_channels=1, samples_per_channel=len(pcm)
        )
        outs = self._resampler.push(frame)
        if not outs:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in outs])

    def samples(self) -> np.ndarray:
        """int16 PCM, at most ``max_seconds`` (19,200 samples by default) long."""
        with self._lock:
            return self._buf.copy()

    def trailing_silence_s(self) -> float:
        """Seconds since the last pushed frame louder than ``silence_rms``."""
        with self._lock:
            return self._trailing_silence / SAMPLE_RATE

    def clear(self) -> None:
        with self._lock:
            self._buf = np.zeros(0, dtype=np.int16)
            self._trailing_silence = 0


@dataclass(frozen=True)
class FusedScores:
    """What one in-session ``FusedTurnDetector.predict_end_of_turn`` combined."""

    p_text: float
    p_audio: float | None  # None: the audio half did not score (no tap/audio, model missing...)
    silence_s: float
    p: float


class FusedTurnDetector:
    """A text turn detector (same protocol as ``SemanticTurnDetector``, still no ``stream()``)
    that folds in LiveKit's local audio EOT model and the silence so far, via ``TurnFusion``.

    Args:
        semantic: the text model (default: ``SemanticTurnDetector()``).
        fusion: the fusion policy (default: ``TurnFusion()``).
        audio_eot: ``"auto"`` loads ``livekit.local_inference.EOT`` lazily (once, in a thread)
            and falls back to text only if that fails; ``None`` disables audio; or any object
            with ``predict(int16 pcm) -> float``.
        tap: where in-session audio comes from (see the module docstring). Without one the
            audio and silence terms are dropped in the session path.
        unlikely_threshold: default: the semantic detector's threshold.
    """

    def __init__(
        self,
        semantic: SemanticTurnDetector | None = None,
        fusion: TurnFusion | None = None,
        audio_eot: AudioEOTModel | Literal["auto"] | None = "auto",
        tap: AudioTap | None = None,
        *,
        unlikely_threshold: float | None = None,
    ) -> None:
        self._semantic = semantic or SemanticTurnDetector()
        self._fusion = fusion or TurnFusion()
        self._audio_cfg = audio_eot
        self._audio: AudioEOTModel | None = None if audio_eot == "auto" else audio_eot  # type: ignore[assignment]
        self._audio_loaded = audio_eot != "auto"
        self._load_lock = threading.Lock()
        self.tap = tap
        self._threshold = (
            float(unlikely_threshold)
            if unlikely_threshold is not None
            else self._semantic.threshold
        )
        self.last_scores: FusedScores | None = None
        """The inputs and result of the last in-session prediction (for logs and tests)."""

    @property
    def model(self) -> str:
        return self._semantic.model + "+audio-eot"

    @property
    def provider(self) -> str:
        return "semantic-turn"

    @property
    def fusion(self) -> TurnFusion:
        return self._fusion

    @property
    def threshold(self) -> float:
        return self._threshold

    async def unlikely_threshold(self, language: str | None) -> float | None:
        return self._threshold if is_english(language) else None

    async def supports_language(self, language: str | None) -> bool:
        return is_english(language)

    def audio_model(self) -> AudioEOTModel | None:
        """The audio model, loading it on first use (``"auto"``); None when unavailable."""
        if not self._audio_loaded:
            with self._load_lock:
                if not self._audio_loaded:
                    self._audio = load_audio_eot()
                    self._audio_loaded = True
        return self._audio

    def prewarm(self) -> None:
        """Load the audio model now (e.g. from the worker's prewarm hook)."""
        self.audio_model()

    def _p_audio(self, pcm: np.ndarray | None) -> float | None:
        if pcm is None or len(pcm) == 0:
            return None
        model = self.audio_model()
        if model is None:
            return None
        try:
            return float(
                model.predict(np.ascontiguousarray(pcm[-EOT_WINDOW_SAMPLES:], dtype=np.int16))
            )
        except Exception as e:
            logger.warning("audio end-of-turn prediction failed: %s", e)
            return None

    def predict_offline(
        self,
        text: str,
        context: Sequence[str] = (),
        pcm: np.ndarray | None = None,
        silence_s: float = 0.0,
    ) -> float:
        """Benchmark path: fused P(end of turn) for a transcript, its context, the last <= 1.2 s
        of 16 kHz int16 audio (or None) and the silence since speech stopped."""
        p_text = self._semantic.predict_text(text, context)
        return self._fusion.combine(p_text, self._p_audio(pcm), silence_s)

    async def predict_end_of_turn(
        self, chat_ctx: llm.ChatContext, *, timeout: float | None = None
    ) -> float:
        text, context = turn_from_chat_ctx(chat_ctx)
        p_text = self._semantic.predict_text(text, context)
        if self.tap is None:
            p = self._fusion.combine(p_text, None, 0.0)
            self.last_scores = FusedScores(p_text, None, 0.0, p)
            return p
        pcm = self.tap.samples()
        silence_s = self.tap.trailing_silence_s()
        p_audio: float | None = None
        if len(pcm) and self._audio_cfg is not None:
            try:
                p_audio = await asyncio.wait_for(
                    asyncio.to_thread(self._p_audio, pcm), timeout=timeout
                )
            except asyncio.TimeoutError:
                logger.warning("audio end-of-turn model timed out; using text only")
        p = self._fusion.combine(p_text, p_audio, silence_s)
        self.last_scores = FusedScores(p_text, p_audio, silence_s, p)
        return p
