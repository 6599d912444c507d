"""`python -m evals.hearing_latency` and `evals.hearing_wer`: policy turns are told from model
turns, the table carries both variants, the talk-over count and the background passes; bad
arguments are refused before anything is replayed; the WER bench streams real audio through
both variants."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.config import Settings
from evals.hearing_latency import (
    COMPARISONS,
    Replay,
    is_policy,
    paired,
    table,
    values,
    variant_settings,
)

ROOT = Path(__file__).resolve().parent.parent


def _turn(latency: float, ttft: float | None) -> dict[str, float | None]:
    return {"latency": latency, "eou_delay": latency - 0.2, "stt": latency - 0.25, "llm_ttft": ttft}


def test_policy_turns_are_those_the_ordering_policy_answered() -> None:
    assert is_policy(_turn(1.0, 0.001))
    assert not is_policy(_turn(2.0, 0.6))  # the fallback model wrote this one
    assert is_policy(_turn(0.9, None))  # no LLM step: the scripted goodbye
    replays = [
        Replay("old", [_turn(1.0, 0.001), _turn(2.5, 0.7)], {}, 1, 2),
        Replay("new", [_turn(0.8, 0.002), _turn(2.4, 0.8)], {"segments": 2, "passes": 3,
               "used": 2, "stale": 1}, 0, 2),
    ]  # fmt: skip
    assert values(replays, "old", "latency", policy_only=True) == [1.0]
    assert values(replays, "new", "latency", policy_only=False) == [0.8, 2.4]
    text = table(replays, "t")
    assert "| policy | latency | 1/1 | 1000 [1000-1000] p95 1000 | 800 [800-800] p95 800 |" in text
    assert "old: 1 replays, 2 turns answered; agent started while the caller spoke: 1" in text
    assert "background passes 3, used 2, dropped stale 1" in text


def _at(user_end: float, latency: float) -> dict[str, float | None]:
    return {**_turn(latency, 0.001), "user_end": user_end}


def test_the_phone_model_comparison_pairs_the_same_turn_of_the_same_run() -> None:
    base, tiny = COMPARISONS["phone-model"]
    s = variant_settings(Settings(), tiny)
    assert (s.brain, s.local_phone_stt, s.local_stt_speculate) == ("local", "tiny.en", "all")
    assert variant_settings(Settings(), base).local_phone_stt == "base"
    assert variant_settings(Settings(), "new").local_stt_speculate == "all"
    replays = [
        Replay(base, [_at(3.0, 2.0), _at(9.0, 2.2), _at(15.0, 1.9)], {}, 0, 3, run=0),
        # run 0: the first turn unanswered; the others a little late (VAD), still paired
        Replay(tiny, [_at(9.3, 1.0), _at(15.2, 1.1)], {"segments": 2, "passes": 4,
               "used": 2, "stale": 2}, 0, 3, run=0),
        Replay(tiny, [_at(3.0, 0.9)], {}, 0, 1, run=1),
        Replay(base, [_at(3.1, 2.1), _at(20.0, 2.0)], {}, 0, 2, run=1),
    ]  # fmt: skip
    pairs = paired(replays, base, tiny, "latency", policy_only=True)
    assert sorted(pairs) == [(0.9, 2.1), (1.0, 2.2), (1.1, 1.9)]  # (tiny.en, base)
    text = table(replays, "t", (base, tiny))
    assert "| turns | stage | n base/tiny.en | base median [IQR] p95 |" in text
    # paired tiny.en - base: -1200, -1200, -800 ms; median -1200
    assert (
        "| policy | latency | 5/3 |" in text and "| -1200 (" in text and ", 3; separated) |" in text
    )
    assert "tiny.en: 2 replays, 3 turns answered" in text
    with pytest.raises(ValueError, match="unknown variant"):
        variant_settings(Settings(), "large")


def test_the_phone_beam_comparison_changes_only_the_phone_leg_s_beam() -> None:
    five, one = COMPARISONS["phone-beam"]
    for variant, beam in ((five, 5), (one, 1)):
        s = variant_settings(Settings(), variant)
        assert (s.brain, s.local_phone_stt_beam, s.local_phone_stt) == ("local", beam, "base")
        assert s.local_stt_speculate == Settings().local_stt_speculate


def test_the_phone_window_comparison_changes_only_the_phone_leg_s_encoder_window() -> None:
    full, short = COMPARISONS["phone-window"]
    for variant, window in ((full, 30.0), (short, 22.0)):
        s = variant_settings(Settings(), variant)
        assert (s.brain, s.local_phone_stt_window, s.local_phone_stt_beam) == ("local", window, 5)
        assert s.local_stt_speculate == Settings().local_stt_speculate


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("evals.hearing_latency", ["--runs", "0"], "--runs must be >= 1"),
        ("evals.hearing_latency", ["--recording", "/nonexistent/call.wav"], "no such file"),
        ("evals.hearing_latency", ["--compare", "large"], "invalid choice: 'large'"),
        ("evals.hearing_context", ["--phone-model", "large"], "invalid choice: 'large'"),
        ("evals.hearing_wer", ["--compare", "phone-beam", "--all-audio"], "phone leg's audio only"),
        ("evals.hearing_wer", ["--compare", "phone-window", "--all-audio"], "audio only"),
        ("evals.whisper_window", ["--windows", "30,4"], "each window is 5 to 30 seconds"),
        ("evals.whisper_window", ["--windows", "long"], "is not a list of numbers"),
        ("evals.whisper_window", ["--sets", "cards"], "--sets: choose from phone, goals"),
    ],
)
def test_bad_arguments_exit_2(module: str, args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr


@pytest.mark.slow
async def test_the_wer_bench_hears_an_order_phrase_the_same_way_in_both_variants() -> None:
    from livekit.agents import stt as agents_stt
    from livekit.plugins import fasterwhisper, silero

    from evals.hearing_wer import order_utterances, stream_text
    from evals.stt_phone_bench import RATE, score_words

    utt = order_utterances(["espeak:en-us+m3"])[0]  # "Hi, can I get a latte with oat milk?"
    whisper = fasterwhisper.STT(beam_size=5)
    vad = silero.VAD.load(min_silence_duration=0.3)
    old, _ = await stream_text(agents_stt.StreamAdapter(stt=whisper, vad=vad), utt.audio, RATE)
    new, counts = await stream_text(
        fasterwhisper.SpeculativeSTT(stt=whisper, vad=vad), utt.audio, RATE
    )
    assert counts["segments"] >= 1 and counts["used"] >= 1  # the background pass was heard
    assert "latte" in score_words(new)
    assert score_words(new) == score_words(old)
