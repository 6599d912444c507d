"""Decoding a recorded call into two mono 16 kHz channels (caller, agent) with PyAV.

Inputs as LiveKit produces them: one stereo file (channel 0 = caller, 1 = agent: RecorderIO's
layout and our replay's `call.ogg`) or one file per participant (track egress). Any container
and codec FFmpeg decodes (Opus/OGG, WAV incl. mu-law/A-law, MP4/M4A, WebM, FLAC, MP3) at any
sample rate; everything is resampled to 16 kHz float32, the rate Silero VAD and Whisper read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

RATE = 16000
"""Analysis rate: Silero VAD and Whisper both read 16 kHz."""

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".ogg", ".opus", ".oga", ".flac", ".mp3", ".m4a", ".mp4", ".webm", ".mka", ".aac"}
)
"""What a folder given on the command line expands to."""


class CallInputError(ValueError):
    """A recording cannot be scored; the message is one line naming the file."""


@dataclass(frozen=True)
class SourceInfo:
    path: str
    codec: str
    sample_rate: int
    channels: int
    container: str


@dataclass(frozen=True)
class CallAudio:
    """One call on one timeline: caller and agent as 16 kHz float32 mono arrays of equal length."""

    name: str
    caller: np.ndarray
    agent: np.ndarray
    sources: tuple[SourceInfo, ...]

    @property
    def duration(self) -> float:
        return len(self.caller) / RATE

    @property
    def narrowband(self) -> bool:
        """True when any source was recorded at <= 8 kHz (telephony)."""
        return any(s.sample_rate <= 8000 for s in self.sources)


def decode(path: str | Path) -> tuple[np.ndarray, SourceInfo]:
    """All channels of the file's first audio stream at 16 kHz: float32, shape (channels, n)."""
    p = Path(path)
    if not p.exists():
        raise CallInputError(f"{p}: no such file")
    if not p.is_file():
        raise CallInputError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise CallInputError(f"{p}: empty file (0 bytes)")
    try:
        container = av.open(str(p.absolute()))  # a name like `x:y.wav` is a file, not a protocol
    except av.error.FFmpegError as e:
        raise CallInputError(f"{p}: not a readable audio file ({_reason(e)})") from None
    with container:
        if not container.streams.audio:
            raise CallInputError(f"{p}: no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        rate = ctx.sample_rate
        channels = ctx.channels or 1
        if not rate:
            raise CallInputError(f"{p}: its audio stream has no sample rate")
        info = SourceInfo(
            path=str(p),
            codec=ctx.name,
            sample_rate=rate,
            channels=channels,
            container=container.format.name,
        )
        resampler = av.AudioResampler(format="fltp", rate=RATE)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                chunks.extend(f.to_ndarray() for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray() for f in resampler.resample(None))
        except av.error.FFmpegError as e:
            if not chunks:
                raise CallInputError(f"{p}: audio data is corrupt ({_reason(e)})") from None
            # a truncated tail: keep what decoded, as any player would
    if not chunks:
        raise CallInputError(f"{p}: contains no audio (0 s)")
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if audio.shape[1] == 0:
        raise CallInputError(f"{p}: contains no audio (0 s)")
    return audio, info


def _reason(e: Exception) -> str:
    return str(getattr(e, "strerror", None) or e).strip().rstrip(".")


def load_stereo(path: str | Path) -> CallAudio:
    """A stereo call recording: channel 0 = caller, channel 1 = agent."""
    audio, info = decode(path)
    if audio.shape[0] < 2:
        raise CallInputError(
            f"{path}: mono recording; a call needs two channels (0 = caller, 1 = agent) "
            "or --caller FILE --agent FILE"
        )
    return CallAudio(name=_call_name(Path(path)), caller=audio[0], agent=audio[1], sources=(info,))


def load_pair(
    caller: str | Path, agent: str | Path, name: str | None = None, agent_offset: float = 0.0
) -> CallAudio:
    """One file per participant (as track egress writes them), on one timeline: the agent's
    track starts `agent_offset` seconds after the caller's (negative: before). A
    multi-channel file is mixed down to mono."""
    c, ci = decode(caller)
    a, ai = decode(agent)
    shift = round(abs(agent_offset) * RATE)
    cm, am = c.mean(axis=0), a.mean(axis=0)
    if agent_offset > 0:
        am = np.concatenate([np.zeros(shift, dtype=np.float32), am])
    elif agent_offset < 0:
        cm = np.concatenate([np.zeros(shift, dtype=np.float32), cm])
    n = max(len(cm), len(am))
    return CallAudio(
        name=name or _call_name(Path(caller)),
        caller=_pad(cm, n),
        agent=_pad(am, n),
        sources=(ci, ai),
    )


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[: len(x)] = x
    return out


def _call_name(p: Path) -> str:
    """`call.ogg` in a replay or call-record folder is named after the folder (`../call.ogg`:
    the folder it really is in). Always a `safe_name`."""
    stem = p.stem
    if stem in {"call", "recording", "audio"}:
        folder = p.resolve().parent.name
        if folder:
            return safe_name(folder)
    return safe_name(stem)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
NAME_MAX = 100


def safe_name(raw: str) -> str:
    """A call's name as a folder under `--out` and a link in `summary.html`: letters, digits,
    `.`, `_` and `-` only (any other run becomes `_`), no leading or trailing dot or
    underscore, at most `NAME_MAX` characters, never empty (`call`). So no name climbs out
    of `--out` (`..`), is hidden, or reads as a URL scheme (`javascript:`)."""
    name = _UNSAFE.sub("_", raw)[:NAME_MAX].strip("._")
    return name or "call"
