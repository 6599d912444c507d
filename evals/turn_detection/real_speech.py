"""Real speech for the bench: the LibriVox / command clips shipped in Debian's
``pocketsphinx-testdata`` (single-utterance clips with transcripts) as benchmark turns.

Silences are found by a noise-floor energy VAD (``turns.floor_silences``), word end times are
estimated by characters over the speech frames, and each clip is padded with noise at its own
floor so every policy timeout can elapse.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from .turns import SR, Turn, Word, first_speech, floor_silences, label_silences, speech_word_ends

POCKETSPHINX_DIR = "/usr/share/pocketsphinx/test/data"
POCKETSPHINX_ATTRIBUTION = (
    "Debian pocketsphinx-testdata (CMU Sphinx test data; LibriVox recordings are public domain)"
)


@dataclass(frozen=True)
class RealClip:
    id: str
    path: str
    text: str
    raw: bool = False  # headerless 16 kHz s16le


def real_clips(root: str = POCKETSPHINX_DIR) -> list[RealClip]:
    """Clips of ``pocketsphinx-testdata`` whose transcript is known."""
    clips: list[RealClip] = []
    pat = re.compile(r"<s>(.*?)</s>\s*\(([^)\s]+)\)")
    for sub in ("librivox", "cards"):
        tr = os.path.join(
            root, sub, "transcription" if sub == "librivox" else "cards.transcription"
        )
        if not os.path.exists(tr):
            continue
        with open(tr) as fh:
            for line in fh:
                m = pat.search(line)
                if m:
                    path = os.path.join(root, sub, m.group(2) + ".wav")
                    if os.path.exists(path):
                        clips.append(RealClip(f"{sub}/{m.group(2)}", path, m.group(1).strip()))
    gf = os.path.join(root, "goforward.raw")
    if os.path.exists(gf):  # transcript from goforward.gram / pocketsphinx's own tests
        clips.append(RealClip("goforward", gf, "go forward ten meters", raw=True))
    return clips


def load_real_clip(clip: RealClip) -> np.ndarray:
    if clip.raw:
        pcm = np.fromfile(clip.path, dtype="<i2")
        return (pcm.astype(np.float32) / 32768.0).copy()
    import soundfile as sf

    audio, sr = sf.read(clip.path, dtype="float32", always_2d=False)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if sr != SR:
        from scipy.signal import resample_poly

        g = np.gcd(sr, SR)
        audio = resample_poly(audio, SR // g, sr // g).astype(np.float32)
    return audio


def build_real_turn(clip: RealClip, *, tail_s: float, seed: int) -> Turn:
    """A real clip as one turn: VAD silences, trailing noise-floor padding to ``tail_s``."""
    audio = load_real_clip(clip)
    sil = floor_silences(audio)
    speech_start = first_speech(sil)
    last_speech = sil[-1][0] if sil and sil[-1][1] >= len(audio) / SR - 1e-6 else len(audio) / SR
    # pad with noise at the clip's own floor so the trailing silence lasts tail_s
    frame = 160
    nfr = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: nfr * frame].reshape(nfr, frame) ** 2, axis=1))
    floor = float(np.percentile(rms, 10)) if nfr else 1e-4
    need = max(0, int((last_speech + tail_s) * SR) - len(audio))
    rng = np.random.default_rng(seed)
    audio = np.concatenate([audio, (rng.standard_normal(need) * floor).astype(np.float32)])
    sil = [(s, e) for s, e in sil if e < last_speech + 1e-6] + [(last_speech, len(audio) / SR)]
    words = clip.text.split()
    ends = speech_word_ends(words, speech_start, last_speech, sil)
    spans = label_silences(sil, speech_start=speech_start)
    return Turn(
        id=clip.id,
        set_name="real",
        audio=audio,
        words=[Word(w, e) for w, e in zip(words, ends, strict=True)],
        spans=spans,
        context=(),
        meta={"source": clip.path, "word_times": "estimated (chars over speech frames)"},
    )
