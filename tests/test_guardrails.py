"""The guardrails as text: personal numbers (digits and spoken words), the phrase/regex
policy, the sentence gate, the logging filter."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.side_channel import Guardrail, Guardrails, PhrasePolicy, RedactingFilter
from agents.side_channel.gate import gate_sentences
from agents.side_channel.guardrails import Finding, Screened, default_guardrails
from agents.side_channel.sensitive import find_sensitive, luhn_ok, mask


@pytest.mark.parametrize(
    "text,masked",
    [
        ("card 4111 1111 1111 1111 ok", "card [card ending 1111] ok"),
        ("card 4111-1111-1111-1111.", "card [card ending 1111]."),
        ("5500005555555559", "[card ending 5559]"),
        ("amex 3782 822463 10005", "amex [card ending 0005]"),
        ("four one one one one one one one one one one one one one one one", "[card ending 1111]"),
        ("forty one eleven eleven eleven eleven eleven eleven eleven", "[card ending 1111]"),
        ("it's 123-45-6789", "it's [ssn ending 6789]"),
        ("one two three four five six seven eight nine", "[ssn ending 6789]"),
        ("call 555-867-5309 now", "call [phone ending 5309] now"),
        ("five five five, eight six seven, five three oh nine.", "[phone ending 5309]."),
        ("+44 20 7946 0958", "[phone ending 0958]"),
    ],
)
def test_personal_numbers_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # not Luhn-valid
        "order 12345 for 2 lattes at 4.50",
        "one large latte and two mochas, then three more",
        "Your order number is 48213.",
        "someone ordered",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert find_sensitive(text) == []
    assert mask(text) == text


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_spoken_replacement_keeps_last_four() -> None:
    screened = default_guardrails().screen("Your card 4111 1111 1111 1111 is on file. ")
    assert screened.text == "Your card ending in 1 1 1 1 is on file. "
    (f,) = screened.findings
    assert (f.kind, f.action, f.detail) == ("card", "mask", "[card ending 1111]")


def test_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.txt"
    policy.write_text(
        "# the shop's rules\n"
        "block: free (coffee|drinks?)\n"
        "replace: \\bguarantee\\b => I can't promise that.\n"
        "mask: \\bdamn\\b\n"
        "flag: competitor\n"
    )
    g = default_guardrails(policy_file=str(policy))
    assert g.screen("You get free coffee today. ").text == ""
    assert g.screen("I guarantee it. ").text == "I can't promise that. "
    assert g.screen("That damn machine is slow.").text == "That machine is slow."
    flagged = g.screen("The competitor is closed.")
    assert flagged.text == "The competitor is closed." and not flagged.changed
    assert [f.action for f in flagged.findings] == ["flag"]


@pytest.mark.parametrize(
    "line,message",
    [
        ("nonsense", "policy.txt:1: expected 'block|replace|mask|flag: REGEX'"),
        ("block: (", "policy.txt:1: bad regex '('"),
        ("replace: x", "policy.txt:1: 'replace:' needs 'REGEX => TEXT'"),
    ],
)
def test_bad_policy_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "policy.txt").write_text(line + "\n")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("|", r"\|")):
        PhrasePolicy.from_file(tmp_path / "policy.txt")


def test_missing_policy_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="guardrail policy .*nope.txt"):
        default_guardrails(policy_file=str(tmp_path / "nope.txt"))


async def _stream(*chunks: str) -> AsyncIterator[str]:
    for c in chunks:
        yield c


async def _gate(g: Guardrails, *chunks: str) -> tuple[list[str], list[Screened]]:
    seen: list[Screened] = []
    out = [x async for x in gate_sentences(_stream(*chunks), g, lambda _o, s: seen.append(s))]
    return out, seen


async def test_gate_screens_sentence_by_sentence() -> None:
    g = default_guardrails(block_regex="free coffee")
    out, seen = await _gate(
        g, "Hello there. Your card 4111 ", "1111 1111 11", "11 is on file. You get free ",
        "coffee. Bye!",
    )  # fmt: skip
    assert out == ["Hello there. ", "Your card ending in 1 1 1 1 is on file. ", "Bye!"]
    assert [f.kind for s in seen for f in s.findings] == ["card", "policy GUARDRAIL_BLOCK:1"]


async def test_gate_holds_a_sentence_that_ends_in_a_number() -> None:
    out, _ = await _gate(default_guardrails(), "4111. 1111. ", "1111. 1111. Thanks!")
    assert "".join(out) == "ending in 1 1 1 1. Thanks!"


async def test_gate_yields_each_clean_sentence_as_soon_as_it_ends() -> None:
    g = default_guardrails()
    stream = gate_sentences(_stream("One latte. ", "Two more"), g)
    assert await stream.__anext__() == "One latte. "
    assert await stream.__anext__() == "Two more"


class _Judge(Guardrail):
    name = "judge"

    async def check_slow(self, text: str) -> list[Finding]:
        return [Finding(self.name, "off_topic", "flag", 0, len(text))] if "weather" in text else []


async def test_slow_check_is_separate_from_the_fast_screen() -> None:
    g = Guardrails([_Judge()])
    assert g.has_slow_checks and not default_guardrails().has_slow_checks
    assert g.screen("The weather is nice.").findings == ()  # never on the audio path
    assert [f.kind for f in await g.slow_findings("The weather is nice.")] == ["off_topic"]


def test_log_filter_masks_message_args_and_extras() -> None:
    record = logging.LogRecord(
        "tools.runtime", logging.DEBUG, __file__, 1, "paid with %s", ("4111111111111111",), None
    )
    record.__dict__["arguments"] = {"phone": "555 867 5309", "items": ["ssn 123-45-6789"]}
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "paid with [card ending 1111]"
    assert record.__dict__["arguments"] == {
        "phone": "[phone ending 5309]",
        "items": ["ssn [ssn ending 6789]"],
    }
