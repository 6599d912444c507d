"""Does Whisper hear a caller's answer better knowing the agent's question? The local STT
with and without `agent_context` (the agent's last words before the menu prompt, fed by
LiveKit's `chat_context` forwarding), on short answers spoken by voices the agent never
uses, at 16 kHz (tiny.en) and through the SIP hop (8 kHz G.711 mu-law, the phone leg's
Whisper: base, or tiny.en with `--phone-model tiny.en`, as `LOCAL_PHONE_STT`).

    python -m evals.hearing_context [--voices flite:kal,espeak:en+f3,...] [--rate 16k|8k|both]
        [--phone-model base|tiny.en]

Prints word error rate and exact utterances per rate and variant. The answers are the kind
a caller gives mid-order (yes/no to a confirmation, a repair, an option, one more drink);
they were written for this bench, not taken from the simulated-call goals. Not timed: run
it beside other work under `nice` if you like.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
from collections.abc import Sequence

import numpy as np
from livekit import rtc
from livekit.agents import llm, stt
from livekit.agents.voice.events import ConversationItemAddedEvent
from livekit.plugins import fasterwhisper
from rapidfuzz.distance import Levenshtein

from agents.brain.factories import STT_FACTORIES
from agents.config import PHONE_STT_MODELS, Settings
from evals.orders.voices import VoiceError, parse_voice, speech_for
from evals.replay.telephony import telephone_audio

CASES: tuple[tuple[str, str], ...] = (
    ("Yes.", "Just to check: one Cortado with oat milk, right?"),
    ("Yeah, that's right.", "Just to check: one Cortado with oat milk, right?"),
    ("No.", "Just to check: one Cortado with oat milk, right?"),
    ("Yes, please.", "That's two Mochas and one Latte. Shall I place the order?"),
    ("No, that's not right. I'd like one cortado with oat milk.",
     "Just to check: one Cortado with oat milk, right?"),
    ("No, sorry. I'd like two mochas with almond milk.",
     "Just to check: two Matcha Lattes with almond milk, right?"),
    ("Oat milk, please.", "Sorry, was that one Cortado with oat milk, or with no milk?"),
    ("Yes, place it.", "That's one Chai Latte. Anything else, or shall I place the order?"),
    ("And a hot chocolate, too.",
     "Got it. That's one Latte. Anything else, or shall I place the order?"),
)  # fmt: skip
"""(what the caller answers, what the agent just asked)."""
VOICES = ("flite:kal", "flite:awb", "flite:rms", "flite:slt", "espeak:en-us+m3", "espeak:en+f3")
NOISE_DB = -45.0


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9%' ]+", " ", text.lower()).split()


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    edits = sum(Levenshtein.distance(words(r), words(h)) for r, h in zip(refs, hyps, strict=True))
    return edits / max(1, sum(len(words(r)) for r in refs))


def agent_said(text: str) -> ConversationItemAddedEvent:
    return ConversationItemAddedEvent(item=llm.ChatMessage(role="assistant", content=[text]))


async def hear(engine: stt.STT, pcm: np.ndarray, rate: int) -> str:
    frame = rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))
    event = await engine.recognize([frame])
    return event.alternatives[0].text if event.alternatives else ""


async def run(
    voices: Sequence[str], rates: Sequence[int], phone_model: str = "base"
) -> list[tuple[int, str, float, int, int]]:
    rows = []
    rng = np.random.default_rng(2)
    settings = dataclasses.replace(Settings.from_env({}), local_phone_stt=phone_model)
    for rate in rates:
        phone = rate == 8000
        engine = STT_FACTORIES["local"](settings, phone)
        whisper = whisper_inside(engine)
        refs: list[str] = []
        hyps: dict[str, list[str]] = {"menu prompt": [], "menu prompt + agent's words": []}
        for v in voices:
            for answer, question in CASES:
                pcm = speech_for(answer, parse_voice(v), rate, noise_db=NOISE_DB, rng=rng)
                if phone:
                    pcm = telephone_audio(pcm, 8000)
                refs.append(answer)
                engine._push_conversation_item(agent_said(question))
                for variant, on in (("menu prompt", False), ("menu prompt + agent's words", True)):
                    whisper.update_options(agent_context=on)
                    hyps[variant].append(await hear(engine, pcm, rate))
        for variant, hs in hyps.items():
            exact = sum(words(r) == words(h) for r, h in zip(refs, hs, strict=True))
            rows.append((rate, variant, wer(refs, hs), exact, len(refs)))
    return rows


def whisper_inside(engine: stt.STT) -> fasterwhisper.STT:
    """The Whisper engine at the bottom of a chain of wrappers (the digit normaliser, the
    speculative stream, LiveKit's stream and fallback adapters)."""
    seen: list[object] = [engine]
    while seen:
        e = seen.pop()
        if isinstance(e, fasterwhisper.STT):
            return e
        seen += [getattr(e, a) for a in ("inner", "wrapped_stt") if hasattr(e, a)]
        seen += list(getattr(e, "_stt_instances", []))
    raise ValueError(f"no faster-whisper engine in {engine!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.hearing_context", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--voices", default=",".join(VOICES), help="comma-separated caller voices")
    ap.add_argument("--rate", choices=("16k", "8k", "both"), default="both")
    ap.add_argument(
        "--phone-model",
        choices=PHONE_STT_MODELS,
        default=Settings().local_phone_stt,
        help="the phone leg's Whisper at 8 kHz (LOCAL_PHONE_STT; default %(default)s)",
    )
    args = ap.parse_args(argv)
    try:
        voices = [str(parse_voice(v)) for v in args.voices.split(",") if v.strip()]
    except VoiceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not voices:
        print("error: --voices names no voice", file=sys.stderr)
        return 2
    rates = {"16k": [16000], "8k": [8000], "both": [16000, 8000]}[args.rate]
    rows = asyncio.run(run(voices, rates, args.phone_model))
    print(f"Hearing a caller's answer, {len(CASES)} answers x {len(voices)} voices per rate")
    print("| audio | Whisper prompt | WER | exact utterances |")
    print("|---|---|---|---|")
    for rate, variant, w, exact, n in rows:
        audio = f"8 kHz mu-law ({args.phone_model})" if rate == 8000 else "16 kHz (tiny.en)"
        print(f"| {audio} | {variant} | {w:.3f} | {exact}/{n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
