"""Reading a caller recording for `agent.py replay`, with a clear error for anything unusable.

Decoding is PyAV's (FFmpeg): WAV (PCM16, mu-law, A-law), FLAC, OGG/Opus, MP3, at a sample rate
from 8 kHz to 192 kHz (`MIN_RATE`..`MAX_RATE`), at most `MAX_DURATION_S` (30 min) long: a
header claiming 1 Hz or 500 MHz, or a file longer than any call, is refused before it is
decoded. Stereo recordings follow the call-recording convention: channel 0 is the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

# extension -> the FFmpeg demuxer names that may legitimately carry it
EXPECTED_FORMATS: dict[str, frozenset[str]] = {
    ".wav": frozenset({"wav"}),
    ".flac": frozenset({"flac"}),
    ".ogg": frozenset({"ogg"}),
    ".opus": frozenset({"ogg"}),
    ".oga": frozenset({"ogg"}),
    ".mp3": frozenset({"mp3"}),
}


class RecordingError(ValueError):
    """The recording cannot be replayed; the message is one line naming the problem."""


MIN_RATE = 8_000
"""Lowest sample rate replayed (narrowband telephone audio)."""
MAX_RATE = 192_000
"""Highest sample rate replayed (studio audio; anything above is a broken header)."""
MAX_DURATION_S = 1800.0
"""Longest recording replayed (replay runs in real time; a call is capped well below this by
`MAX_CALL_DURATION`, 900 s by default)."""

SILENCE_PEAK = 8
"""Peak amplitude (int16) at or below which a recording holds no audio at all: digital
silence plus dither. Real speech peaks in the thousands; line noise in the tens."""


@dataclass(frozen=True)
class Recording:
    path: Path
    pcm: np.ndarray
    """Caller audio, int16 mono."""
    sample_rate: int
    channels: int
    """Channels in the file (only channel 0 is used)."""
    codec: str

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate


def load_recording(path: str | Path) -> Recording:
    p = Path(path)
    if not p.exists():
        raise RecordingError(f"{p}: no such file")
    if not p.is_file():
        raise RecordingError(f"{p}: not a regular file")
    ext = p.suffix.lower()
    if ext not in EXPECTED_FORMATS:
        raise RecordingError(
            f"{p}: unsupported extension {ext or '(none)'!r}; "
            f"expected one of {', '.join(sorted(EXPECTED_FORMATS))}"
        )
    if p.stat().st_size == 0:
        raise RecordingError(f"{p}: empty file (0 bytes)")
    try:
        container = av.open(str(p.absolute()))  # `x:y.wav` is a file, not a protocol
    except (av.error.InvalidDataError, av.error.EOFError) as e:
        raise RecordingError(
            f"{p}: not a readable {ext[1:].upper()} file (truncated or corrupt header: {e})"
        ) from None
    except av.error.FFmpegError as e:
        raise RecordingError(f"{p}: cannot open ({e})") from None
    with container:
        formats = set(container.format.name.split(","))
        if not formats & EXPECTED_FORMATS[ext]:
            raise RecordingError(
                f"{p}: extension {ext!r} does not match its content "
                f"({container.format.long_name or container.format.name})"
            )
        if not container.streams.audio:
            raise RecordingError(f"{p}: no audio stream")
        stream = container.streams.audio[0]
        codec = stream.codec_context.name
        channels = stream.codec_context.channels or 1
        sample_rate = stream.codec_context.sample_rate
        if not sample_rate:
            raise RecordingError(
                f"{p}: not a readable {ext[1:].upper()} file (its audio stream has no sample rate)"
            )
        if not MIN_RATE <= sample_rate <= MAX_RATE:
            raise RecordingError(
                f"{p}: sample rate {sample_rate} Hz is out of range ({MIN_RATE}-{MAX_RATE} Hz)"
            )
        declared = _declared_duration(container, stream)
        if declared is not None and declared > MAX_DURATION_S:
            raise RecordingError(_too_long(p, declared))
        # packed int16 at the stream's own rate and layout; channel 0 taken below
        resampler = av.AudioResampler(format="s16", rate=sample_rate)
        chunks: list[np.ndarray] = []
        limit = int(MAX_DURATION_S * sample_rate)
        decoded = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(_channel0(out))
                    decoded += len(chunks[-1])
                if decoded > limit:  # no (or a lying) duration in the header
                    raise RecordingError(_too_long(p, decoded / sample_rate, at_least=True))
            for out in resampler.resample(None):
                chunks.append(_channel0(out))
        except (av.error.InvalidDataError, av.error.EOFError) as e:
            if not chunks:
                raise RecordingError(f"{p}: audio data is corrupt ({e})") from None
            # a truncated tail: keep what decoded, like any player would
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    if len(pcm) == 0:
        raise RecordingError(f"{p}: contains no audio (0 s)")
    peak = int(np.abs(pcm.astype(np.int32)).max())
    if peak <= SILENCE_PEAK:
        raise RecordingError(
            f"{p}: the caller channel is silent ({len(pcm) / sample_rate:.1f} s of digital "
            f"silence, peak {peak}); nothing to replay"
        )
    return Recording(path=p, pcm=pcm, sample_rate=sample_rate, channels=channels, codec=codec)


def _declared_duration(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    """Seconds the header says the audio lasts, when it says."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _too_long(p: Path, seconds: float, *, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (
        f"{p}: {more}{seconds:.0f} s of audio; replay takes at most {MAX_DURATION_S:.0f} s "
        f"({MAX_DURATION_S / 60:.0f} min): cut the call shorter"
    )


def _channel0(frame: av.AudioFrame) -> np.ndarray:
    data = frame.to_ndarray()  # packed s16: shape (1, samples * channels)
    channels = len(frame.layout.channels)
    return data.reshape(-1, channels)[:, 0].astype(np.int16, copy=True)
