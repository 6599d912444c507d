"""What the agent says when something fails, and the same lines as pre-rendered audio.

A failing TTS cannot speak its own apology, so each line also ships as a short WAV (rendered
offline with the Piper voice by `scripts/render_clips.py`): `session.say(text, audio=...)`
plays it without any TTS, and the text still goes into the transcript.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import soundfile as sf
from livekit import rtc

CLIPS_DIR = Path(__file__).resolve().parent / "clips"

APOLOGY = "Sorry, I'm having a little trouble on my end. Could you say that again?"
"""A turn that failed: the caller is asked to repeat, the next turn is answered."""
GOODBYE = (
    "I'm sorry, I'm having technical trouble and can't continue this call. "
    "Please call back in a few minutes. Goodbye."
)
"""A call that cannot go on (every engine of a stage is down, turn after turn)."""
FAILOVER = "Sorry about that, I'm back. Where were we?"
"""Said by the fallback brain when it takes a call over from a failed realtime model."""

FAILOVER_PENDING = "Sorry about that, one moment."
"""Said instead when the caller's last turn is still unanswered: the answer follows."""

LINES = {"apology": APOLOGY, "goodbye": GOODBYE}
"""The lines that must play when the TTS cannot: the failover lines are spoken by the new
brain's own TTS."""
FRAME_MS = 20


@functools.cache
def _clip(name: str) -> tuple[np.ndarray, int]:
    path = CLIPS_DIR / f"{name}.wav"
    pcm, rate = sf.read(path, dtype="int16", always_2d=False)
    return pcm, int(rate)


async def clip_frames(name: str) -> AsyncIterator[rtc.AudioFrame]:
    """The clip of line `name` as 20 ms mono frames (for `session.say(audio=...)`)."""
    pcm, rate = _clip(name)
    step = rate * FRAME_MS // 1000
    for i in range(0, len(pcm), step):
        chunk = pcm[i : i + step]
        yield rtc.AudioFrame(
            data=chunk.tobytes(), sample_rate=rate, num_channels=1, samples_per_channel=len(chunk)
        )
