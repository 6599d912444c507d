"""Piper's first audio, by how its input is cut: `python -m evals.tts_first_phrase`.

The whole reply is handed over at once (as the guardrail gate hands a whole sentence on) to
Piper behind LiveKit's `tts.StreamAdapter`, with LiveKit's default sentence tokenizer and with
`piper.PhraseTokenizer`, alternating, and the time to the first audio frame is measured:
with sentences Piper synthesizes the whole first sentence before anything plays, with phrases
only "Sure,". Prints median [IQR] and p95 per tokenizer and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import numpy as np
from livekit.agents import tokenize
from livekit.agents import tts as agents_tts

REPLIES = (
    "Sure, we have oat milk and almond milk for any of our lattes. Anything else?",
    "Well, it depends on the time of day, mornings are busiest. Can I get you something?",
    "Our cortado is espresso with a little steamed milk, served small. Would you like one?",
    "Got it, one iced latte with oat milk. Anything else?",
)


async def _first_frame(adapter: agents_tts.TTS, text: str) -> float:
    stream = adapter.stream()
    started = time.perf_counter()
    stream.push_text(text)
    stream.end_input()
    await stream.__anext__()
    first = time.perf_counter() - started
    async for _ in stream:
        pass
    await stream.aclose()
    return first


async def _run(rounds: int) -> dict[str, list[float]]:
    from livekit.plugins import piper

    voice = piper.TTS()
    voice.prewarm()
    adapters = {
        "sentence (LiveKit default)": agents_tts.StreamAdapter(
            tts=voice, sentence_tokenizer=tokenize.blingfire.SentenceTokenizer(retain_format=True)
        ),
        "first phrase (PhraseTokenizer)": agents_tts.StreamAdapter(
            tts=voice, sentence_tokenizer=piper.PhraseTokenizer()
        ),
    }
    names = list(adapters)
    out: dict[str, list[float]] = {n: [] for n in names}
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            out[name].append(await _first_frame(adapters[name], REPLIES[i % len(REPLIES)]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.tts_first_phrase", description=__doc__)
    p.add_argument("--rounds", type=int, default=12, help="replies per tokenizer (default 12)")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    before = os.getloadavg()
    results = asyncio.run(_run(args.rounds))
    after = os.getloadavg()
    print("| Piper input cut | n | first audio ms, median [IQR] | p95 |")
    print("|---|---|---|---|")
    for name, values in results.items():
        q50, q25, q75, q95 = np.percentile(values, [50, 25, 75, 95]) * 1000
        print(f"| {name} | {len(values)} | {q50:.0f} [{q25:.0f}-{q75:.0f}] | {q95:.0f} |")
    print(f"load average (1 min) before {before[0]:.2f}, after {after[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
