"""Tests for the end-of-turn bench (``python -m evals.turn_detection bench``)."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

from evals.turn_detection import pauses, turns
from evals.turn_detection.bench_scoring import Memo, score_set
from evals.turn_detection.detectors import Detector, View, causal_view
from evals.turn_detection.render import compose_turn, mulaw_encode_decode, telephone_8k_mulaw
from evals.turn_detection.sweep import (
    SpanScores,
    best_cutoff_at_latency,
    best_latency_at_cutoff,
    fire_times,
    grid_points,
    operating_points,
    pareto_frontier,
    sweep,
)
from tools.coffee.taskmaster4 import default_data_dir

SR = turns.SR


def _tone(seconds: float, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# --------------------------------------------------------------------------- decision points


def test_label_silences_holds_inside_eot_last():
    silences = [(0.0, 0.3), (1.0, 1.05), (1.5, 1.9), (2.2, 2.35), (2.5, 5.5)]
    spans = turns.label_silences(silences, speech_start=0.3)
    assert [(s.start, s.end, s.label) for s in spans] == [
        (1.5, 1.9, "hold"),
        (2.2, 2.35, "hold"),
        (2.5, 5.5, "eot"),
    ]  # the leading silence is no decision; 50 ms is below the 100 ms minimum
    assert [s.index for s in spans] == [0, 1, 2]


def test_composed_turn_labels_inserted_pauses_and_word_times():
    chunks = [
        pauses.Chunk("I'd like a", 0.5),
        pauses.Chunk("large latte and", 0.25),
        pauses.Chunk("a muffin", 0),
    ]
    audio, words, silences = compose_turn(
        [_tone(0.6), _tone(0.8), _tone(0.5)], chunks, lead_s=0.2, tail_s=3.2
    )
    spans = turns.label_silences(silences, speech_start=turns.first_speech(silences))
    assert [s.label for s in spans] == ["hold", "hold", "eot"]
    assert spans[0].start == pytest.approx(0.8, abs=0.011)
    assert spans[0].duration == pytest.approx(0.5, abs=0.011)
    assert spans[1].duration == pytest.approx(0.25, abs=0.011)
    assert spans[2].duration == pytest.approx(3.2, abs=0.011)
    # a chunk's last word ends where its speech ends; words are ordered
    assert [w.text for w in words][2] == "a" and words[2].end == pytest.approx(0.8, abs=0.011)
    assert words[-1].end == pytest.approx(spans[2].start, abs=1e-6)
    assert all(a.end <= b.end for a, b in zip(words, words[1:], strict=False))


def test_pause_points_and_plan():
    w = [
        "I'd",
        "like",
        "a",
        "large",
        "latte",
        "and",
        "um",
        "a",
        "muffin",
        "for",
        "five",
        "five",
        "five",
    ]
    pts = pauses.pause_points(w)
    assert 2 in pts  # after "a"
    assert 5 in pts and 6 in pts  # after "and", after "um"
    assert 9 in pts  # after "for"
    assert 10 in pts and 11 in pts  # inside the digit string
    assert len(w) - 1 not in pts
    chunks = pauses.plan_pauses(" ".join(w), random.Random(3), p_pause=1.0, max_pauses=2)
    assert len(chunks) == 3 and chunks[-1].pause_after_s == 0
    assert all(0.2 <= c.pause_after_s <= 1.2 for c in chunks[:-1])


def test_normalize_transcript_strips_written_punctuation():
    assert pauses.normalize_transcript(["Yes,", "that's", "correct."]) == "yes that's correct"
    assert pauses.normalize_transcript(["Yes."], keep_punctuation=True) == "Yes."


# --------------------------------------------------------------------------- causality


def _toy_turn() -> turns.Turn:
    audio = np.concatenate([_tone(1.0), np.zeros(int(0.6 * SR)), _tone(0.5), np.zeros(SR * 3)])
    words = [
        turns.Word("one", 0.4),
        turns.Word("two", 1.0),
        turns.Word("three", 1.9),
        turns.Word("four", 2.1),
    ]
    spans = [turns.Span(0, 1.0, 1.6, "hold"), turns.Span(1, 2.1, 5.1, "eot")]
    return turns.Turn("toy", "synthetic", audio.astype(np.float32), words, spans, ("Hi?",))


class _Spy(Detector):
    name = "spy"

    def __init__(self, turn: turns.Turn, lag: float):
        self.turn, self.lag = turn, lag
        self.seen: list[View] = []

    def predict(self, view: View) -> float:
        self.seen.append(view)
        return 0.5


@pytest.mark.parametrize("lag", [0.0, 0.2, 0.5])
def test_detectors_never_see_future_words_or_audio(lag):
    turn = _toy_turn()
    spy = _Spy(turn, lag)
    score_set([turn], {"spy": spy}, Memo(), audio_fn=lambda t: t.audio, lag_s=lag, max_t=3.0,
              grid={"step": 0.1, "coarse_after": 1.0, "coarse_step": 0.25})  # fmt: skip
    assert spy.seen
    for v in spy.seen:
        visible = [w for w in turn.words if w.end <= v.t - lag + 1e-9]
        assert v.n_words == len(visible)
        assert v.text == " ".join(w.text for w in visible)
        assert len(v.audio) == int(round(v.t * SR))
    # at the first eot grid point (0.1 s of silence) the last word is only visible with lag <= 0.1
    first_eot = [v for v in spy.seen if v.t == pytest.approx(2.2)][0]
    assert ("four" in first_eot.text) == (lag <= 0.1)


def test_causal_view_cuts_audio_and_words():
    turn = _toy_turn()
    v = causal_view(turn, 1.3, 0.3, lag_s=0.2)
    assert v.text == "one two" and len(v.audio) == int(1.3 * SR) and v.silence_s == 0.3
    v = causal_view(turn, 1.1, 0.1, lag_s=0.2)
    assert v.text == "one"


# --------------------------------------------------------------------------- sweep math


def _hand_case():
    e5 = np.round(np.arange(1, 6) * 0.1, 6)
    e3 = np.round(np.arange(1, 4) * 0.1, 6)
    eg = grid_points(10.0, 3.0, step=0.1, coarse_after=3.0)
    spans = [
        SpanScores("hold", 0.5, e5, np.array([0.2, 0.9, 0.2, 0.2, 0.2])),
        SpanScores("hold", 0.3, e3, np.array([0.1, 0.1, 0.1])),
        SpanScores("eot", np.inf, eg, np.where(eg >= 0.2 - 1e-9, 0.8, 0.1)),
        SpanScores("eot", np.inf, eg, np.full(len(eg), 0.3)),
    ]
    return spans


def test_fire_times_first_crossing_after_delay():
    s = _hand_case()[0]
    np.testing.assert_allclose(fire_times(s, np.array([0.5, 0.95, 0.1]), 0.0), [0.2, np.inf, 0.1])
    np.testing.assert_allclose(fire_times(s, np.array([0.5]), 0.3), [np.inf])


def test_sweep_metrics_known_answers():
    sw = sweep(_hand_case(), thresholds=np.array([0.5]), delays=(0.0, 0.3), timeouts=(1.0,))
    # policy A: thr .5, delay 0 -> hold 1 cut at 0.2 s; eots fire at 0.2 s and by timeout 1.0 s
    # policy B: thr .5, delay .3 -> no cut-off; eots fire at 0.3 s and 1.0 s
    np.testing.assert_allclose(sw.cutoff_rate, [0.5, 0.0])
    np.testing.assert_allclose(sw.mean_latency, [0.6, 0.65])
    np.testing.assert_allclose(sw.p50_latency, [0.6, 0.65])
    np.testing.assert_allclose(sw.detect_rate, [0.5, 0.5])
    assert sw.n_hold == 2 and sw.n_eot == 2
    assert sw.cutoff_rate[best_cutoff_at_latency(sw, 0.6)] == 0.5
    assert sw.cutoff_rate[best_cutoff_at_latency(sw, 0.65)] == 0.0
    assert best_cutoff_at_latency(sw, 0.3) is None  # no policy that fast
    assert sw.mean_latency[best_latency_at_cutoff(sw, 0.05)] == pytest.approx(0.65)
    assert sw.mean_latency[best_latency_at_cutoff(sw, 0.5)] == pytest.approx(0.6)
    ops = operating_points(sw)
    assert ops["cutoff_at_600ms"]["cutoff_rate"] == 0.5
    assert ops["latency_at_5pct"]["latency_s"] == pytest.approx(0.65)
    assert ops["latency_at_5pct"]["action_delay_s"] == 0.3
    assert ops["cutoff_at_300ms"] is None
    assert ops["frontier"] == [[0.6, 0.5], [0.65, 0.0]]


def test_timeout_cuts_long_holds_and_bounds_latency():
    e = grid_points(2.0, 3.0, step=0.1, coarse_after=3.0)
    spans = [
        SpanScores("hold", 2.0, e, np.zeros(len(e))),
        SpanScores("eot", np.inf, grid_points(9, 3.0), np.zeros(len(grid_points(9, 3.0)))),
    ]
    sw = sweep(spans, thresholds=np.array([0.5]), delays=(0.0,), timeouts=(1.5, 2.5))
    np.testing.assert_allclose(sw.cutoff_rate, [1.0, 0.0])  # 1.5 s timeout fires in a 2 s pause
    np.testing.assert_allclose(sw.mean_latency, [1.5, 2.5])
    np.testing.assert_allclose(sw.detect_rate, [0.0, 0.0])


def test_pareto_frontier_drops_dominated_points():
    cut = np.array([0.5, 0.4, 0.45, 0.1, 0.1, 0.0])
    lat = np.array([0.2, 0.3, 0.35, 0.5, 0.6, 1.0])
    assert list(pareto_frontier(cut, lat)) == [0, 1, 3, 5]


def test_grid_points():
    np.testing.assert_allclose(grid_points(0.35, 3.0), [0.1, 0.2, 0.3])
    np.testing.assert_allclose(grid_points(0.1, 3.0), [0.1])  # a 100 ms pause is a decision
    g = grid_points(10.0, 3.0)
    assert (
        g[9] == pytest.approx(1.0) and g[10] == pytest.approx(1.25) and g[-1] == pytest.approx(3.0)
    )


# --------------------------------------------------------------------------- mu-law


def test_mulaw_round_trip():
    t = np.arange(8000) / 8000
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = mulaw_encode_decode(x)
    assert y.shape == x.shape
    assert len(np.unique(y)) <= 256  # 8-bit code words
    snr = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
    assert snr > 30  # G.711 mu-law is ~38 dB on a loud tone
    assert np.all(mulaw_encode_decode(np.zeros(100, np.float32)) == 0)


def test_telephone_leg_is_band_limited_and_aligned():
    t = np.arange(SR) / SR
    low = 0.3 * np.sin(2 * np.pi * 500 * t)
    high = 0.3 * np.sin(2 * np.pi * 6000 * t)
    y = telephone_8k_mulaw((low + high).astype(np.float32))
    assert len(y) == SR
    spec = np.abs(np.fft.rfft(y))
    assert spec[6000] < 0.05 * spec[500]  # 6 kHz is above the 4 kHz Nyquist of the 8 kHz leg
    assert np.corrcoef(y[1000:-1000], low[1000:-1000])[0, 1] > 0.98  # no time shift


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "argv",
    [["--sets", "nope"], ["--detectors", "gpt5"], ["--lag-ms", "-5"], ["--n-dialogs", "0"],
     ["--n-dialogs", "x"], ["--latency-stat", "p99"]],
)  # fmt: skip
def test_cli_rejects_bad_arguments(argv, capsys):
    from evals.turn_detection.bench import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_end_to_end(tmp_path):
    if not os.path.isdir(default_data_dir()):
        pytest.skip("Taskmaster-4 data not present")
    pytest.importorskip("livekit.local_inference")
    from evals.turn_detection.bench import main

    out = tmp_path / "out"
    rc = main(["--n-dialogs", "2", "--detectors", "livekit-v1-mini,vad-baseline",
               "--sets", "synth-16k,synth-8k", "--voices", "espeak-en-us", "--out", str(out),
               "--cache-dir", str(tmp_path / "cache"), "--timing-samples", "3"])  # fmt: skip
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert (out / "pareto_frontier.png").stat().st_size > 10_000
    assert set(res["sets"]) == {"synth-16k", "synth-8k"}
    assert res["sets"]["synth-16k"]["n_eot"] >= 2
    for name in ("livekit-v1-mini", "vad-baseline"):
        d = res["detectors"][name]
        assert d["available"], d
        ops = d["sets"]["synth-16k"]
        assert ops["frontier"] and "latency_at_5pct" in ops and "cutoff_at_300ms" in ops
        assert d["timing"]["n"] == 3
    # the silence-only baseline sees the same silences at 8 kHz: identical operating points
    vad = res["detectors"]["vad-baseline"]["sets"]
    assert vad["synth-16k"]["frontier"] == vad["synth-8k"]["frontier"]
    # a second run reuses the rendered audio
    assert any((tmp_path / "cache" / "turns").iterdir())


@pytest.mark.slow
def test_smollm2_zeroshot_scores_depend_on_text():
    pytest.importorskip("llama_cpp")
    from evals.turn_detection.detectors import SmolLM2ZeroShot, Unavailable

    det = SmolLM2ZeroShot()
    try:
        det.load()
    except Unavailable as e:
        pytest.skip(str(e))

    def p(text: str) -> float:
        return det.predict(
            View(0.0, np.zeros(1, np.float32), text, 1, ("What can I get you?",), 0.2)
        )

    assert p("i would like a large latte please") > 100 * p("i would like a")


def test_the_bench_scores_the_detector_as_the_worker_builds_it() -> None:
    """`ours-text-closing` is the semantic detector with the ordering domain's closing
    answers as complete turns, as `agents.brain.factories.make_turn_detection` builds it."""
    from evals.turn_detection.detectors import build_detectors, load_all

    dets = build_detectors(["ours-text", "ours-text-closing"], cache_dir="unused")
    assert load_all(dets) == {}
    plain, closing = dets["ours-text"], dets["ours-text-closing"]
    view = View(t=0.01, audio=np.zeros(160, np.float32), text="yes please place it",
                n_words=4, context=(), silence_s=0.2)  # fmt: skip
    assert closing.predict(view) == 1.0 > plain.predict(view)
    mid = View(t=0.01, audio=np.zeros(160, np.float32), text="can i get a", n_words=4,
               context=(), silence_s=0.2)  # fmt: skip
    assert closing.predict(mid) == plain.predict(mid) < 0.5
