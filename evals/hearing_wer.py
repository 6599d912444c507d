"""Word accuracy of the local STT's streaming path, old against new:
`python -m evals.hearing_wer [--engine wideband|telephony|both] [--voices V,V,...]`.

Each utterance is streamed (10 ms frames, 0.5 s of silence before, 1 s after) through the
local STT as a session uses it, in two variants, alternating utterance by utterance:

- **old**: LiveKit's `stt.StreamAdapter` (Whisper on each Silero segment after its end of
  speech), what the local brains had before;
- **new**: `fasterwhisper.SpeculativeSTT` with its default options (a segment transcribed
  when the caller pauses 0.1 s, used when only silence followed).

The feed waits for a running background pass before it pushes more audio (as in a call,
where Whisper finishes a pass well within the seconds a caller speaks), so every segment
whose last pause had only silence after it is heard by its background pass: the "used"
column counts them. The VAD is Silero with the local profile's 0.3 s end-of-speech silence.

Sets: those of `evals.stt_phone_bench` (LibriVox "real", digit strings in Piper and
espeak-ng), plus **orders**: ordering phrases written for this bench (never the simulated
caller's goals) spoken by Debian's flite and espeak-ng voices (`evals.orders.voices`; never
the agent's own Piper voice). Audio: what each engine gets in a call, 16 kHz for the
wideband tiny.en and the phone leg (8 kHz G.711 mu-law) for the telephony variant's Whisper
base (`--all-audio`: both for each). Scores
use `stt_phone_bench.score_words` (numerals spelled as read).

`--compare phone-beam` compares the phone leg's beam width instead (`LOCAL_PHONE_STT_BEAM`):
old = beam 5, new = beam 1 (greedy), both through LiveKit's `StreamAdapter` as the phone leg's
Whisper base is, on the phone leg's audio only.
`--compare phone-window` compares the phone leg's encoder window (`LOCAL_PHONE_STT_WINDOW`):
old = Whisper's 30 s, new = 22 s, both through `SpeculativeSTT` as the phone leg ships.
`--goal-lines` adds a set no setting was chosen on: every line of the orders eval's goal files,
each in its goal's own voice.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

from agents.config import Settings
from evals.replay.telephony import resample, telephone_audio
from evals.stt_phone_bench import RATE, Utterance, make_stt, score_words, utterances, wer_counts

ORDER_PHRASES = (
    "Hi, can I get a latte with oat milk?",
    "And a hot chocolate too, please.",
    "Two cappuccinos and a cold brew, please.",
    "Could I have a large mocha with almond milk?",
    "Make that an iced americano instead.",
    "Do you have decaf?",
    "One cortado and a chai latte.",
    "No, that's it. Please place the order.",
    "Actually, remove the espresso.",
    "What teas do you have?",
)
"""Written for this bench from the menu's words (tools/coffee/data/menu.json)."""
GOALS = Path(__file__).resolve().parent / "orders" / "goals"
VOICES = ("flite:slt", "flite:rms", "flite:awb", "espeak:en-us+f2", "espeak:en-gb")
VAD_SILENCE = 0.3
"""The local profile's Silero end-of-speech silence."""


def order_utterances(voices: Sequence[str]) -> list[Utterance]:
    from evals.orders.voices import parse_voice, synthesize

    out = []
    for spec in voices:
        voice = parse_voice(spec)
        for i, text in enumerate(ORDER_PHRASES):
            pcm, rate = synthesize(text, voice)
            audio = resample(np.asarray(pcm, dtype=np.int16), rate, RATE)
            out.append(Utterance(f"orders-{spec}", f"{spec}/{i}", text, audio))
    return out


def goal_utterances() -> list[Utterance]:
    """Every line of every simulated caller's goal (`evals/orders/goals/*`), in that goal's
    own voice: written for the orders eval, never for this bench."""
    from evals.orders.goals import load_goals
    from evals.orders.voices import parse_voice, synthesize

    out = []
    for goal in load_goals(sorted(str(d) for d in GOALS.iterdir() if d.is_dir())):
        for i, line in enumerate(goal.lines):
            pcm, rate = synthesize(line.say, parse_voice(goal.voice))
            audio = resample(np.asarray(pcm, dtype=np.int16), rate, RATE)
            out.append(Utterance("goal-lines", f"{goal.id}/{i}", line.say, audio))
    return out


