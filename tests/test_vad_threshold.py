"""The VAD threshold bench (`python -m evals.vad_threshold`) measures the worker's own VAD:
its clips, its start and end events, and its arguments."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agents.brain.assembly import silero_vad
from agents.brain.profiles import SILERO_ACTIVATION, SILERO_SILENCE
from evals import vad_threshold as bench
from evals.orders.voices import line_noise, parse_voice, synthesize


def test_the_worker_vad_starts_on_a_caller_line_and_not_on_line_noise() -> None:
    pcm, native = synthesize("Yes, please place it.", parse_voice("flite:kal"))
    rng = np.random.default_rng(0)
    for rate in ("16k", "8k-mulaw"):
        clip = bench._on_line(pcm, native, rate, -20.0, rng)
        events = asyncio.run(bench.events(clip.pcm, clip.sample_rate, SILERO_ACTIVATION))
        starts = [i for kind, i in events if kind == "start"]
        ends = [i for kind, i in events if kind == "end"]
        # the line starts speech inside it (its comma may end a segment and start another
        # with the offline brain's 0.3 s silence), and the last segment ends after it
        assert starts and all(clip.onset <= i < clip.offset for i in starts), (rate, events)
        assert len(ends) == len(starts) and ends[-1] > clip.offset, (rate, events)
    noise = np.clip(line_noise(5 * bench.RATE, -45.0, rng), -32768, 32767).astype(np.int16)
    assert asyncio.run(bench.events(noise, bench.RATE, SILERO_ACTIVATION)) == []


def test_each_threshold_is_its_own_vad_and_the_default_is_livekit_s() -> None:
    default = silero_vad(SILERO_SILENCE)
    lower = silero_vad(SILERO_SILENCE, 0.35)
    assert lower is not default and default is silero_vad(SILERO_SILENCE, SILERO_ACTIVATION)
    assert default._opts.activation_threshold == SILERO_ACTIVATION == 0.5  # type: ignore[attr-defined]
    assert lower._opts.activation_threshold == 0.35  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["0.5,abc", "1.5", "0", ""])
def test_the_bench_refuses_thresholds_outside_zero_to_one(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        bench.main(["--thresholds", bad])
    assert e.value.code == 2 and "thresholds" in capsys.readouterr().err
