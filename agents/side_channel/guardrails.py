"""Guardrails: checks on what the agent says, placed where they can honestly act.

A `Guardrail` has a fast synchronous `check(text)` (microseconds: regexes, Luhn) and an
optional slow asynchronous `check_slow(text)` (an LLM judge, a remote classifier) that only
ever runs off the audio path, on a finished transcript item.

- In a cascade the agent's words exist as text before they are spoken: `Guardrails.screen`
  runs every `check` on each sentence on its way to the TTS (`agents.coffee_agent` calls
  `gate_sentences`), and a blocking finding replaces or drops that sentence before any audio
  of it is made; the transcript and the record hold the screened sentence only.
- A speech-to-speech model (native, hybrid) speaks before its transcript arrives: the same
  checks run on the transcript after the fact (`after_the_fact.TranscriptMonitor`), the finding
  is recorded and a corrective action is taken. That cannot unsay audio already played.

Owns: `Finding`, `Guardrail`, `Guardrails`, the shipped guardrails (`PersonalNumbers`,
`PhrasePolicy`). Imports: the standard library and `sensitive`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tools.sensitive import find_sensitive

Action = Literal["mask", "block", "flag"]
"""mask: the span is replaced (`replacement`); block: the whole sentence is replaced by the
guardrail's sentence replacement (or dropped); flag: recorded only."""


@dataclass(frozen=True)
class Finding:
    guardrail: str
    kind: str
    action: Action
    start: int
    end: int
    replacement: str = ""
    """For `mask`: what replaces the span. For `block`: what replaces the sentence
    ("" = the sentence is dropped)."""
    detail: str = ""
    """Safe to record: never the matched text itself."""

    def as_event(self) -> dict[str, str]:
        return {
            "guardrail": self.guardrail,
            "finding": self.kind,
            "action": self.action,
            "detail": self.detail,
        }


class Guardrail:
    """Subclass and override `check` (fast, sync) and/or `check_slow` (async, off-path)."""

    name = "guardrail"
    phrase_safe = False
    """Its `check` finds the same on a reply cut at commas (with no number in a piece) as
    on whole sentences; a check with no fast part is (see `screens_phrases`)."""

    def check(self, text: str) -> list[Finding]:
        return []

    async def check_slow(self, text: str) -> list[Finding]:
        return []

    @property
    def has_slow_check(self) -> bool:
        return type(self).check_slow is not Guardrail.check_slow

    @property
    def screens_phrases(self) -> bool:
        """The TTS gate may hand on a phrase that ends at a comma (`gate.SentenceGate`)."""
        return self.phrase_safe or type(self).check is Guardrail.check


class PersonalNumbers(Guardrail):
    """Payment cards (Luhn-valid 13-19 digits) with the expiry and security code beside them,
    SSN-like and phone numbers, as digits or as spoken number words (`tools.sensitive`): the
    agent says only the last four digits ("withheld" for an expiry or a code)."""

    name = "personal_numbers"
    phrase_safe = True
    """A number is found only where its digits or number words are; the gate never cuts a
    phrase that holds any."""

    def check(self, text: str) -> list[Finding]:
        return [
            Finding(
                self.name,
                s.kind,
                "mask",
                s.start,
                s.end,
                replacement=s.spoken(),
                detail=s.masked(),
            )
            for s in find_sensitive(text)
        ]


@dataclass(frozen=True)
class PolicyRule:
    action: Action
    pattern: re.Pattern[str]
    replacement: str = ""
    name: str = ""


