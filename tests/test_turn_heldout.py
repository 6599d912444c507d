"""The turn detector's held-out material stays out of its training text.

Training text we generate (`domain_templates.py`'s templated exchanges, `slot_dialogs.py`'s
synthetic slot exchanges, built exactly as `python -m evals.turn_detection train` builds them,
and a larger draw of the templates to cover more of their grammar) must not contain:

- any answer of four words or more of the hand-written multi-domain *test* set; shorter ones
  ("Yes.", "Two.", "Four of us.", "Around one fifteen.") are the generic shapes of every phone
  call that any yes/no, count or time template produces: the ones found are listed below, so a
  new overlap of any length fails until it is looked at;
- any phrase `tests/test_turn_ngram.py` calls fresh ("in no set and no template"), which must
  not be in the dev or test set either.

Taskmaster-4 (coffee orders, not ours) is not checked: the test set has no coffee.
"""

from __future__ import annotations

import functools
import re

from evals.turn_detection.domain_templates import template_examples
from evals.turn_detection.examples import synth_examples
from evals.turn_detection.multidomain import DEV_PATH, TEST_PATH, parse_lines
from evals.turn_detection.slot_dialogs import synth_dialogs
from tests.test_turn_ngram import PAIRS

TRAIN_DIALOGS = 3710
"""Taskmaster-4 dialogs the shipped model was trained on: templates 3x, slot dialogs 0.7x."""
MIN_WORDS = 4


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


@functools.cache
def _training_text() -> str:
    """Every generated answer (complete turns: a cut is a prefix of one), one per line."""
    seed = 0
    examples = (
        template_examples(3 * TRAIN_DIALOGS, seed)
        + template_examples(40_000, seed=1)
        + synth_examples(synth_dialogs(round(0.7 * TRAIN_DIALOGS), seed), seed)
    )
    return "\n".join(sorted({_norm(e.text) for e in examples if e.label == 1}))


def _occurs(phrase: str, text: str) -> bool:
    return re.search(rf"(?:^|\s){re.escape(phrase)}(?:\s|$)", text, re.MULTILINE) is not None


def test_no_test_set_answer_is_in_the_training_text() -> None:
    text = _training_text()
    answers = {_norm(a.full) for a in parse_lines(TEST_PATH.read_text().splitlines(), "test")}
    found = sorted(a for a in answers if _occurs(a, text))
    long = [a for a in found if len(a.split()) >= MIN_WORDS]
    assert not long, f"test-set answers in the training text: {long}"
    # the short ones are generic (and few)
    assert set(found) <= {
        "yes", "no", "two", "seven", "noon", "online", "not really", "yes please", "august first",
        "four of us", "around one fifteen",
    }, found  # fmt: skip


def test_fresh_phrases_are_in_no_template_and_no_set() -> None:
    text = _training_text()
    sets = "\n".join(
        _norm(line.full) + "\n" + _norm(line.question)
        for path in (DEV_PATH, TEST_PATH)
        for line in parse_lines(path.read_text().splitlines(), path.name)
    )
    for _, full, _ in PAIRS:
        phrase = _norm(full)
        assert not _occurs(phrase, text), f"{full!r} is in the training text"
        assert not _occurs(phrase, sets), f"{full!r} is in a multi-domain set"


def test_the_check_finds_what_it_looks_for() -> None:
    """The checks above would fail on the two overlaps they found (now removed)."""
    text = "so my card got declined and i need help\nit was j smith at gmail dot com"
    assert _occurs("my card got declined", text)
    assert _occurs("j smith at gmail dot com", text)
    assert not _occurs("card got declined and i need help today", text)
