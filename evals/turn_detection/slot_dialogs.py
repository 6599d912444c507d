"""Synthetic slot-filling exchanges, as text, for training the semantic turn model: phone
numbers, zip codes, quantities, names, spellings, addresses, times, yes/no -- the slots that
Taskmaster-4's coffee orders barely contain. (Synthetic *speech* for the bench is ``render.py``.)

Each synthetic "dialog" is one assistant question + one user answer, given as a list of
*chunks* (the answer's natural phrases, e.g. "five five five" / "one two three" / "four five six
seven"). The complete answer is a positive; cuts at chunk boundaries (where people pause while
reading out a number) and at a random word are negatives. The point is the contrast: "two" is a
complete answer to "How many?" but "five five five two one" is a pause after "What's your
phone number?".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
QTY_WORDS = ["one", "two", "three", "four", "five", "six", "a couple", "a dozen", "ten", "twelve"]
NAMES = [
    "john", "sarah", "michael", "emily", "david", "jessica", "chris", "ashley", "daniel", "maria",
    "kevin", "laura", "james", "anna", "robert", "linda", "priya", "wei", "carlos", "fatima",
    "olivia", "liam", "noah", "emma", "sophia", "mason", "ava", "lucas", "mia", "ethan",
]  # fmt: skip
SURNAMES = [
    "smith", "johnson", "lee", "garcia", "miller", "davis", "nguyen", "patel", "brown", "wilson",
    "martinez", "taylor", "anderson", "thomas", "moore", "clark", "lewis", "walker", "young",
]  # fmt: skip
STREETS = ["main", "oak", "maple", "pine", "cedar", "elm", "washington", "lake", "hill", "park"]
STREET_T = ["street", "avenue", "road", "drive", "lane", "boulevard", "court", "way"]
LEADS = ["", "", "", "sure ", "yeah ", "it's ", "um ", "okay so ", "yes it's ", "uh "]

QUESTIONS: dict[str, list[str]] = {
    "phone": [
        "What's your phone number?", "Can I get a phone number for the order?",
        "What is the best number to reach you at?", "Could you give me your phone number, please?",
        "And your cell number?", "What's a good callback number?",
        "Can I have a contact number in case there's a problem?",
    ],
    "zip": ["What's your zip code?", "Can I get the billing zip code?", "And the postal code?"],
    "card": [
        "What's the card number?", "Can you read me your rewards number?",
        "Please tell me your membership number.",
    ],
    "qty": [
        "How many?", "How many would you like?", "How many shots?", "How many of those?",
        "How many pumps of syrup?", "How many people is this for?", "How many do you need?",
    ],
    "name": [
        "What name should I put on the order?", "Can I get a name for the order?",
        "Who is this order for?", "What's your name?", "And your last name?",
    ],
    "spell": [
        "Could you spell that for me?", "How do you spell your last name?",
        "Can you spell your name, please?",
    ],
    "address": [
        "What's the delivery address?", "Where should we deliver it?",
        "What address should I send it to?", "Can I get your street address?",
    ],
    "time": [
        "What time would you like to pick it up?", "When do you want it ready?",
        "What time works for you?",
    ],
    "yesno": [
        "Is that correct?", "Do you want whipped cream on that?", "Is this for here?",
        "Should I go ahead and place the order?", "Does that look right?",
        "Please check the screen. Is your order correct?", "Would you like it iced?",
        "Do you want a receipt?", "Okay, that's a large latte with oat milk, right?",
    ],
    "anything": [
        "Would you like anything else?", "Anything else?", "Can I get you anything else?",
        "Will that be all?", "Is that everything?", "Anything else for you today?",
    ],
}  # fmt: skip


@dataclass(frozen=True)
class SynthDialog:
    dialog_id: str
    question: str
    chunks: tuple[str, ...]  # the full answer is " ".join(chunks)
    min_complete: int  # the answer is already complete after this many chunks (optional tail)


def _digits(rng: random.Random, n: int, words: bool) -> list[str]:
    ds = [rng.randrange(10) for _ in range(n)]
    if words:
        return [("oh" if d == 0 and rng.random() < 0.3 else DIGITS[d]) for d in ds]
    return [str(d) for d in ds]


def _grouped(rng: random.Random, groups: list[int]) -> list[str]:
    """Digit groups as chunks: spoken words ("five five five") or digits ("555")."""
    words = rng.random() < 0.6
    out = []
    for g in groups:
        ds = _digits(rng, g, words)
        out.append(" ".join(ds) if words else "".join(ds))
    if not words and rng.random() < 0.3:
        # Deepgram smart-format style "555-123-4567" arrives as one token run
        return ["-".join(out)] if rng.random() < 0.5 else out
    return out


def _answer(rng: random.Random, kind: str) -> tuple[list[str], int]:
    lead = rng.choice(LEADS).strip()
    chunks: list[str]
    tail: list[str] = []  # optional words after a complete answer ("two" + "please")
    if kind == "phone":
        chunks = _grouped(rng, [3, 3, 4])
        if rng.random() < 0.3:
            lead = rng.choice(["my number is", "it's", "you can reach me at", "sure it's"])
    elif kind == "zip":
        chunks = _grouped(rng, [5]) if rng.random() < 0.5 else _grouped(rng, [2, 3])
    elif kind == "card":
        chunks = _grouped(rng, [4, 4, 4, 4])
    elif kind == "qty":
        q = rng.choice(QTY_WORDS) if rng.random() < 0.75 else str(rng.randint(1, 12))
        chunks = [q]
        if rng.random() < 0.3:
            tail = [rng.choice(["please", "of them", "thanks", "total", "I think"])]
        if rng.random() < 0.2:
            chunks = ["just", *chunks]
    elif kind == "name":
        first = rng.choice(NAMES)
        chunks = [first.capitalize() if rng.random() < 0.7 else first]
        if rng.random() < 0.4:
            tail = [rng.choice(SURNAMES).capitalize()]
        if rng.random() < 0.3:
            lead = rng.choice(["it's", "my name is", "put it under", "it's for"])
    elif kind == "spell":
        word = rng.choice(NAMES + SURNAMES)
        sep = rng.choice([" ", " ", "-", ", "])
        letters = list(word.upper() if rng.random() < 0.5 else word)
        # spelled letters arrive in bursts of 2-3 with pauses in between
        chunks = []
        i = 0
        while i < len(letters):
            k = rng.randint(2, 3)
            chunks.append(sep.join(letters[i : i + k]))
            i += k
    elif kind == "address":
        num = _grouped(rng, [rng.randint(2, 4)])
        chunks = [*num, rng.choice(STREETS).capitalize(), rng.choice(STREET_T)]
        if rng.random() < 0.25:
            tail = ["apartment", str(rng.randint(1, 40))]
    elif kind == "time":
        h = rng.choice(["five", "three thirty", "noon", "ten fifteen", "7", "8:30", "nine"])
        chunks = [rng.choice(["at", "around", "by", "maybe around"]), h]
        if h not in ("noon",) and rng.random() < 0.5:
            tail = [rng.choice(["pm", "am", "o'clock", "in the morning", "tomorrow"])]
    elif kind in ("yesno", "anything"):
        lead = rng.choice(["", "", "", "", "um", "uh", "oh", "hmm"])
        if kind == "yesno":
            opts = ["yes", "no", "yeah", "yep", "nope", "yes please", "no thanks", "sure",
                    "correct", "that's right", "yes it is", "no it's not", "uh huh"]  # fmt: skip
        else:
            opts = ["no", "nope", "no thanks", "no thank you", "that's it", "that's all",
                    "nothing else", "no that's everything", "I'm good", "that'll be all"]  # fmt: skip
        chunks = [rng.choice(opts)]
        if rng.random() < 0.3:
            tail = [rng.choice(["that's right", "that's all", "that's it", "thank you"])]
    else:  # pragma: no cover
        raise ValueError(kind)
    if lead:
        chunks = [lead, *chunks]
    return chunks + tail, len(chunks)


def synth_dialogs(n: int, seed: int = 0) -> list[SynthDialog]:
    rng = random.Random(f"synth:{seed}")
    # short complete answers (quantities, yes/no) are the ones text-only models get wrong
    kinds = sorted(QUESTIONS) + ["qty", "yesno", "qty", "anything", "yesno"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        q = rng.choice(QUESTIONS[kind])
        chunks, min_complete = _answer(rng, kind)
        out.append(SynthDialog(f"synth-{kind}-{i:05d}", q, tuple(chunks), min_complete))
    return out