@dataclass
class PhrasePolicy(Guardrail):
    """Configurable phrase/regex rules (case-insensitive). A policy file has one rule a line:

    block: REGEX              the sentence is dropped
    replace: REGEX => TEXT    the sentence is replaced by TEXT
    mask: REGEX               the matched words are dropped from the sentence
    flag: REGEX               recorded only
    # comment
    """

    rules: list[PolicyRule] = field(default_factory=list)
    name = "phrase_policy"

    @classmethod
    def from_lines(cls, lines: Iterable[str], *, source: str = "policy") -> PhrasePolicy:
        rules: list[PolicyRule] = []
        for n, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            action, sep, rest = line.partition(":")
            action = action.strip().lower()
            if not sep or action not in ("block", "replace", "mask", "flag"):
                raise ValueError(
                    f"{source}:{n}: expected 'block|replace|mask|flag: REGEX', got {line!r}"
                )
            replacement = ""
            regex = rest.strip()
            if action == "replace":
                regex, arrow, replacement = (p.strip() for p in rest.partition("=>"))
                if not arrow:
                    raise ValueError(f"{source}:{n}: 'replace:' needs 'REGEX => TEXT'")
            try:
                pattern = re.compile(regex, re.IGNORECASE)
            except re.error as e:
                raise ValueError(f"{source}:{n}: bad regex {regex!r}: {e}") from None
            rules.append(
                PolicyRule(
                    "block" if action == "replace" else action,  # type: ignore[arg-type]
                    pattern,
                    replacement,
                    name=f"{source}:{n}",
                )
            )
        return cls(rules)

    @classmethod
    def from_file(cls, path: str | Path) -> PhrasePolicy:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise ValueError(f"guardrail policy {p}: {e.strerror or e}") from None
        return cls.from_lines(text.splitlines(), source=p.name)

    def check(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        for rule in self.rules:
            for m in rule.pattern.finditer(text):
                if m.end() == m.start():
                    continue
                out.append(
                    Finding(
                        self.name,
                        f"policy {rule.name}",
                        rule.action,
                        m.start(),
                        m.end(),
                        replacement=rule.replacement,
                        detail=f"rule {rule.name}",
                    )
                )
        return out


@dataclass(frozen=True)
class Screened:
    text: str
    """What may be spoken and recorded."""
    findings: tuple[Finding, ...]

    @property
    def changed(self) -> bool:
        return any(f.action in ("mask", "block") for f in self.findings)


class Guardrails:
    """The guardrails of one call, applied in order."""

    def __init__(self, guardrails: Sequence[Guardrail]) -> None:
        self.guardrails = list(guardrails)

    def findings(self, text: str) -> list[Finding]:
        return [f for g in self.guardrails for f in g.check(text)]

    def screen(self, sentence: str) -> Screened:
        """Every fast check on one sentence; masks applied, a block replaces the sentence."""
        findings = self.findings(sentence)
        if not findings:
            return Screened(sentence, ())
        block = next((f for f in findings if f.action == "block"), None)
        if block is not None:
            text = block.replacement
            # keep the whitespace that separated this sentence from the next one
            if text and sentence[-1:].isspace():
                text += " "
            return Screened(text, tuple(findings))
        text = sentence
        masks = sorted((f for f in findings if f.action == "mask"), key=lambda f: f.start)
        kept: list[Finding] = []
        for f in masks:  # drop masks overlapping an earlier one
            if kept and f.start < kept[-1].end:
                continue
            kept.append(f)
        for f in reversed(kept):
            text = text[: f.start] + f.replacement + text[f.end :]
        text = re.sub(r"[ \t]{2,}", " ", text)
        return Screened(text, tuple(findings))

    async def slow_findings(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        for g in self.guardrails:
            if g.has_slow_check:
                out.extend(await g.check_slow(text))
        return out

    @property
    def screen_phrases(self) -> bool:
        """Every guardrail screens a phrase cut at a comma as it would the sentence."""
        return all(g.screens_phrases for g in self.guardrails)

    @property
    def has_slow_checks(self) -> bool:
        return any(g.has_slow_check for g in self.guardrails)


def default_guardrails(*, policy_file: str = "", block_regex: str = "") -> Guardrails:
    """Personal numbers always; the phrase policy from a file and/or one blocking regex.
    Raises ValueError (one line) for an unreadable file or a bad regex."""
    guardrails: list[Guardrail] = [PersonalNumbers()]
    if policy_file:
        guardrails.append(PhrasePolicy.from_file(policy_file))
    if block_regex:
        guardrails.append(
            PhrasePolicy.from_lines([f"block: {block_regex}"], source="GUARDRAIL_BLOCK")
        )
    return Guardrails(guardrails)
