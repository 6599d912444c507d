"""The guardrails as text: personal numbers (digits and spoken words), the phrase/regex
policy, the sentence gate, the logging filter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.side_channel import Guardrail, Guardrails, PhrasePolicy
from agents.side_channel.gate import MAX_SENTENCE, SentenceGate, gate_sentences
from agents.side_channel.guard import CallGuard
from agents.side_channel.guardrails import Finding, Screened, default_guardrails
from tools.sensitive import find_sensitive, luhn_ok, mask, mask_pieces, trailing_digits


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
        # international and national forms, a '+' straight after a word
        ("+44 7911 123456", "[phone ending 3456]"),
        ("call 07911 123456 now", "call [phone ending 3456] now"),
        ("number+447911123456", "number[phone ending 3456]"),
        # any dash, underscores, colons, no-break spaces as separators
        ("4111\u20131111\u20141111\u22121111", "[card ending 1111]"),
        ("4111_1111_1111_1111", "[card ending 1111]"),
        ("4111:1111:1111:1111", "[card ending 1111]"),
        ("4111\u00a01111\u00a01111\u00a01111", "[card ending 1111]"),
        # a card in pieces a few words apart, across sentences
        (
            "Your card is 4111 1111. And then 1111 1111. Thanks.",
            "Your card is [card ending 1111]. Thanks.",
        ),
        # expiry and security code next to a card, or after their own words
        (
            "card 4111 1111 1111 1111, expires 12/27, cvv 123.",
            "card [card ending 1111], expires [expiry], cvv [cvv].",
        ),
        ("The security code is one two three.", "The security code is [cvv]."),
        ("expiry oh five twenty seven", "expiry [expiry]"),
        ("(555) 867-5309", "[phone ending 5309]"),
        ("card 4111 1111 1111 1111 12/27 123", "card [card ending 1111]"),  # the card's last 4
        ("4111 1111 and 1111 1111", "[card ending 1111]"),
        # 16 digits that fail Luhn (one misheard?) are still masked
        ("4111 1111 1111 1112", "[number ending 1112]"),
    ],
)
def test_personal_numbers_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 for 2 lattes at 4.50",
        "Latte 4.50, mocha 4.75, cappuccino 4.25, espresso 3.00, tea 2.50.",
        "Open 7:00-11:00, 12:00-19:00 daily.",
        "Order 48213 and order 48214.",
        "Orders 100001 and 100002.",
        "card 4111 and 12 lattes",
        "one large latte and two mochas, then three more",
        "Your order number is 48213.",
        "someone ordered",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert find_sensitive(text) == []
    assert mask(text) == text


def test_masking_twice_changes_nothing() -> None:
    once = mask("card 4111 1111 1111 1111 exp 12/27 cvv 123, call +44 7911 123456")
    assert mask(once) == once


def test_a_number_split_over_two_pieces_is_masked_in_both() -> None:
    assert mask_pieces(["my card is 4111 1111 1111", "1111, thanks"]) == [
        "my card is [card ending 1111]",
        "[card ending 1111], thanks",
    ]
    assert mask_pieces(["one latte", "two mochas"]) == ["one latte", "two mochas"]


def test_trailing_digits_say_when_the_next_piece_may_complete_a_number() -> None:
    assert trailing_digits("my card is 4111 1111.") == 8
    assert trailing_digits("card 4111 1111 1111 1111.") == 0  # already a card
    assert trailing_digits("That is 4.50.") == 0 and trailing_digits("Two lattes.") == 0
    assert trailing_digits("4111 then some words") == 0


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


async def test_tts_gate_masks_a_card_read_over_two_sentences() -> None:
    """The worker's own TTS gate (`CallGuard.gate_tts`), fed as an LLM streams."""
    guard = CallGuard(default_guardrails())
    text = "Your card is 4111 1111. And then 1111 1111. Is that right?"
    chunks = [text[i : i + 3] for i in range(0, len(text), 3)]
    out = "".join([x async for x in guard.gate_tts(_stream(*chunks))])
    assert out == "Your card is ending in 1 1 1 1. Is that right?"


async def test_gate_lets_a_sentence_ending_in_a_price_go_at_once() -> None:
    stream = gate_sentences(_stream("A latte is 4.50. ", "A mocha"), default_guardrails())
    assert await stream.__anext__() == "A latte is 4.50. "


class _CountingGuardrails(Guardrails):
    def __init__(self) -> None:
        super().__init__(default_guardrails().guardrails)
        self.screened = 0

    def screen(self, sentence: str) -> Screened:
        self.screened += len(sentence)
        return super().screen(sentence)


