"""Whisper's prompt for the offline ears (`agents.brain.factories.local_stt_prompt`) and the
bench that chose it (`python -m evals.prompt_bench`)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.brain.factories import local_stt_prompt
from agents.brain.guided.understanding import load_menu, reads_like_the_menu_list
from agents.brain.model_files import LOCAL_STT_DIR, installed_model
from agents.config import Settings


def test_the_prompt_names_every_drink_as_a_caller_orders_it_not_as_a_bare_list() -> None:
    """A bare comma list of names is what Whisper wrote back for words it could not make out
    ("Cappuccino, Latte, Whitman and Latte, please."); the prompt says each drink with a
    number or an article, in one question, and still names every drink on the menu."""
    prompt = local_stt_prompt()
    assert not reads_like_the_menu_list(prompt, load_menu())
    for item in load_menu().items.values():
        assert item["name"] in prompt
    assert "Can I get one Americano, two Cappuccinos, three Chai Lattes, a Cloud" in prompt
    assert prompt.endswith("with oat milk or almond milk, decaf or iced?")


def test_the_old_menu_list_prompt_reads_like_the_menu_list() -> None:
    from evals.prompt_bench import menu_list_prompt

    assert reads_like_the_menu_list(menu_list_prompt(), load_menu())


@pytest.mark.slow
def test_the_prompt_bench_hears_phone_lines_with_each_prompt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m evals.prompt_bench --phone`: goal lines through the SIP hop, heard by the
    phone leg's Whisper base with the shipped prompt, the old menu list and none."""
    import evals.prompt_bench as bench

    if installed_model(Settings().models_dir, LOCAL_STT_DIR) is None:
        pytest.fail("Whisper base is not installed: run scripts/bootstrap.sh")
    real = bench.goal_lines

    def two_lines(sets: Any, phone: bool = False) -> list[Any]:
        return real(["tuned"], phone)[:2]

    monkeypatch.setattr(bench, "goal_lines", two_lines)
    assert bench.main(["--phone", "--only", "tuned"]) == 0
    out = capsys.readouterr().out
    assert "phone (8 kHz mu-law) leg, Whisper whisper-base-ct2" in out
    assert "| goal set | lines | shipped | menu list | none |" in out
    assert "| all | 2 |" in out
