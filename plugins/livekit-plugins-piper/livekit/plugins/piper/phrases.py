"""`PhraseTokenizer`: the text a non-streaming TTS gets, cut so the first audio starts on the
first short phrase of a reply rather than on its first whole sentence.

Piper synthesizes a whole input at a time, so LiveKit wraps it in `tts.StreamAdapter`, which
cuts the reply into sentences: the first audio waits until the model has written the first
sentence (about a second at 15-18 tokens/s) and Piper has synthesized all of it. This
tokenizer emits the first phrase of each segment as soon as it is complete: at a comma,
semicolon, colon or dash (``"Sure, "``), before a conjunction once a few words are in (``"We
have hot chocolate | and herbal tea."``), at a sentence end, or after
`PhraseOptions.max_words` words; the rest follows sentence by sentence, as LiveKit's default
tokenizer (blingfire) cuts it, so only the first cut is a phrase.

Use: ``tts.StreamAdapter(tts=piper.TTS(), sentence_tokenizer=piper.PhraseTokenizer())``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from livekit.agents import tokenize
from livekit.agents.tokenize.token_stream import BufferedSentenceStream
from livekit.agents.tokenize.tokenizer import SentenceStream, TokenData

_PHRASE_MARK = re.compile(
    r"(?<=[^\d\s])[,;:][\"')\]]*(?=\s|$)"  # "Well," even before the next word arrives
    r"|(?<=\d)[,;:][\"')\]]*(?=\s)"  # after a digit only with a space: "1,000" is no cut
    r"|(?:\s[-\u2013\u2014]|[\u2013\u2014])(?=\s)"  # a dash between words
)
"""A comma, semicolon, colon or dash that ends a phrase whatever text comes next."""
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_WORD = re.compile(r"\S+")
CONJUNCTIONS = frozenset(
    ["and", "or", "but", "so", "because", "with", "which", "if", "when", "while"]
)
"""Words a phrase may be cut before (the cut keeps the word with what follows)."""


@dataclass
class PhraseOptions:
    min_words: int = 1
    """Words the first phrase needs before a comma, semicolon, colon or dash may end it
    (1: "Sure," is spoken at once)."""
    conjunction_words: int = 3
    """Words the first phrase needs before it may be cut ahead of a conjunction."""
    max_words: int = 10
    """Words after which the first phrase is cut at the next space whatever follows."""
    min_sentence_len: int = 20
    """After the first phrase: characters a sentence needs to be sent on its own (shorter
    ones are merged forward), as LiveKit's default blingfire tokenizer."""
    stream_context_len: int = 10
    """After the first phrase: characters buffered before the sentence splitter looks."""

    def validate(self) -> None:
        for name in ("min_words", "conjunction_words", "max_words"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_words < self.min_words:
            raise ValueError(
                f"max_words ({self.max_words}) must be >= min_words ({self.min_words})"
            )
        if self.min_sentence_len < 0 or self.stream_context_len < 0:
            raise ValueError("min_sentence_len and stream_context_len must be >= 0")


def first_phrase_end(text: str, opts: PhraseOptions) -> int | None:
    """Where the first phrase of `text` ends (an index into `text`), or None while it may
    still go on. Only cuts that whatever comes next cannot change are returned: a mark or
    a word boundary must be followed by whitespace."""
    words = list(_WORD.finditer(text))

    def words_before(pos: int) -> int:
        return sum(1 for w in words if w.end() <= pos)

    cuts: list[int] = []
    for m in _SENTENCE_END.finditer(text):
        if words_before(m.end()) >= 1:
            cuts.append(m.end())
            break
    for m in _PHRASE_MARK.finditer(text):
        if words_before(m.end()) >= opts.min_words:
            cuts.append(m.end())
            break
    for i, w in enumerate(words):
        complete = w.end() < len(text)  # whitespace follows: the word will not grow
        if i >= opts.conjunction_words and complete and w.group().lower() in CONJUNCTIONS:
            cuts.append(words[i - 1].end())
            break
    if len(words) > opts.max_words:
        cuts.append(words[opts.max_words - 1].end())
    return min(cuts) if cuts else None


class PhraseTokenizer(tokenize.SentenceTokenizer):
    def __init__(
        self,
        *,
        min_words: int = 1,
        conjunction_words: int = 3,
        max_words: int = 10,
        min_sentence_len: int = 20,
        stream_context_len: int = 10,
    ) -> None:
        """First phrase early, then sentences (see the module's docstring).

        Args:
            min_words: Words before a comma/semicolon/colon/dash may end the first phrase.
                Defaults to 1.
            conjunction_words: Words before the first phrase may be cut ahead of a
                conjunction. Defaults to 3.
            max_words: Words after which the first phrase is cut at the next space.
                Defaults to 10.
            min_sentence_len: After the first phrase, the shortest sentence sent on its own
                (characters). Defaults to 20, LiveKit's default.
            stream_context_len: After the first phrase, characters buffered before the
                sentence splitter looks. Defaults to 10, LiveKit's default.

        Raises:
            ValueError: an option is out of range.
        """
        self._opts = PhraseOptions(
            min_words=min_words,
            conjunction_words=conjunction_words,
            max_words=max_words,
            min_sentence_len=min_sentence_len,
            stream_context_len=stream_context_len,
        )
        self._opts.validate()
        self._sentences = tokenize.blingfire.SentenceTokenizer(
            min_sentence_len=min_sentence_len,
            stream_context_len=stream_context_len,
            retain_format=True,
        )

    @property
    def options(self) -> PhraseOptions:
        return replace(self._opts)

    def tokenize(self, text: str, *, language: str | None = None) -> list[str]:
        end = first_phrase_end(text + " ", self._opts)
        if end is None or end >= len(text.rstrip()):
            return self._sentences.tokenize(text)
        head, rest = text[:end], text[end:]
        return [head, *self._sentences.tokenize(rest)]

    def stream(self, *, language: str | None = None) -> SentenceStream:
        return PhraseStream(self._opts, self._sentences)


class PhraseStream(BufferedSentenceStream):
    """Holds a segment's text until its first phrase is complete and emits it; from there on
    it is LiveKit's buffered sentence stream. `flush()` starts a new segment (and phrase)."""

    def __init__(
        self, opts: PhraseOptions, sentences: tokenize.blingfire.SentenceTokenizer
    ) -> None:
        super().__init__(
            tokenizer=sentences.tokenize,
            min_token_len=opts.min_sentence_len,
            min_ctx_len=opts.stream_context_len,
        )
        self._opts = opts
        self._head = ""
        self._in_head = True

    def push_text(self, text: str) -> None:
        self._check_not_closed()
        if not self._in_head:
            super().push_text(text)
            return
        self._head += text
        end = first_phrase_end(self._head, self._opts)
        if end is None:
            return
        phrase, rest = self._head[:end], self._head[end:]
        self._head, self._in_head = "", False
        if phrase.strip():
            self._event_ch.send_nowait(TokenData(token=phrase, segment_id=self._current_segment_id))
        if rest:
            super().push_text(rest)

    def flush(self) -> None:
        self._check_not_closed()
        head, self._head = self._head, ""
        if head:
            super().push_text(head)
        super().flush()
        self._in_head = True