def _price_reply(sentences: int) -> tuple[str, list[str]]:
    """A menu read out: sentences ending in prices and in order numbers, streamed in the
    3-5 character pieces an LLM sends."""
    parts = [
        f"Item {i} is {i % 9 + 1}.{i % 10}5. " if i % 3 else f"Ticket {10000 + i} is ready. "
        for i in range(sentences)
    ]
    text = "".join(parts)
    return text, [text[i : i + 4] for i in range(0, len(text), 4)]


async def _gate_work(sentences: int, words: bool = False) -> tuple[float, int]:
    text, chunks = _price_reply(sentences)
    guardrails = _CountingGuardrails()
    gate = SentenceGate(guardrails, words=words)
    out = [s for c in chunks for s in gate.feed(c)] + gate.flush()
    assert "".join(out) == text
    assert guardrails.screened == len(text), "every character is screened exactly once"
    return gate.work / len(text), len(text)


@pytest.mark.parametrize("words", [False, True])
async def test_gate_work_grows_linearly_with_the_reply(words: bool) -> None:
    """Operations counted, not time: characters the gate scans, checks and screens per
    character of the reply stay the same from 50 to 400 sentences (the old gate rescanned
    its whole held buffer on every chunk: 1.4 s at 60 sentences, 21 s at 150), whether it
    holds sentences or streams words."""
    small, _ = await _gate_work(50, words)
    large, _ = await _gate_work(400, words)
    assert small < 12 and large < 1.2 * small, (small, large)


async def test_gate_cuts_a_reply_without_sentence_ends_and_stays_bounded() -> None:
    """A reply with no punctuation is cut at a space every `MAX_SENTENCE` characters: the TTS
    gets it as it comes, and the gate never holds more than that."""
    text = "and then some more words " * 200  # 5000 characters, not one sentence end
    gate = SentenceGate(default_guardrails())
    out: list[str] = []
    first_at = -1
    for i in range(0, len(text), 4):
        got = gate.feed(text[i : i + 4])
        if got and first_at < 0:
            first_at = i
        out += got
        assert len(gate._buf) <= MAX_SENTENCE + 4
    out += gate.flush()
    assert "".join(out) == text
    assert 0 < first_at <= MAX_SENTENCE + 4, first_at


async def test_the_call_gate_streams_the_words_of_a_sentence_without_a_number() -> None:
    """`CallGuard.gate_tts` (as every call has it): "Well, " goes to the TTS while the model is
    still writing the sentence, so a TTS that speaks from the first phrase starts at once,
    and a sentence tokenizer downstream sees the next sentence's first words as they come."""
    guard = CallGuard(default_guardrails())
    stream = guard.gate_tts(_stream("Well, ", "it dep", "ends on the day. We ", "open at"))
    assert await stream.__anext__() == "Well, "
    assert await stream.__anext__() == "it dep"  # no number word starts "dep"
    rest = [x async for x in stream]
    assert "".join(rest) == "ends on the day. We open at"
    assert rest[-2:] == ["We ", "open at"], rest


@pytest.mark.parametrize(
    "text,spoken",
    [
        ("Your card is 4111, 1111, 1111, 1111. Thanks!", "Your card is ending in 1 1 1 1. Thanks!"),
        ("Sure, four one one one, one one one one, one one one one, one one one one. Bye!",
         "Sure, ending in 1 1 1 1. Bye!"),
        ("Your card expires, 12/27, right?", "Your card expires, withheld, right?"),
        ("Got it, the card 4111 1111 1111 1111, security code, 123. Bye!",
         "Got it, the card ending in 1 1 1 1, security code, withheld. Bye!"),
        ("The security code for 4111 1111 1111 1111 is 123. Bye!",
         "The security code for ending in 1 1 1 1 is withheld. Bye!"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("size", [1, 3, 7])
async def test_the_streaming_call_gate_masks_what_the_sentence_gate_masks(
    text: str, spoken: str, size: int
) -> None:
    """From the first digit, number word or card word on, a sentence waits for its end: a
    card read with commas, or a security code after "security code,", is masked whole, in
    whatever pieces the model writes it."""
    guard = CallGuard(default_guardrails())
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    out = [x async for x in guard.gate_tts(_stream(*chunks))]
    assert "".join(out) == spoken
    assert not any("4111" in piece or "four one" in piece for piece in out)


async def test_with_a_phrase_policy_the_gate_cuts_at_sentence_ends_only() -> None:
    """A policy's regexes are written for sentences ("free, unlimited coffee" must not pass
    as two harmless pieces): with one configured, nothing leaves the gate before its
    sentence ends."""
    guard = CallGuard(default_guardrails(block_regex="free, unlimited coffee"))
    out = [x async for x in guard.gate_tts(_stream("You get free, ", "unlimited coffee. ", "Hi"))]
    assert out == ["Hi"]
