"""The simulated caller's voices: Debian's `flite` and `espeak-ng`, never the agent's Piper.

A voice is written `engine:name[@speed]`:

- `flite:kal`, `flite:kal16`, `flite:awb`, `flite:rms`, `flite:slt` (a bare flite name works
  too: `slt`); `@speed` is a duration stretch (`@1.1` = 10 % slower);
- `espeak:en-us+m3`, `espeak:en+f2`, `espeak:en-gb`, `espeak:en-us+Alex`, ... (any voice and
  variant the installed espeak-ng lists; an unknown one is refused, because espeak-ng itself
  would silently speak with its default voice); `@speed` is words per minute (default 160).

`synthesize` returns int16 mono at the engine's own rate; `speech_for` resamples it to the
call's input rate, levels it and adds seeded line noise (`line_noise`).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from evals.replay.telephony import resample

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
ESPEAK_DEFAULT_WPM = 160
SPEECH_RMS_DBFS = -20.0
"""Every line is levelled to this loudness (a caller at a normal distance from the phone)."""
_ESPEAK_NAME = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*(\+[A-Za-z0-9]{1,12})?$")
_FORBIDDEN = ("piper", "joe")
"""The agent's own voice: a caller speaking with it would test nothing."""


class VoiceError(ValueError):
    """A voice that cannot be used; one line."""


@dataclass(frozen=True)
class Voice:
    engine: str
    """"flite" or "espeak"."""
    name: str
    speed: float | None = None

    def __str__(self) -> str:
        speed = f"@{self.speed:g}" if self.speed is not None else ""
        return f"{self.engine}:{self.name}{speed}"


def parse_voice(spec: str) -> Voice:
    raw = spec.strip()
    if any(w in raw.lower() for w in _FORBIDDEN):
        raise VoiceError(f"{spec!r} is the agent's own voice; a caller needs another one")
    body, _, speed_s = raw.partition("@")
    engine, sep, name = body.partition(":")
    if not sep:
        engine, name = "flite", body
    speed: float | None = None
    if speed_s:
        try:
            speed = float(speed_s)
        except ValueError:
            raise VoiceError(f"{spec!r}: speed {speed_s!r} is not a number") from None
    if engine == "flite":
        if name not in FLITE_VOICES:
            raise VoiceError(f"{spec!r}: flite voices are {', '.join(FLITE_VOICES)}")
        if speed is not None and not 0.5 <= speed <= 2.0:
            raise VoiceError(f"{spec!r}: a flite stretch is 0.5..2.0")
    elif engine == "espeak":
        if not _ESPEAK_NAME.match(name):
            raise VoiceError(f"{spec!r}: not an espeak-ng voice name such as en-us+m3")
        if speed is not None and not 80 <= speed <= 400:
            raise VoiceError(f"{spec!r}: espeak-ng speed is 80..400 words per minute")
        _check_espeak_installed_has(spec, name)
    else:
        raise VoiceError(f"{spec!r}: the engine is flite or espeak (e.g. flite:slt, espeak:en+f2)")
    return Voice(engine, name, speed)


@functools.cache
def _espeak_catalogue() -> tuple[frozenset[str], frozenset[str]] | None:
    """The installed espeak-ng's languages and variant files (None: espeak-ng is not installed,
    and `synthesize` says so when a line is spoken)."""
    if shutil.which("espeak-ng") is None:
        return None
    langs = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, timeout=30)
    variants = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, timeout=30
    )
    rows = [line.split() for line in langs.stdout.splitlines()[1:]]
    # a voice answers to its own language and to the ones after it: "(en-gb 3)(en 2)"
    others = re.findall(r"\(([a-z0-9-]+) \d+\)", langs.stdout)
    languages = frozenset([*(r[1] for r in rows if len(r) > 1), *others])
    files = (line.split() for line in variants.stdout.splitlines()[1:])
    names = frozenset(r[4].removeprefix("!v/") for r in files if len(r) > 4)
    return languages, names


def _check_espeak_installed_has(spec: str, name: str) -> None:
    """espeak-ng falls back to its default voice, silently, for a language or variant it does
    not have; a caller that sounds like another would test nothing new."""
    catalogue = _espeak_catalogue()
    if catalogue is None:
        return
    languages, variants = catalogue
    language, _, variant = name.partition("+")
    if language not in languages:
        raise VoiceError(f"{spec!r}: espeak-ng has no language {language!r} (espeak-ng --voices)")
    if variant and variant not in variants:
        raise VoiceError(
            f"{spec!r}: espeak-ng has no variant {variant!r} (espeak-ng --voices=variant; "
            "names are case-sensitive)"
        )


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise VoiceError(f"{cmd[0]} is not installed (Debian: apt-get install {cmd[0]})")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise VoiceError(f"{cmd[0]} failed ({detail})")


def synthesize(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """`text` spoken by `voice`: int16 mono samples and their rate."""
    with tempfile.TemporaryDirectory(prefix="caller-voice-") as tmp:
        wav = Path(tmp) / "line.wav"
        if voice.engine == "flite":
            cmd = ["flite", "-voice", voice.name, "-t", text, "-o", str(wav)]
            if voice.speed is not None:
                cmd[1:1] = ["--setf", f"duration_stretch={voice.speed}"]
        else:
            wpm = int(voice.speed or ESPEAK_DEFAULT_WPM)
            cmd = ["espeak-ng", "-v", voice.name, "-s", str(wpm), "-w", str(wav), text]
        _run(cmd)
        data, rate = sf.read(wav, dtype="int16", always_2d=True)
    pcm = np.ascontiguousarray(data[:, 0])
    if len(pcm) == 0 or not np.any(pcm):
        raise VoiceError(f"{voice} produced no audio for {text!r}")
    return pcm, int(rate)


def level(pcm: np.ndarray, rms_dbfs: float = SPEECH_RMS_DBFS) -> np.ndarray:
    """Scale to `rms_dbfs` over the voiced part, the peak kept under full scale."""
    x = pcm.astype(np.float64)
    voiced = x[np.abs(x) > 0.02 * (np.abs(x).max() or 1)]
    rms = float(np.sqrt(np.mean(voiced**2))) if len(voiced) else 0.0
    if rms == 0:
        return pcm.astype(np.int16)
    gain = 32768 * 10 ** (rms_dbfs / 20) / rms
    gain = min(gain, 0.95 * 32767 / float(np.abs(x).max()))
    return np.clip(x * gain, -32768, 32767).astype(np.int16)


def line_noise(n: int, noise_db: float | None, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of white noise at `noise_db` dBFS RMS (float64; zeros when None)."""
    if noise_db is None:
        return np.zeros(n)
    return rng.normal(0.0, 32768 * 10 ** (noise_db / 20), n)


def speech_for(
    text: str,
    voice: Voice,
    rate: int,
    *,
    noise_db: float | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One caller line at `rate` (int16 mono), levelled, with line noise mixed in."""
    pcm, native = synthesize(text, voice)
    pcm = level(resample(pcm, native, rate))
    mixed = pcm.astype(np.float64) + line_noise(len(pcm), noise_db, rng)
    return np.clip(mixed, -32768, 32767).astype(np.int16)
