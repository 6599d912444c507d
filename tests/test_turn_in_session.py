"""Our semantic turn detector inside a live AgentSession (the cascade brain, offline).

The same caller audio is transcribed (by the loopback Deepgram) either as an unfinished
sentence or a finished one. With the agent having just asked "What can I get started for
you?", the detector must score the unfinished one below its threshold (so the session holds the
turn open for `max_delay`) and the finished one above it (so it commits after `min_delay`).
Asserts are causal (what the detector returned, and delays never shorter than the policy
allows), not wall-clock windows that a busy box could break.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from agents.brain import PROFILES, choose_brain
from evals.replay import replay_call
from evals.replay.recording import Recording, load_recording
from tests.loopback import CartesiaServer, DeepgramServer, OpenAIChatServer
from tests.loopback.suite import cascade_settings

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTING = PROFILES["cascade"].endpointing


@pytest.fixture(scope="module")
def caller_turn() -> Recording:
    rec = load_recording(ROOT / "samples" / "coffee_call.wav")
    return dataclasses.replace(rec, pcm=rec.pcm[: int(12.0 * rec.sample_rate)])


async def _eou_delay(
    transcript: str, rec: Recording, tmp: Path, *, detector: str = "semantic"
) -> dict[str, Any]:
    async with (
        DeepgramServer([transcript]) as dg,
        OpenAIChatServer(lambda request: "Sure.") as oa,
        CartesiaServer(seconds_per_char=0.03) as ca,
    ):
        settings = cascade_settings(
            dg, oa, ca, orders_db=str(tmp / "orders.sqlite"), turn_detector=detector
        )
        choice = choose_brain(settings)
        assert choice.profile.turn_detector == detector
        call, _ = await replay_call(settings, choice, rec, ogg_path=tmp / "c.ogg")
    expected = {"semantic": "SemanticTurnDetector", "fusion": "FusedTurnDetector"}[detector]
    assert type(call.brain.turn_detection).__name__ == expected
    if detector == "fusion":
        # the agent's stt_node fed the caller's audio to the detector's tap ...
        assert len(call.brain.audio_tap.samples()) > 16000
        # ... and the audio half really scored (FusedTurnDetector falls back to text only,
        # silently but for a log line, when LiveKit's audio model cannot load)
        fused = call.brain.turn_detection
        assert fused.audio_model() is not None
        scores = fused.last_scores
        assert scores is not None and scores.p_audio is not None, scores
        assert scores.p == pytest.approx(
            fused.fusion.combine(scores.p_text, scores.p_audio, scores.silence_s)
        )
    else:
        assert call.brain.turn_detection.last_prediction is not None, "detector never asked"
    users = [i for i in call.session.history.items if i.type == "message" and i.role == "user"]
    assert len(users) == 1 and users[0].text_content == transcript
    out = dict(users[0].metrics or {})
    out["p_eot"] = (
        call.brain.turn_detection.last_prediction
        if detector == "semantic"
        else call.brain.turn_detection.last_scores.p
    )
    out["threshold"] = call.brain.turn_detection.threshold
    return out


@pytest.mark.slow
async def test_unfinished_sentence_waits_for_max_delay(
    caller_turn: Recording, tmp_path: Path
) -> None:
    metrics = await _eou_delay("I'd like a large", caller_turn, tmp_path)
    assert metrics["p_eot"] < metrics["threshold"], metrics  # the detector said "not done"
    # so the session waited max_delay: a lower bound, which load can only make later
    assert metrics["end_of_turn_delay"] >= ENDPOINTING.max_delay - 0.3, metrics


@pytest.mark.slow
async def test_finished_sentence_commits_at_min_delay(
    caller_turn: Recording, tmp_path: Path
) -> None:
    metrics = await _eou_delay("I'd like a large mocha, please.", caller_turn, tmp_path)
    assert metrics["p_eot"] > metrics["threshold"], metrics  # the detector said "done"
    # so the session used min_delay, never less; and it did not wait for max_delay
    assert ENDPOINTING.min_delay - 0.1 <= metrics["end_of_turn_delay"] < ENDPOINTING.max_delay


@pytest.mark.slow
async def test_fusion_detector_gets_the_callers_audio_in_session(
    caller_turn: Recording, tmp_path: Path
) -> None:
    metrics = await _eou_delay(
        "I'd like a large mocha, please.", caller_turn, tmp_path, detector="fusion"
    )
    assert metrics["p_eot"] > metrics["threshold"], metrics
    assert ENDPOINTING.min_delay - 0.1 <= metrics["end_of_turn_delay"] < ENDPOINTING.max_delay
