"""Whisper's encoder window on the phone leg: word errors and time per pass, window by window.

    python -m evals.whisper_window [--windows 30,25,22,20] [--sets phone,goals] [--runs 1]
        [--leg telephony|wideband]

Whisper pads every input to a 30 s window and its encoder's cost follows the window, not the
speech. `fasterwhisper.STT(encoder_window=...)` (the phone leg's `LOCAL_PHONE_STT_WINDOW`)
cuts the padded features before the encoder. This bench transcribes the same utterances with
each window through that option, the phone leg's STT as a call builds it (Whisper base, beam 5,
the menu prompt; `LOCAL_PHONE_STT=tiny.en` to sweep tiny.en), on phone audio (8 kHz G.711
mu-law, 0.3 s of silence after the words as the VAD leaves); `--leg wideband`: the wideband
leg's tiny.en on the same utterances at 16 kHz (`LOCAL_STT_WINDOW`):

- **phone**: the sets of `evals.hearing_wer` (LibriVox, digit strings in Piper and espeak-ng,
  ten order phrases in five flite / espeak-ng voices), the set the encoder window was first
  tried on;
- **goals**: every line of every orders-eval goal, in its goal's own voice (over forty voice
  settings): never used to choose a setting before the window was chosen.

Printed per window and set: word errors / words (WER), utterances with more than half their
words wrong (a decoder loop or a lost utterance), and time per pass (median, IQR, p95) with the
machine's load before and after. Windows alternate utterance by utterance. Run it alone:
`flock /tmp/bench.lock python -m evals.whisper_window`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from livekit import rtc

from agents.config import ConfigError, Settings, load_env
from evals.hearing_wer import VAD_SILENCE, VOICES, goal_utterances, order_utterances
from evals.latency import Spread
from evals.replay.telephony import telephone_audio
from evals.stt_phone_bench import RATE, Utterance, make_stt, score_words, utterances, wer_counts

SETS = ("phone", "goals")


def _utterances(which: Sequence[str]) -> list[Utterance]:
    out: list[Utterance] = []
    if "phone" in which:
        out += [dataclasses.replace(u, set="phone") for u in utterances()]
        out += [dataclasses.replace(u, set="phone") for u in order_utterances(VOICES)]
    if "goals" in which:
        out += [dataclasses.replace(u, set="goals") for u in goal_utterances()]
    return out


def _frame(u: Utterance, leg: str) -> rtc.AudioFrame:
    """The utterance as the leg hears it (the phone leg: 8 kHz mu-law), then the VAD's
    silence."""
    pcm, rate = (telephone_audio(u.audio, RATE), 8000) if leg == "telephony" else (u.audio, RATE)
    pcm = np.concatenate([pcm, np.zeros(int(rate * VAD_SILENCE), np.int16)])
    return rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))


def _stt_with_window(settings: Settings, leg: str, window: float) -> Any:  # stt.STT
    if leg == "telephony":
        return make_stt(leg, dataclasses.replace(settings, local_phone_stt_window=window))
    return make_stt(leg, dataclasses.replace(settings, local_stt_window=window))


async def run(
    windows: Sequence[float], sets: Sequence[str], runs: int, leg: str = "telephony"
) -> list[str]:
    settings = Settings.from_env()
    stts = {w: _stt_with_window(settings, leg, w) for w in windows}
    utts = _utterances(sets)
    frames = [_frame(u, leg) for u in utts]
    await stts[windows[0]].recognize(frames[0])  # load the model once
    errors: dict[tuple[float, str], list[int]] = {}
    lost: dict[tuple[float, str], int] = {}
    times: dict[tuple[float, str], list[float]] = {}
    loads = [os.getloadavg()[0]]
    for r in range(runs):
        for k, (u, frame) in enumerate(zip(utts, frames, strict=True)):
            order = list(windows) if (k + r) % 2 == 0 else list(windows)[::-1]
            for w in order:
                started = time.perf_counter()
                event = await stts[w].recognize(frame)
                times.setdefault((w, u.set), []).append(time.perf_counter() - started)
                if r:
                    continue  # the words are the same every run; only the time is sampled
                ref = score_words(u.text)
                wrong = wer_counts(ref, score_words(event.alternatives[0].text))
                tally = errors.setdefault((w, u.set), [0, 0])
                tally[0] += wrong
                tally[1] += len(ref)
                lost[(w, u.set)] = lost.get((w, u.set), 0) + (wrong > len(ref) / 2)
        loads.append(os.getloadavg()[0])
    if leg == "telephony":
        heard = f"Whisper {settings.local_phone_stt} on phone audio (8 kHz mu-law), "
        heard += f"beam {settings.local_phone_stt_beam}"
    else:
        heard = "Whisper tiny.en on 16 kHz audio, beam 5"
    lines = [
        f"{heard}, the menu prompt; {len(utts)} utterances, {runs} run(s)",
        "",
        "| set | window | word errors / words | WER | utterances > half wrong "
        "| time per pass ms, median [IQR] p95 (n) |",
        "|---|---|---|---|---|---|",
    ]
    for s in [s for s in SETS if s in sets]:
        for w in windows:
            e, n = errors[(w, s)]
            t = Spread.of([1000 * x for x in times[(w, s)]])
            assert t is not None  # every set has utterances
            lines.append(
                f"| {s} | {w:g} s | {e} / {n} | {100 * e / max(n, 1):.1f} % | {lost[(w, s)]} "
                f"| {t.median:.0f} [{t.q25:.0f}-{t.q75:.0f}] p95 {t.p95:.0f} ({t.n}) |"
            )
    lines.append("")
    lines.append(
        "load average (1 min) before and after each run: " + ", ".join(f"{x:.2f}" for x in loads)
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.whisper_window", description=__doc__)
    p.add_argument("--windows", default="30,25,22,20", help="seconds, comma-separated (5-30)")
    p.add_argument("--sets", default="phone,goals", help=f"comma-separated: {', '.join(SETS)}")
    p.add_argument("--runs", type=int, default=1, help="passes over the sets (timing samples)")
    p.add_argument(
        "--leg",
        choices=("telephony", "wideband"),
        default="telephony",
        help="the phone leg's Whisper on phone audio (default), or the wideband leg's at 16 kHz",
    )
    args = p.parse_args(argv)
    try:
        windows = [float(w) for w in args.windows.split(",") if w.strip()]
    except ValueError:
        p.error(f"--windows: {args.windows!r} is not a list of numbers")
    if not windows or any(not 5 <= w <= 30 for w in windows):
        p.error("--windows: each window is 5 to 30 seconds")
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if not sets or any(s not in SETS for s in sets):
        p.error(f"--sets: choose from {', '.join(SETS)}")
    if args.runs < 1:
        p.error("--runs must be >= 1")
    load_env()
    try:
        lines = asyncio.run(run(windows, sets, args.runs, args.leg))
    except (ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
