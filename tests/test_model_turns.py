"""`python -m evals.latency --model-turns`: its callers' lines really go to the fallback model,
its recordings leave room for each answer, and its table reports what it measured."""

from __future__ import annotations

import numpy as np
import pytest

from agents.brain.guided.policy import Defer, OrderPolicy
from agents.brain.guided.understanding import understand
from evals.model_turns import (
    COMPARISONS,
    LEAD_S,
    PAUSE_S,
    RATE,
    SMALL_TALK,
    ModelTurn,
    Run,
    call_recording,
    render,
)
from evals.orders.voices import parse_voice

TOOLS = {
    "get_menu_items", "show_menu", "get_addons", "add_order_item", "update_order_item",
    "update_order", "get_order_details", "finish_order", "end_call", "transfer_to_human",
    "get_dtmf_digits",
}  # fmt: skip


@pytest.mark.parametrize("line", SMALL_TALK)
def test_every_small_talk_line_goes_to_the_model(line: str) -> None:
    """The ordering policy does not parse any of them: each is a model-answered turn."""
    assert isinstance(OrderPolicy().on_caller(understand(line), TOOLS), Defer)


def test_a_call_is_its_lines_each_followed_by_a_pause() -> None:
    lines = list(SMALL_TALK[:2])
    rec, ends = call_recording(lines, parse_voice("espeak:en-us+m3"), seed=1)
    assert rec.sample_rate == RATE and rec.pcm.dtype == np.int16
    assert len(ends) == 2 and LEAD_S < ends[0] < ends[1] - PAUSE_S
    assert rec.duration == pytest.approx(ends[1] + PAUSE_S, abs=0.01)
    lead = rec.pcm[: int(LEAD_S * RATE)]
    assert not lead.any(), "silence while the greeting plays"
    assert np.abs(rec.pcm[int(LEAD_S * RATE) : int(ends[0] * RATE)]).max() > 1000


VARIANTS = COMPARISONS["prefill"]


def test_the_table_reports_each_stage_with_its_spread_and_the_load() -> None:
    turns = [
        ModelTurn(v, i, "hi", 1.0 + 0.1 * i, 0.6, 0.3, 0.1 + 0.1 * i, 0.9, acked=i < 2)
        for v in VARIANTS
        for i in range(5)
    ]
    cache = {"requests": 4, "prompt_tokens": 1200, "reused_tokens": 1100, "prefills": 5}
    run = Run(
        VARIANTS,
        turns,
        dict.fromkeys(VARIANTS, 6),
        dict.fromkeys(VARIANTS, 1),
        {VARIANTS[0]: cache, VARIANTS[1]: {}},
        [(0.5, 0, 0)],
        [],
    )
    out = render(run, "title")
    assert "| prefill | latency | 5 | 1200 [1100-1300] | 1380 |" in out
    assert "| no prefill | model_ttft | 5 | 300 [300-300] | 300 |" in out
    assert "| prefill | words | 5 | 900 [900-900] | 900 |" in out
    assert "prefill: 5 model turns of 6 answered (1 by the policy)" in out
    assert (
        "4 model requests: prompt 300 tokens each, 275 found evaluated (92 %), 25 evaluated; "
        "5 prefills (0 stopped by a request); acknowledged 2/5; first audio <= 1.5 s on 5/5"
    ) in out
    assert "no prefill: 5 model turns of 6 answered (1 by the policy); no prompt-cache" in out
    assert "load average (1 min) before the first call and after each: 0.50" in out