def _frames(pcm: np.ndarray, rate: int) -> list[rtc.AudioFrame]:
    pcm = np.concatenate(
        [np.zeros(rate // 2, np.int16), pcm.astype(np.int16), np.zeros(rate, np.int16)]
    )
    step = rate // 100
    return [
        rtc.AudioFrame(pcm[i : i + step].tobytes(), rate, 1, len(pcm[i : i + step]))
        for i in range(0, len(pcm), step)
    ]


async def stream_text(stt: Any, pcm: np.ndarray, rate: int) -> tuple[str, dict[str, int]]:
    """The final transcripts of one utterance through a streaming STT, joined; and the
    SpeculativeSTT stream's counts (empty for the StreamAdapter)."""
    texts: list[str] = []
    stream = stt.stream()

    async def feed() -> None:
        for f in _frames(pcm, rate):
            stream.push_frame(f)
            await asyncio.sleep(0.002)  # 5x real time: Silero keeps up, frame by frame
            running = getattr(stream, "_running", None)
            while running is not None and not running.done():
                await asyncio.sleep(0.005)  # a pass ends before more audio arrives
        stream.end_input()

    async with stream:
        task = asyncio.create_task(feed())
        async for ev in stream:
            if ev.type.name == "FINAL_TRANSCRIPT" and ev.alternatives:
                texts.append(ev.alternatives[0].text)
        await task
    stats = getattr(stream, "stats", None)
    counts = {} if stats is None else {"used": stats.used, "segments": stats.segments}
    return " ".join(t for t in texts if t), counts


@dataclass
class Tally:
    words: int = 0
    errors: int = 0
    used: int = 0
    segments: int = 0
    changed: list[tuple[str, str, str]] = field(default_factory=list)


AUDIO_OF = {"wideband": ("16 kHz",), "telephony": ("8 kHz mu-law",)}
"""The audio each engine gets in a call (`--all-audio`: both, as stt_phone_bench)."""


def _variants(engine: str, settings: Settings, vad_model: Any, compare: str) -> dict[str, Any]:
    """old and new: the STT each variant streams through."""
    import dataclasses

    from livekit.agents import stt as agents_stt
    from livekit.plugins import fasterwhisper

    if compare == "phone-window":
        return {
            name: fasterwhisper.SpeculativeSTT(
                stt=make_stt(engine, dataclasses.replace(settings, local_phone_stt_window=w)),
                vad=vad_model,
            )
            for name, w in (("old", 30.0), ("new", 22.0))
        }
    if compare == "phone-beam":
        return {
            name: agents_stt.StreamAdapter(
                stt=make_stt(engine, dataclasses.replace(settings, local_phone_stt_beam=beam)),
                vad=vad_model,
            )
            for name, beam in (("old", 5), ("new", 1))
        }
    whisper = make_stt(engine, settings)
    return {
        "old": agents_stt.StreamAdapter(stt=whisper, vad=vad_model),
        "new": fasterwhisper.SpeculativeSTT(stt=whisper, vad=vad_model),
    }


async def run(
    engines: Sequence[str],
    voices: Sequence[str],
    verbose: bool,
    all_audio: bool = False,
    compare: str = "speculation",
    goal_lines: bool = False,
) -> list[str]:
    from livekit.plugins import silero

    vad_model = silero.VAD.load(min_silence_duration=VAD_SILENCE)
    settings = Settings()
    utts = utterances() + order_utterances(voices) + (goal_utterances() if goal_lines else [])
    lines = [
        "| engine | set | audio | words | WER old | WER new | segments heard by the "
        "background pass (new) | utterances whose text changed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for engine in engines:
        variants = _variants(engine, settings, vad_model, compare)
        whisper = make_stt(engine, settings)
        await whisper.recognize(rtc.AudioFrame(bytes(RATE * 2), RATE, 1, RATE))  # load
        for audio_name in ("16 kHz", "8 kHz mu-law") if all_audio else AUDIO_OF[engine]:
            tallies: dict[tuple[str, str], Tally] = {}
            for k, u in enumerate(utts):
                if audio_name == "16 kHz":
                    pcm, rate = u.audio, RATE
                else:
                    pcm, rate = telephone_audio(u.audio, RATE, None), 8000
                order = ("old", "new") if k % 2 == 0 else ("new", "old")
                hyps: dict[str, str] = {}
                for name in order:
                    hyp, counts = await stream_text(variants[name], pcm, rate)
                    hyps[name] = hyp
                    t = tallies.setdefault((u.set, name), Tally())
                    ref = score_words(u.text)
                    t.words += len(ref)
                    t.errors += wer_counts(ref, score_words(hyp))
                    t.used += counts.get("used", 0)
                    t.segments += counts.get("segments", 0)
                if score_words(hyps["old"]) != score_words(hyps["new"]):
                    tallies[(u.set, "new")].changed.append((u.id, hyps["old"], hyps["new"]))
                if verbose:
                    print(f"[{engine} {audio_name} {u.id}] {hyps}", file=sys.stderr)
            sets = sorted({s for s, _ in tallies}, key=[u.set for u in utts].index)
            for s in sets:
                old, new = tallies[(s, "old")], tallies[(s, "new")]
                lines.append(
                    f"| {engine} | {s} | {audio_name} | {old.words} | "
                    f"{100 * old.errors / max(old.words, 1):.1f} % | "
                    f"{100 * new.errors / max(new.words, 1):.1f} % | "
                    f"{new.used}/{new.segments} | {len(new.changed)} |"
                )
                for uid, a, b in new.changed:
                    print(f"  changed [{engine} {audio_name} {uid}]: {a!r} -> {b!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.hearing_wer", description=__doc__)
    p.add_argument("--engine", choices=("telephony", "wideband", "both"), default="both")
    p.add_argument(
        "--voices", default=",".join(VOICES), help="flite/espeak voices, comma-separated"
    )
    p.add_argument("--all-audio", action="store_true", help="each engine on both audios")
    p.add_argument(
        "--compare",
        choices=("speculation", "phone-beam", "phone-window"),
        default="speculation",
        help="speculation: StreamAdapter (old) against SpeculativeSTT (new); phone-beam: the "
        "phone leg's beam 5 (old) against 1 (new); phone-window: its encoder window 30 s (old) "
        "against 22 s (new); both telephony only",
    )
    p.add_argument(
        "--goal-lines",
        action="store_true",
        help="also score every line of the orders eval's goals, in each goal's own voice",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    engines = ("wideband", "telephony") if args.engine == "both" else (args.engine,)
    if args.compare in ("phone-beam", "phone-window"):
        if args.all_audio:
            p.error(f"--compare {args.compare} scores the phone leg's audio only")
        engines = ("telephony",)
    voices = [v for v in args.voices.split(",") if v.strip()]
    lines = asyncio.run(
        run(engines, voices, args.verbose, args.all_audio, args.compare, args.goal_lines)
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
