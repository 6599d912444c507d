"""The cascade's guardrail gate: the agent's text, cut into sentences and screened one by one
on its way to the TTS (and to the transcript), so a blocking finding replaces or drops a
sentence before any audio of it is synthesized.

The cascade TTS engines here synthesize sentence by sentence anyway (Cartesia's and the
StreamAdapter's sentence tokenizers), so holding a sentence until it is complete costs the
first audio nothing measurable. A sentence that ends in a number is held until the next
boundary: "4111. 1111. 1111. 1111." cannot slip through in pieces.

Owns: `gate_sentences`. Imports: `guardrails`, the standard library.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable

from .guardrails import Guardrails, Screened

_BOUNDARY = re.compile(r"[.!?;:\n]+[\"')\]]*\s+")
_ENDS_IN_NUMBER = re.compile(
    r"(?:\d|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|double|triple))\W*$",
    re.IGNORECASE,
)


def _cuts(buf: str) -> list[int]:
    """Indexes after each sentence boundary in `buf` that is safe to cut at."""
    return [
        m.end() for m in _BOUNDARY.finditer(buf) if not _ENDS_IN_NUMBER.search(buf[: m.start() + 1])
    ]


async def gate_sentences(
    text: AsyncIterable[str],
    guardrails: Guardrails,
    on_screened: Callable[[str, Screened], None] | None = None,
) -> AsyncIterator[str]:
    """Yield `text` sentence by sentence, each one screened by `guardrails`.
    `on_screened(original, screened)` is called for every sentence that had findings."""
    buf = ""

    def screen(sentence: str) -> str:
        result = guardrails.screen(sentence)
        if result.findings and on_screened is not None:
            on_screened(sentence, result)
        return result.text

    async for chunk in text:
        buf += chunk
        start = 0
        for cut in _cuts(buf):
            out = screen(buf[start:cut])
            start = cut
            if out:
                yield out
        buf = buf[start:]
    if buf:
        out = screen(buf)
        if out:
            yield out
