"""Grounded speech: what the fallback model may say before it reaches the TTS.

The fallback model has no tool results in front of it, so anything it says about the
caller's order (items, options, quantities, placed or not) is made up: "Got it. That's one
latte with almond milk" when no tool changed anything is the worst thing a voice agent can
say, because the caller believes it. Its text is checked phrase by phrase (so the TTS can
still start on the first short phrase) and:

- a phrase that claims an order change or states the order ("added", "got it", "your order",
  "one latte with ..."), or names a drink at all (the model has no tool result to describe
  one from), ends the reply and is replaced by a question;
- a phrase written for the model, not the caller ("tell the caller ...") is dropped;
- a phrase that asks for another business's details ("provide the prescription number")
  ends the reply with the line saying what this line can do.

Owns: `check_phrase`, `Verdict`. Imports: stdlib only (the menu's names come in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

ASK_AGAIN = "Sorry, I didn't quite catch that. What would you like to add or change?"
"""Said in place of a reply that claimed an order change no tool made."""

_CLAIM = re.compile(
    r"\b(added|adding|add(ed)? (that|it|them)|i'?ve (got|added|put|changed|updated|removed|placed|made)"
    r"|i (have|will|'ll|can|could) (add|change|update|remove|place|put|make|get|do)|i'?ll (add|change|update"
    r"|remove|place|put|make|get)|got it|got that|noted|your order (is|has|now|includes|contains|will)"
    r"|(is|are|has been|have been|was"
    r"|were) (placed|added|removed|changed|updated|switched|confirmed)|placed|removed|changed|updated"
    r"|switched|swapped|replaced|coming (right )?up|on its way|ready (in|at|for|soon)|your total"
    r"|total (is|comes|of))\b",
    re.IGNORECASE,
)
"""Words that state or change the order."""
_INSTRUCTION = re.compile(
    r"\b(the caller|the user|tell (them|the)|offer to keep|as an ai|system prompt|tool call"
    r"|function call)\b",
    re.IGNORECASE,
)
"""Text written for a model, never for the caller."""
_FOREIGN = re.compile(
    r"\b(provide|give me|tell me|need|have|read me|confirm)\b[^.?!]{0,25}\b(your|the)\b[^.?!]{0,25}"
    r"\b(number|address|date of birth|account|prescription|id|password|pin|insurance)\b",
    re.IGNORECASE,
)
"""Asking for details this shop never needs: the model is serving another business."""

Verdict = Literal["say", "drop", "claim", "foreign"]


@dataclass(frozen=True)
class Grounding:
    """`drinks`: the menu's drink names (lowercase), so "one latte with oat milk and one
    mocha" is recognised as a statement of an order even without a verb."""

    drinks: tuple[str, ...]

    @classmethod
    def for_menu(cls, names: Iterable[str]) -> Grounding:
        return cls(tuple(sorted({n.lower() for n in names}, key=len, reverse=True)))

    def check_phrase(self, phrase: str) -> Verdict:
        if _INSTRUCTION.search(phrase):
            return "drop"
        if _FOREIGN.search(phrase):
            return "foreign"
        if _CLAIM.search(phrase) or self._names_a_drink(phrase):
            return "claim"
        return "say"

    def _names_a_drink(self, phrase: str) -> bool:
        """A drink named by the model: about the caller's order ("one latte with oat milk")
        or about the menu ("a traditional Americano with a creamy texture"), it is not from a
        tool result of this call; the policy answers every question about drinks itself."""
        low = phrase.lower()
        return any(re.search(rf"\b{re.escape(name)}s?\b", low) for name in self.drinks)


_PHRASE_END = re.compile(r"[,;:.!?](\s|$)")


def split_phrases(buffer: str) -> tuple[list[str], str]:
    """Complete phrases (ending in , ; : . ! ? and a space or the end) and the rest."""
    out: list[str] = []
    start = 0
    for m in _PHRASE_END.finditer(buffer):
        if m.end() == len(buffer) and not m.group(1):
            break  # a mark at the very end may still be "3." of "3.50": wait for more
        out.append(buffer[start : m.end()])
        start = m.end()
    return out, buffer[start:]
