"""The cascade's guardrail gate: the agent's text, cut into sentences and screened on its way to
the TTS (and to the transcript), so a blocking finding replaces or drops a sentence before any
audio of it is synthesized.

The cascade TTS engines here synthesize sentence by sentence anyway (Cartesia's and the
StreamAdapter's sentence tokenizers), so holding a sentence until it is complete costs the
first audio nothing measurable. A sentence that ends in three or more digits not yet part of a
personal number (`tools.sensitive.trailing_digits`; a price or a clock time does not count) is
held until the next sentence decides, and the held sentences are screened together: neither
"4111. 1111. 1111. 1111." nor "... 4111 1111. And then 1111 1111." slips through in pieces.

With `words=True` (the call's gates, `CallGuard`) the gate streams: the words of the
sentence in progress are screened and passed on as they come, up to the first digit, number
word or card word in it (`tools.sensitive.number_free_prefix`; a word that may begin a card
word of two, "security" of "security code", waits for the next), and from there the
sentence waits for its end as above; nothing is streamed while sentences are held. Nothing
that is or marks a piece of a personal number ever leaves early, so what is masked is the
same. The TTS then gets the text as the model writes it: a TTS that speaks from the first
short phrase (Piper behind `PhraseTokenizer`) starts on "Well, " while the sentence is
being written, and a sentence tokenizer that needs the next sentence's first words to
close the previous one (Cartesia's, LiveKit's) is not kept waiting for that sentence's end
(it was: ~50 ms on a cascade reply of short sentences, `python -m evals.latency
--cascade`). Only when every guardrail screens pieces as it screens sentences
(`Guardrail.screens_phrases`: the personal-number check does; a phrase policy's regexes
are written for sentences, so with one configured the gate cuts at sentence ends only).

Linear in the reply's length: each chunk is scanned for sentence ends from where the last scan
stopped, each sentence is looked at once when it ends and screened once, and what is held is
bounded (`MAX_HELD` sentences; a sentence without an end is cut at `MAX_SENTENCE` characters).
`SentenceGate.work` counts the characters looked at, so a test can hold it to that.

Owns: `SentenceGate`, `gate_sentences`. Imports: `guardrails`, `tools.sensitive`, the standard
library.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable

from tools.sensitive import HOLD_DIGITS, number_free_prefix, trailing_digits

from .guardrails import Guardrails, Screened

_BOUNDARY = re.compile(r"[.!?;:\n]+[\"')\]]*\s+")
_BOUNDARY_CHARS = ".!?;:\n\"')] \t\r"
MAX_HELD = 8
"""Sentences held at most while each ends in digits (a card is four groups; its expiry and
code two more): then they are screened together and let go."""
MAX_SENTENCE = 600
"""Characters after which a sentence with no end yet is cut at a space, so the held text
stays bounded."""

OnScreened = Callable[[str, Screened], None]


class SentenceGate:
    """Feed it chunks (`feed`), then `flush` at the end; both return the screened text to
    pass on, in order."""

    def __init__(
        self,
        guardrails: Guardrails,
        on_screened: OnScreened | None = None,
        *,
        words: bool = False,
    ) -> None:
        self.guardrails = guardrails
        self.on_screened = on_screened
        self._words = words and guardrails.screen_phrases
        self.work = 0
        """Characters scanned, checked and screened so far (a test holds this linear)."""
        self._buf = ""
        """The sentence in progress (complete sentences leave it as soon as they end)."""
        self._scan = 0
        """Where the next search for a sentence end starts in `_buf`."""
        self._held: list[str] = []
        self._numbered = False
        """The sentence in progress holds a number or card word: it goes at its end only."""

    def feed(self, chunk: str) -> list[str]:
        self._buf += chunk
        self.work += len(self._buf)  # the copy
        out: list[str] = []
        start = 0
        while (cut := self._next_cut(start)) is not None:
            out += self._sentence(self._buf[start:cut])
            start = self._scan = cut
            self._numbered = False
        if self._words and not self._held and not self._numbered:
            n, self._numbered = number_free_prefix(self._buf[start:])
            self.work += len(self._buf) - start
            if n:  # number-free words: screened and passed on now
                out += self._sentence(self._buf[start : start + n])
                start += n
                self._scan = max(self._scan, start)
        if start:  # one copy per chunk, of the sentence in progress only
            self._buf = self._buf[start:]
            self._scan -= start
        return out

    def flush(self) -> list[str]:
        out = self._sentence(self._buf) if self._buf else []
        self._buf, self._scan, self._numbered = "", 0, False
        if self._held:
            out += self._release()
        return out

    def _next_cut(self, start: int) -> int | None:
        """The end of the first complete sentence in `_buf[start:]`, or None (then `_scan`
        moves on to where a sentence end could still begin)."""
        buf = self._buf
        for m in _BOUNDARY.finditer(buf, self._scan):
            if m.end() < len(buf):  # more whitespace may follow in the next chunk
                self.work += m.end() - self._scan
                return m.end()
        self.work += len(buf) - self._scan
        if len(buf) - start > MAX_SENTENCE:
            space = buf.rfind(" ", start, start + MAX_SENTENCE)
            return space + 1 if space > start else start + MAX_SENTENCE
        # a sentence end may begin in the trailing punctuation and finish in the next chunk
        tail = len(buf)
        while tail > self._scan and buf[tail - 1] in _BOUNDARY_CHARS:
            tail -= 1
        self._scan = tail
        return None

    def _sentence(self, sentence: str) -> list[str]:
        self._held.append(sentence)
        self.work += len(sentence)
        if len(self._held) < MAX_HELD and trailing_digits(sentence) >= HOLD_DIGITS:
            return []
        return self._release()

    def _release(self) -> list[str]:
        text = "".join(self._held)
        self._held = []
        self.work += len(text)
        result = self.guardrails.screen(text)
        if result.findings and self.on_screened is not None:
            self.on_screened(text, result)
        return [result.text] if result.text else []


async def gate_sentences(
    text: AsyncIterable[str],
    guardrails: Guardrails,
    on_screened: OnScreened | None = None,
    *,
    words: bool = False,
) -> AsyncIterator[str]:
    """Yield `text` sentence by sentence (`words`: number-free words as they come, see the
    module), each one screened by `guardrails` (sentences held for a
    number the next one may complete come out together).
    `on_screened(original, screened)` is called for every screened text that had findings."""
    gate = SentenceGate(guardrails, on_screened, words=words)
    async for chunk in text:
        for out in gate.feed(chunk):
            yield out
    for out in gate.flush():
        yield out
