"""The spoken multi-domain sets of the end-of-turn bench: pauses at the written cut points, real
ASR text replacing the reference words, and the bench CLI's new options on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.turn_detection.bench_scoring import iter_views
from evals.turn_detection.md_speech import PAUSE_RANGE_S, md_chunks, md_lines
from evals.turn_detection.multidomain import load_set
from evals.turn_detection.render import compose_turn
from evals.turn_detection.turns import EOT, HOLD, SR, label_silences


def test_md_lines_pause_at_every_cut() -> None:
    lines = md_lines("dev")
    assert lines and all(len(a.pieces) > 1 for a in lines)
    for a in lines[:40]:
        chunks = md_chunks(a, seed=0)
        assert " ".join(c.text for c in chunks) == a.full
        assert chunks[-1].pause_after_s == 0.0
        assert all(PAUSE_RANGE_S[0] <= c.pause_after_s <= PAUSE_RANGE_S[1] for c in chunks[:-1])
    assert md_chunks(lines[0], 0) == md_chunks(lines[0], 0) != md_chunks(lines[0], 1)


def test_md_turn_has_a_hold_per_cut_and_one_eot() -> None:
    line = next(a for a in md_lines("test") if len(a.pieces) == 3)
    chunks = md_chunks(line, seed=0)
    tone = [0.3 * np.sin(np.arange(int(0.5 * SR)) / 5).astype(np.float32) for _ in chunks]
    audio, words, silences = compose_turn(tone, chunks, tail_s=1.0)
    spans = label_silences(silences, speech_start=0.2)
    assert [s.label for s in spans] == [HOLD, HOLD, EOT]
    # the pauses are the planned ones (to the 10 ms frame of the silence finder)
    for span, chunk in zip(spans[:2], chunks[:2], strict=True):
        assert span.duration == pytest.approx(chunk.pause_after_s, abs=0.02)
    assert len(words) == len(line.full.split())


def test_text_fn_replaces_the_transcript_for_every_view_of_a_span() -> None:
    from evals.turn_detection.turns import Span, Turn, Word

    audio = np.zeros(3 * SR, np.float32)
    turn = Turn("t", "md", audio, [Word("hello", 0.5), Word("there", 1.4)],
                [Span(0, 0.6, 1.0, HOLD), Span(1, 1.5, 3.0, EOT)], ("Hi?",))  # fmt: skip
    seen: list[float] = []

    def text_fn(t: Turn, span: Span, a: np.ndarray) -> str:
        seen.append(span.start)
        assert a is audio
        return f"Heard up to {span.start}."

    grid = {"step": 0.1, "coarse_after": 1.0, "coarse_step": 0.25}
    out = list(iter_views(turn, audio=audio, lag_s=0.2, max_t=1.0, grid=grid, text_fn=text_fn))
    assert seen == [0.6, 1.5]
    for span, _, views in out:
        assert views and {v.text for v in views} == {f"Heard up to {span.start}."}


def test_test_set_is_scored_only() -> None:
    """The test file says so, and no training/tuning code path reads it."""
    from pathlib import Path

    import evals.turn_detection as td

    src = Path(td.__file__).parent
    readers = [p.name for p in src.glob("*.py") if 'load_set("test"' in p.read_text()]
    assert readers == []
    assert len(load_set("test")) >= 150


@pytest.mark.parametrize(
    "argv",
    [
        ["--sets", "md-nope"],
        ["--md-limit", "0"],
        ["--transcript", "vosk"],
        ["--asr-model", "large"],
    ],
)
def test_bench_cli_rejects_bad_md_arguments(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from evals.turn_detection.bench import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "error" in capsys.readouterr().err


def test_asr_model_paths() -> None:
    from evals.turn_detection.asr import whisper_model_path

    assert whisper_model_path("tiny") is None  # the plugin's bundled tiny.en
    with pytest.raises(ValueError, match="unknown Whisper model"):
        whisper_model_path("medium")
    try:
        base = whisper_model_path("base")
    except OSError as e:  # a clone where scripts/install_models.py has not run
        assert "install_models.py" in str(e)
    else:
        from pathlib import Path

        assert base is not None and (Path(base) / "model.bin").is_file()


def test_whisper_transcripts_are_cached_per_pause_and_dumped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from evals.turn_detection.asr import WhisperTranscriber
    from evals.turn_detection.turns import Span, Turn, Word

    asr = WhisperTranscriber()
    heard: list[int] = []

    def transcribe(audio: np.ndarray) -> str:  # stands in for Whisper: what it was given
        heard.append(len(audio))
        return f"{len(audio)} samples."

    monkeypatch.setattr(asr, "transcribe", transcribe)
    audio = np.zeros(3 * SR, np.float32)
    turn = Turn("t1", "md", audio, [Word("hello", 0.5)], [Span(0, 0.6, 1.0, HOLD)], ("Hi?",))
    for leg in ("16k", "8k"):
        fn = asr.text_fn(leg)
        assert fn(turn, turn.spans[0], audio) == f"{int(0.6 * SR)} samples."
        fn(turn, turn.spans[0], audio)  # cached: Whisper runs once per leg and pause
    assert heard == [int(0.6 * SR)] * 2
    out = tmp_path / "transcripts.jsonl"
    assert asr.dump(str(out)) == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["turn"], r["leg"], r["pause_start_s"]) for r in rows] == [
        ("t1", "16k", 0.6), ("t1", "8k", 0.6)
    ]  # fmt: skip
