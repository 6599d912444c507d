"""Text normalisation and hashed features, shared by training and inference.

Everything here is pure Python (``re`` + ``zlib.crc32``) so that featurising one turn costs a
few tens of microseconds. Training and inference MUST use the same code: the feature strings
are hashed into ``n_features`` buckets with ``crc32`` (stable across processes, unlike
``hash()``).

Feature groups (one string each, hashed):

- turn text, after lower-casing and stripping punctuation: last 1/2/3 words, first 1/2 words,
  word classes (filler, conjunction, preposition, article, number, spelled letter...), length
  bucket, unigram bag, trailing-digit / trailing-letter run lengths;
- trailing punctuation as a separate (deliberately weak: training randomises it) feature;
- context = the previous assistant turn: question type (asks for a phone number, a quantity, a
  name, an address, a spelling, a yes/no answer...), its last words;
- interactions question-type x (last word, word class, digit run, length, punctuation): this is
  what lets "two" be complete after "How many?" but "five five five two one" be a pause after
  "What's your phone number?";
- v2: grammatical-role word classes of the last three words;
- v3: how likely general English is to end a sentence after the last words (``ngram.py``:
  ``log10 P(</s> | last two words)`` and ``P(</s> | last word)`` in 0.25 steps, also crossed
  with the question type, the punctuation, the word class, the length, and the same score one
  word earlier -- "Yes" | "and ..." was already complete before "and").
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

FEATURE_VERSION = 3
SUPPORTED_FEATURE_VERSIONS = (1, 2, 3)

FILLERS = frozenset({"um", "uh", "uhm", "umm", "uhh", "er", "erm", "hmm", "mm", "ah", "eh"})
SOFT_FILLERS = frozenset({"like", "well", "so", "actually", "basically"})
CONJ = frozenset({"and", "but", "or", "so", "because", "cause", "if", "then", "plus", "nor"})
PREP = frozenset(
    {
        "with", "of", "for", "to", "in", "on", "at", "from", "by", "about", "into", "without",
        "than", "as", "like", "near", "after", "before", "around", "over", "under", "between",
    }
)  # fmt: skip
ARTICLE = frozenset(
    {"a", "an", "the", "some", "any", "my", "your", "our", "their", "his", "her", "this",
     "that", "these", "those", "another", "each", "every"}
)  # fmt: skip
NEEDS_OBJ = frozenset(
    {"get", "have", "want", "like", "order", "add", "need", "take", "make", "is", "are", "was",
     "were", "be", "can", "could", "would", "will", "i", "i'd", "i'll", "i'm", "it's", "let",
     "me", "please", "change", "put", "try", "do", "does", "give", "switch", "remove", "also"}
)  # fmt: skip
COMPLETE_END = frozenset(
    {"please", "thanks", "thank", "you", "yes", "no", "yeah", "yep", "nope", "okay", "ok",
     "correct", "right", "great", "good", "fine", "sure", "all", "it", "that", "them", "perfect"}
)  # fmt: skip
DIGIT_WORDS = {
    "zero": 1, "oh": 1, "o": 1, "one": 1, "two": 1, "three": 1, "four": 1, "five": 1, "six": 1,
    "seven": 1, "eight": 1, "nine": 1, "ten": 2, "eleven": 2, "twelve": 2, "thirteen": 2,
    "fourteen": 2, "fifteen": 2, "sixteen": 2, "seventeen": 2, "eighteen": 2, "nineteen": 2,
    "twenty": 2, "thirty": 2, "forty": 2, "fifty": 2, "sixty": 2, "seventy": 2, "eighty": 2,
    "ninety": 2, "hundred": 1, "thousand": 1, "double": 0, "triple": 0,
}  # fmt: skip

_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+")
_TRAIL_PUNCT_RE = re.compile(r"([.?!,;:\-\u2026]+)[\"')\]\s]*$")
_WORD_RE = re.compile(r"[a-z']+")

# question types of the assistant's previous turn (regexes over the lower-cased text)
_CTX_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone", re.compile(r"phone|cell|mobile|callback|call back|number (?:to|we can|i can) (?:reach|call|text)|best number|contact number")),
    ("zip", re.compile(r"zip|postal|post code|postcode")),
    ("card", re.compile(r"card number|credit card|debit card|account number|member(?:ship)? (?:number|id)|rewards number|loyalty number|cvv|expiration|pin\b")),
    ("code", re.compile(r"confirmation (?:code|number)|order number|reference|booking (?:code|number)|code\b")),
    ("qty", re.compile(r"how many|how much|quantity|how often")),
    ("name", re.compile(r"\bname\b|who (?:is|should|will) .*for|who's it for|under what")),
    ("spell", re.compile(r"\bspell|letter by letter")),
    ("address", re.compile(r"address|street|deliver(?:ed|y)? to|where (?:do you|are you|should) |location")),
    ("time", re.compile(r"what time|\bwhen\b|which day|what day|date\b|pick (?:it )?up")),
    ("email", re.compile(r"e-?mail")),
    ("size", re.compile(r"what size|which size|small|medium|large|tall|grande|venti")),
    ("choice", re.compile(r"\bor\b.*\?|which (?:one|kind|type|milk|flavor|syrup)|what kind|what type|what flavor")),
    ("anything_else", re.compile(r"anything else|something else|is that all|will that be all|that be all|is that everything|what else")),
    ("open", re.compile(r"what (?:can|would|do|may) (?:i|you)|how can i help|what would you like|what can i get|tell me")),
)  # fmt: skip
_YESNO_RE = re.compile(
    r"(?:^|[.!?]\s+|,\s*)(?:is|are|do|does|did|can|could|would|will|should|shall|have|has|may|was|were|want|okay|ok)\b[^.!?]*\?"
)
_WH_RE = re.compile(r"\b(?:what|which|who|whom|whose|where|when|why|how)\b[^.!?]*\?")


def trailing_punct(text: str) -> str:
    """The run of punctuation at the end of ``text`` collapsed to one class."""
    m = _TRAIL_PUNCT_RE.search(text)
    if not m:
        return "none"
    p = m.group(1)
    if "?" in p:
        return "?"
    if "!" in p:
        return "!"
    if "..." in p or "\u2026" in p:
        return "..."
    if "." in p:
        return "."
    if "," in p:
        return ","
    return "-"


def tokenize(text: str) -> list[str]:
    """Lower-case word/number tokens; punctuation dropped, digit runs kept as one token."""
    t = text.lower().replace("\u2019", "'")
    # "i.e." style spellings and "J-O-H-N" become separate letters
    return _TOKEN_RE.findall(t)


def word_class(tok: str) -> str:
    if tok.isdigit():
        return "NUM"
    if tok in FILLERS:
        return "FIL"
    if tok in DIGIT_WORDS:
        return "NUMW"
    if tok in CONJ:
        return "CONJ"
    if tok in ARTICLE:
        return "ART"
    if tok in PREP:
        return "PREP"
    if len(tok) == 1:
        return "LET"
    if tok in SOFT_FILLERS:
        return "SFIL"
    if tok in NEEDS_OBJ:
        return "VOBJ"
    if tok in COMPLETE_END:
        return "END"
    if tok.endswith("ing"):
        return "ING"
    if tok.endswith("ly"):
        return "LY"
    return "W"


def _digit_len(tok: str) -> int:
    if tok.isdigit():
        return len(tok)
    return DIGIT_WORDS.get(tok, -1)


def trailing_digits(tokens: Sequence[str]) -> int:
    """How many digits the trailing run of numbers spells ("555 12" -> 5, "five five" -> 2)."""
    n = 0
    for tok in reversed(tokens):
        d = _digit_len(tok)
        if d < 0:
            break
        n += d
    return n


def trailing_letters(tokens: Sequence[str]) -> int:
    n = 0
    for tok in reversed(tokens):
        if len(tok) == 1 and tok.isalpha() and tok not in ("a", "i"):
            n += 1
        elif tok in ("as", "in") or (n and tok in ("a", "i")):
            n += 0
        else:
            break
    return n


def _bucket(n: int, edges: Sequence[int]) -> str:
    for e in edges:
        if n <= e:
            return str(e)
    return f">{edges[-1]}"


_LEN_EDGES = (0, 1, 2, 3, 4, 6, 9, 14)
_DIG_EDGES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16)
_LET_EDGES = (0, 1, 2, 3, 4, 5, 6, 8)


def context_types(context: Sequence[str]) -> list[str]:
    """Question types asked by the most recent assistant turn (``["none"]`` without one)."""
    if not context:
        return ["none"]
    last = context[-1].lower().replace("\u2019", "'")
    # only the final sentence or two matter for what is being asked
    tail = last[-160:]
    types = [name for name, pat in _CTX_PATTERNS if pat.search(tail)]
    if _YESNO_RE.search(tail) or tail.lstrip().startswith(
        ("is ", "are ", "do ", "does ", "can ", "could ", "would ", "will ", "should ")
    ):
        types.append("yesno")
    elif _WH_RE.search(tail):
        types.append("wh")
    if "?" not in tail:
        types.append("stmt")
    return types or ["other"]


# v2: a finer, domain-agnostic word class (closed-class words by grammatical role) so the model
# learns the *shape* of an unfinished phrase ("... my", "... to", "... I was", "... for the")
# rather than the words of one domain
_CLASS2: dict[str, str] = {}
for _cls, _words in (
    ("SUBJ", "i we he she they"),
    ("YOU", "you"),
    (
        "AUX",
        "am is are was were be been being have has had do does did will would can could "
        "should shall may might must i'm it's that's there's i've i'll i'd we're they're we'll "
        "we've you're he's she's don't can't didn't won't isn't wasn't doesn't haven't",
    ),
    ("TO", "to"),
    ("WH", "what which who whom whose where when why how"),
    ("POSS", "my your our their his her its"),
    ("DET", "a an the this that these those some any another each every"),
    (
        "SUB",
        "because since if when while although though unless until after before except "
        "than whether cause",
    ),
    ("MOD", "really very just maybe probably about around almost only also even still"),
    ("YN", "yes no yeah yep yup nope sure okay ok correct right definitely absolutely"),
    ("THX", "please thanks thank"),
):
    for _w in _words.split():
        _CLASS2[_w] = _cls


def word_class2(tok: str) -> str:
    """Finer class than ``word_class`` (v2 features); falls back to it for other words."""
    c = _CLASS2.get(tok)
    if c is not None:
        return c
    return word_class(tok)


def _featurize_v2(toks: list[str], n: int, punct: str, nb: str, ctypes: list[str]) -> list[str]:
    real = toks if n else []
    k = [word_class2(t) for t in real[-3:]]
    k = ["S"] * (3 - len(k)) + k
    first = word_class2(real[0]) if n else "S"
    second = word_class2(real[1]) if n > 1 else "S"
    question_shaped = first in ("WH", "AUX") or (first in ("YN", "FIL") and second in ("WH", "AUX"))
    feats = [
        "k1=" + k[2],
        "k2=" + k[1] + "_" + k[2],
        "k3=" + k[0] + "_" + k[1] + "_" + k[2],
        "k1n=" + k[2] + "_" + nb,
        "kf=" + first + "_" + k[2],
        "kp=" + punct + "_" + k[2],
        "qs=" + str(question_shaped) + "_" + k[2],
    ]
    if n and real[-1].isalpha() and k[2] == "W":
        feats.append("k2w=" + k[1] + "_" + real[-1])
    for ct in ctypes:
        feats.append("ct_k1=" + ct + "_" + k[2])
        feats.append("ct_k2=" + ct + "_" + k[1] + "_" + k[2])
        feats.append("ct_kn=" + ct + "_" + k[2] + "_" + nb)
        feats.append("ct_kf=" + ct + "_" + first)
    return feats


def _bucket_log10(x: float, step: float) -> str:
    """``x`` (a log10 probability) clipped to [-4, 0] and rounded to ``step``."""
    return str(int(round(max(-4.0, min(0.0, x)) / step)))


def _featurize_v3(toks: list[str], n: int, punct: str, nb: str, ctypes: list[str]) -> list[str]:
    from .ngram import shared_lm

    lm = shared_lm()
    real = toks if n else []
    p_hist, p_last, unknown = lm.end_scores(real)
    h, h2 = _bucket_log10(p_hist, 0.25), _bucket_log10(p_hist, 0.5)
    k1 = word_class2(real[-1]) if n else "S"
    feats = [
        "lm3=" + h,
        "lm2=" + _bucket_log10(p_last, 0.25),
        "lmoov=" + str(unknown),
        "lm32=" + h2 + "_" + _bucket_log10(p_last, 0.5),
        "lmp=" + punct + "_" + h2,
        "lmk1=" + k1 + "_" + h2,
        "lmn=" + nb + "_" + h2,
    ]
    feats.extend("ct_lm3=" + ct + "_" + h2 for ct in ctypes)
    if n > 1:
        before, _, _ = lm.end_scores(real[:-1])
        feats.append("lmprev=" + _bucket_log10(before, 0.5) + "_" + h2)
    return feats


def featurize(text: str, context: Sequence[str] = (), version: int = FEATURE_VERSION) -> list[str]:
    """Feature strings for the user's transcript-so-far ``text`` after assistant ``context``.

    ``version`` 1 is the first release's set (kept so its weights still load); 2 adds the
    domain-agnostic ``word_class2`` features; 3 adds the general-English end-of-sentence scores
    of ``ngram.py``."""
    toks = tokenize(text)
    n = len(toks)
    punct = trailing_punct(text)
    feats: list[str] = ["b"]
    ap = feats.append
    if n == 0:
        ap("empty")
        toks = ["<s>"]
        n = 0
    w1 = toks[-1]
    w2 = toks[-2] if len(toks) > 1 else "<s>"
    w3 = toks[-3] if len(toks) > 2 else "<s>"
    c1 = word_class(w1) if n else "S"
    c2 = word_class(w2) if n > 1 else "S"
    c3 = word_class(w3) if n > 2 else "S"
    nb = _bucket(n, _LEN_EDGES)
    dg = _bucket(trailing_digits(toks) if n else 0, _DIG_EDGES)
    lt = _bucket(trailing_letters(toks) if n else 0, _LET_EDGES)
    ap("l1=" + w1)
    ap("l2=" + w2 + "_" + w1)
    ap("l3=" + w3 + "_" + w2 + "_" + w1)
    ap("f1=" + toks[0])
    ap("f2=" + toks[0] + "_" + (toks[1] if n > 1 else "</s>"))
    ap("c1=" + c1)
    ap("c2=" + c2 + "_" + c1)
    ap("c3=" + c3 + "_" + c2 + "_" + c1)
    ap("c1l2=" + c2 + "_" + w1)
    ap("n=" + nb)
    ap("n_c1=" + nb + "_" + c1)
    ap("lt=" + lt)
    ap("p=" + punct)
    ap("p_c1=" + punct + "_" + c1)
    ap("p_n=" + punct + "_" + nb)
    if len(w1) > 3:
        ap("suf=" + w1[-3:])
    for t in set(toks[-12:]):
        ap("w=" + t)
    ctypes = context_types(context)
    if context:
        last_words = _WORD_RE.findall(context[-1].lower()[-120:])[-8:]
        for t in set(last_words):
            ap("cw=" + t)
        if last_words:
            ap("cl1=" + last_words[-1])
    for ct in ctypes:
        ap("ct=" + ct)
        ap("ct_l1=" + ct + "_" + w1)
        ap("ct_c1=" + ct + "_" + c1)
        ap("ct_c2=" + ct + "_" + c2 + "_" + c1)
        ap("ct_dg=" + ct + "_" + dg)
        ap("ct_lt=" + ct + "_" + lt)
        ap("ct_n=" + ct + "_" + nb)
        ap("ct_n_c1=" + ct + "_" + nb + "_" + c1)
        ap("ct_p=" + ct + "_" + punct)
        ap("ct_f1=" + ct + "_" + toks[0])
    if version >= 2:
        feats.extend(_featurize_v2(toks, n, punct, nb, ctypes))
    if version >= 3:
        feats.extend(_featurize_v3(toks, n, punct, nb, ctypes))
    return feats


def hash_features(feats: Sequence[str], n_features: int) -> list[int]:
    """Bucket indices (with repeats) for ``feats``; ``n_features`` must be a power of two."""
    mask = n_features - 1
    return [zlib.crc32(f.encode()) & mask for f in feats]
