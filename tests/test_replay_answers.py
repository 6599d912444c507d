"""`evals.replay.answers`: each caller turn is paired with its own answer (agent speech after
it and before the next caller turn), and an apology or a failover filler is not an answer."""

from __future__ import annotations

from typing import Any

from agents.resilience.lines import APOLOGY, FAILOVER_PENDING, GOODBYE
from evals.replay.answers import caller_turns, turn_answers


def _row(role: str, start: float | None, end: float | None, text: str) -> dict[str, Any]:
    return {"role": role, "start": start, "end": end, "text": text}


def test_a_later_reply_does_not_answer_an_earlier_turn() -> None:
    rows = [
        _row("user", 1.0, 2.0, "a mocha please"),
        _row("user", 8.0, 9.0, "and a latte"),
        _row("assistant", 9.6, 11.0, "Sure, a mocha and a latte."),
    ]
    turns = turn_answers(rows, caller_turns(rows))
    assert [t.status for t in turns] == ["unanswered", "answered"]
    assert turns[1].answer is rows[2] and turns[1].latency == 0.6


def test_an_apology_is_not_an_answer() -> None:
    rows = [
        _row("user", 1.0, 2.0, "a mocha please"),
        _row("assistant", 2.8, 5.0, APOLOGY),
        _row("user", 8.0, 9.0, "a mocha please"),
        _row("assistant", 9.5, 11.0, "Sure, one mocha."),
        _row("assistant", 12.0, 14.0, GOODBYE),
    ]
    turns = turn_answers(rows, caller_turns(rows))
    assert [t.status for t in turns] == ["apologised", "answered"]
    assert turns[0].latency == 0.8  # the apology is still what the caller heard first


def test_a_filler_then_the_answer_and_speech_before_the_turn() -> None:
    rows = [
        _row("assistant", 0.0, 0.9, "Hi, what can I get you?"),  # the greeting: no turn's
        _row("user", 1.0, 4.0, "a large mocha please"),
        _row("assistant", 4.3, 5.0, FAILOVER_PENDING),
        _row("assistant", 5.2, 7.0, ""),  # cut off before a word: no answer either
        _row("assistant", 7.2, 9.0, "A large mocha, coming up."),
        _row("assistant", None, None, "never played"),
    ]
    (turn,) = turn_answers(rows, caller_turns(rows))
    assert turn.status == "answered" and turn.answer is rows[4]
    assert turn.heard == 4.3  # the filler was heard first
    # agent speech that began well before the caller finished answers nothing
    early = [_row("user", 1.0, 4.0, "a large mocha"), _row("assistant", 3.0, 5.0, "Sure.")]
    assert [t.status for t in turn_answers(early, caller_turns(early))] == ["unanswered"]
