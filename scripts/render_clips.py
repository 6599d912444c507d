"""Render the resilience lines (agents/resilience/lines.py) to WAV with the offline Piper
voice, so an apology can be played when every TTS is down. Run once after changing a line:

    .venv/bin/python scripts/render_clips.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from livekit.agents import utils  # noqa: E402
from livekit.plugins import piper  # noqa: E402

from agents.resilience.lines import CLIPS_DIR, LINES  # noqa: E402


async def render(text: str) -> tuple[np.ndarray, int]:
    engine = piper.TTS()
    frames = []
    async with utils.http_context.open():
        async for ev in engine.synthesize(text):
            frames.append(ev.frame)
    rate = frames[0].sample_rate
    pcm = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    return pcm, rate


def main() -> None:
    CLIPS_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in LINES.items():
        pcm, rate = asyncio.run(render(text))
        path = CLIPS_DIR / f"{name}.wav"
        sf.write(path, pcm, rate, subtype="PCM_16")
        print(f"{path}: {len(pcm) / rate:.1f} s at {rate} Hz")


if __name__ == "__main__":
    main()
