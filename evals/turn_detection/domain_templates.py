"""Templated phone-call exchanges across many service domains, as training text for the
semantic end-of-turn model (issue 13: the coffee-only model learned coffee words, not the shape
of a finished turn).

Each exchange is one agent question and one caller answer built from *segments*. A segment is
a phrase plus whether the answer is already complete when it ends (``closed``): "I need to" /
"book an appointment" (closed) / "for next Tuesday" (closed). The full answer is a positive; a
cut at a word boundary inside a segment or after an open segment is a negative (the caller is
mid-phrase); a cut right after a closed segment is a positive (a complete answer the caller
happened to extend). Fillers (um, uh, you know...), repeated words ("I I", "the the"),
numbers as digits or as words, codes read out in chunks, one-word answers and questions back
to the agent are all generated.

The grammar is generic (request, problem, date, time, number, code, name, address, amount,
yes/no, choice, question back); only the vocabulary is per domain (``DOMAINS``). Written for
this repository; no external text. ``exclude`` drops domains by name, for leave-one-domain-out
runs against the hand-written dev set (``multidomain.py``), whose domain names it shares where
they overlap. The hand-written *test* set's domains are deliberately absent here, and so are its
answers beyond the generic shapes every call shares ("Yes.", "Four of us."):
``tests/test_turn_heldout.py`` checks it (it found the test set's "j smith at gmail dot com"
among the email answers, now replaced).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .examples import Example

Seg = tuple[str, bool]  # (phrase, answer complete after it)

FILLERS = ["um", "uh", "um,", "uh,", "you know,", "like", "so", "er", "hmm"]
LEADS = ["", "", "", "", "Yeah, ", "Yes, ", "Sure, ", "Okay, ", "Um, ", "Uh, ", "So ", "Well, ",
         "Hi, ", "Oh, ", "Right, "]  # fmt: skip
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ONES = DIGITS[1:] + ["ten", "eleven", "twelve", "fifteen", "twenty", "thirty", "forty"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
            "tenth", "eleventh", "twelfth", "fifteenth", "twentieth", "twenty-first",
            "twenty-third", "thirtieth"]  # fmt: skip
FIRST = ["Anna", "Ben", "Carlos", "Dana", "Eli", "Fatima", "George", "Hana", "Ivan", "Julia",
         "Kofi", "Lena", "Marcus", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
         "Uma", "Victor", "Wendy", "Yusuf", "Zoe"]  # fmt: skip
LAST = ["Adams", "Baker", "Chowdhury", "Dubois", "Evans", "Fischer", "Gupta", "Hernandez",
        "Ito", "Jensen", "Kowalski", "Lopez", "Murphy", "Novak", "Okafor", "Petrov", "Rossi",
        "Schmidt", "Tanaka", "Vargas", "Wright", "Zhang"]  # fmt: skip
STREETS = ["Pine", "Willow", "Hillcrest", "River", "Sunset", "Chestnut", "Franklin", "Highland",
           "Lakeview", "Jefferson", "Mill", "Spring", "Church", "Valley"]  # fmt: skip
STREET_T = ["Street", "Avenue", "Road", "Drive", "Lane", "Boulevard", "Court", "Way", "Place"]
CITIES = ["Portland", "Austin", "Chicago", "Phoenix", "Atlanta", "Seattle", "Miami", "Dallas",
          "Detroit", "Nashville", "Houston", "Orlando", "Pittsburgh", "Columbus"]  # fmt: skip


@dataclass(frozen=True)
class Domain:
    name: str
    greeting: str  # the agent's opening question
    requests: tuple[str, ...]  # verb phrases: "book an appointment"
    problems: tuple[str, ...]  # clauses: "my card was declined"
    objects: tuple[str, ...]  # nouns the caller talks about: "the bill"
    choices: tuple[tuple[str, tuple[str, ...]], ...]  # (question, options)
    yesno: tuple[str, ...]  # yes/no questions the agent asks
    ids: tuple[str, ...]  # what id the agent asks for: "account number"


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "clinic",
        "Thank you for calling the medical center, how can I help you?",
        (
            "book an appointment",
            "see a doctor",
            "reschedule my appointment",
            "get my lab results",
            "renew a referral",
            "talk to a nurse",
        ),
        (
            "I've had a fever for two days",
            "my back has been hurting",
            "I missed my appointment",
            "I have a bad cough",
            "my son hurt his wrist",
        ),
        ("the appointment", "my test results", "the referral", "my blood work"),
        (
            ("Would you prefer a morning or afternoon slot?", ("morning", "afternoon", "either")),
            (
                "Do you want to see Doctor Lee or the nurse practitioner?",
                ("Doctor Lee", "the nurse practitioner"),
            ),
        ),
        ("Are you a new patient?", "Is this an emergency?", "Do you have insurance?"),
        ("date of birth", "patient ID", "insurance member number"),
    ),
    Domain(
        "dentist",
        "Bright Smile Dental, how can I help?",
        ("schedule a cleaning", "book a checkup", "get a filling", "cancel my cleaning"),
        ("my tooth is killing me", "I chipped a tooth", "my gums are bleeding"),
        ("the cleaning", "my crown", "the X-rays"),
        (("Is early morning or evening better?", ("early morning", "evening")),),
        ("Have you been here before?", "Is the pain constant?"),
        ("patient number", "date of birth"),
    ),
    Domain(
        "bank",
        "Thank you for calling the bank, what can I help you with?",
        (
            "check my balance",
            "report a lost card",
            "dispute a charge",
            "open a savings account",
            "make a transfer",
            "order new checks",
            "increase my limit",
        ),
        (
            "my card got declined",
            "there's a charge I don't recognize",
            "I can't log in to online banking",
            "my direct deposit didn't come through",
        ),
        ("the charge", "my account", "the transfer", "my debit card", "the statement"),
        (
            ("Checking or savings?", ("checking", "savings", "both")),
            (
                "Would you like the card mailed or picked up at a branch?",
                ("mailed", "picked up", "the branch"),
            ),
        ),
        (
            "Do you still have the card?",
            "Was this transaction made by you?",
            "Would you like to lock the card?",
        ),
        ("last four digits of the card", "account number", "social security number"),
    ),
    Domain(
        "travel",
        "Thanks for calling the airline, how can I help?",
        (
            "change my flight",
            "cancel my booking",
            "add a bag",
            "upgrade my seat",
            "book a flight",
            "check my flight status",
            "get a refund",
        ),
        (
            "my flight was cancelled",
            "I missed my connection",
            "my luggage is lost",
            "I was charged twice",
        ),
        ("the flight", "my booking", "the return flight", "my seat", "the ticket"),
        (
            ("Window or aisle?", ("window", "aisle", "no preference")),
            ("Economy or business class?", ("economy", "business", "premium economy")),
        ),
        (
            "Are you traveling with any children?",
            "Would you like to add insurance?",
            "Do you need a hotel as well?",
        ),
        ("confirmation code", "booking reference", "frequent flyer number"),
    ),
    Domain(
        "hotel",
        "Good afternoon, hotel reservations, how may I help?",
        (
            "book a room",
            "extend my stay",
            "cancel my reservation",
            "request a late checkout",
            "change my dates",
        ),
        (
            "the air conditioning in my room isn't working",
            "I was charged the wrong rate",
            "I left my charger in the room",
        ),
        ("the reservation", "my room", "the booking", "the suite"),
        (
            ("King or two queens?", ("king", "two queens", "a king please")),
            ("Smoking or non smoking?", ("non smoking", "smoking")),
        ),
        ("Will you need breakfast?", "Do you need parking?", "Is this a business trip?"),
        ("reservation number", "loyalty number"),
    ),
    Domain(
        "car rental",
        "Thanks for calling the car rental desk, how can I help?",
        ("rent a car", "extend my rental", "return the car early", "add a driver"),
        ("the car has a flat tire", "I got a scratch on the car", "the car won't start"),
        ("the rental", "the car", "the reservation"),
        (("Compact, midsize or SUV?", ("compact", "midsize", "an SUV")),),
        ("Do you want the insurance?", "Will you return it with a full tank?"),
        ("reservation number", "driver's license number"),
    ),
    Domain(
        "utilities",
        "Electric and gas company, how can I help you today?",
        (
            "start service",
            "stop service",
            "pay my bill",
            "report an outage",
            "set up autopay",
            "schedule a meter reading",
        ),
        ("my power is out", "I smell gas", "my bill is too high", "the meter reading is wrong"),
        ("the bill", "the meter", "my service", "the outage"),
        (("Paper or electronic bills?", ("paper", "electronic", "email")),),
        ("Is the power out for your whole street?", "Are you the account holder?"),
        ("account number", "meter number", "service address"),
    ),
    Domain(
        "telecom",
        "Thanks for calling your mobile provider, what can I do for you?",
        (
            "upgrade my phone",
            "change my plan",
            "add a line",
            "cancel my service",
            "port my number",
            "activate a new SIM",
        ),
        (
            "my internet keeps dropping",
            "I have no signal",
            "my bill went up",
            "my phone was stolen",
        ),
        ("the plan", "my phone", "the router", "my data", "the contract"),
        (("Unlimited or the five gig plan?", ("unlimited", "the five gig plan")),),
        ("Have you restarted the router?", "Do you want to keep your number?"),
        ("phone number on the account", "account PIN", "IMEI number"),
    ),
    Domain(
        "delivery",
        "Parcel services, how can I help?",
        (
            "track a package",
            "reschedule a delivery",
            "change the delivery address",
            "file a claim",
            "schedule a pickup",
        ),
        ("my package never arrived", "the box was damaged", "it was delivered to the wrong house"),
        ("the package", "my parcel", "the delivery", "the box"),
        (("Front door or back door?", ("front door", "back door", "the garage")),),
        ("Do you want a signature required?", "Can the driver leave it with a neighbor?"),
        ("tracking number", "order number"),
    ),
    Domain(
        "insurance",
        "Thanks for calling the insurance line, how can I help?",
        ("file a claim", "get a quote", "update my policy", "add a driver", "cancel my policy"),
        (
            "I was in an accident",
            "a tree fell on my roof",
            "my car was broken into",
            "my basement flooded",
        ),
        ("the claim", "my policy", "the deductible", "the premium"),
        (("Home or auto?", ("home", "auto", "both")),),
        ("Was anyone hurt?", "Did you file a police report?", "Is the car drivable?"),
        ("policy number", "claim number"),
    ),
    Domain(
        "restaurant",
        "Thanks for calling, how can I help you?",
        ("make a reservation", "order takeout", "book a private room", "cancel my reservation"),
        ("my order was missing an item", "we were overcharged", "I left my wallet there"),
        ("the reservation", "the order", "the table", "the bill"),
        (("Inside or on the patio?", ("inside", "the patio", "wherever")),),
        ("Is it a special occasion?", "Will you need a high chair?"),
        ("phone number for the reservation", "order number"),
    ),
    Domain(
        "pharmacy",
        "Pharmacy, how can I help you?",
        (
            "refill a prescription",
            "transfer a prescription",
            "check on my order",
            "get a flu shot",
            "talk to the pharmacist",
        ),
        ("my prescription isn't ready", "I ran out of my medication", "the insurance was rejected"),
        ("the prescription", "my medication", "the refill", "the pills"),
        (("Pick up or delivery?", ("pick up", "delivery")),),
        ("Do you have any allergies?", "Is it the same dose as before?"),
        ("prescription number", "date of birth"),
    ),
    Domain(
        "car service",
        "Auto service center, how can I help?",
        (
            "schedule an oil change",
            "get my brakes checked",
            "book an inspection",
            "rotate my tires",
            "get a quote for repairs",
        ),
        (
            "my check engine light came on",
            "the car is making a weird noise",
            "the battery is dead",
            "the AC stopped working",
        ),
        ("the car", "my truck", "the brakes", "the tires", "the engine"),
        (("Drop off or wait?", ("drop off", "wait", "I'll wait")),),
        ("Is it still drivable?", "Do you need a ride?"),
        ("license plate number", "VIN", "mileage"),
    ),
    Domain(
        "apartment rental",
        "Leasing office, how can I help you?",
        (
            "schedule a tour",
            "renew my lease",
            "submit a maintenance request",
            "pay my rent",
            "break my lease",
        ),
        (
            "my heater isn't working",
            "the toilet is leaking",
            "there's mold in the bathroom",
            "my neighbor is too loud",
        ),
        ("the lease", "my unit", "the rent", "the deposit"),
        (("One bedroom or two?", ("one bedroom", "two", "a studio")),),
        ("Do you have pets?", "Is it an emergency?"),
        ("unit number", "tenant ID"),
    ),
    Domain(
        "hair salon",
        "Salon, how can I help?",
        ("book a haircut", "get my hair colored", "cancel my appointment", "book a manicure"),
        ("my color came out wrong", "I'm running late"),
        ("the appointment", "my cut", "the color"),
        (("Any stylist preference?", ("no preference", "Jamie", "whoever's free")),),
        ("Have you been here before?", "Is it just a trim?"),
        ("phone number",),
    ),
    Domain(
        "plumbing",
        "Plumbing and heating, how can I help?",
        ("get a quote", "schedule a repair", "install a water heater", "unclog a drain"),
        (
            "my pipe burst",
            "the water heater is leaking",
            "the sink is backed up",
            "there's no hot water",
        ),
        ("the pipe", "the water heater", "the drain", "the toilet"),
        (("Is it the kitchen or the bathroom?", ("the kitchen", "the bathroom", "both")),),
        ("Is water still leaking?", "Have you turned off the main valve?"),
        ("service address", "phone number"),
    ),
    Domain(
        "retail returns",
        "Customer service, how can I help?",
        (
            "return an item",
            "exchange a jacket",
            "check an order",
            "get a refund",
            "cancel an order",
        ),
        (
            "I got the wrong size",
            "the item arrived broken",
            "I was charged twice",
            "my order never shipped",
        ),
        ("the order", "the item", "the refund", "my jacket", "the shoes"),
        (("Refund or store credit?", ("refund", "store credit")),),
        ("Do you still have the receipt?", "Is the item unused?"),
        ("order number", "email on the order"),
    ),
    Domain(
        "subscriptions",
        "Member services, how can I help?",
        ("cancel my subscription", "pause my membership", "change my plan", "update my card"),
        ("I was charged after I cancelled", "I can't log in", "the app keeps crashing"),
        ("the subscription", "my membership", "the charge", "my account"),
        (("Monthly or yearly?", ("monthly", "yearly", "annual")),),
        ("Would you like a discount to stay?", "Do you want to keep your data?"),
        ("email address", "member number"),
    ),
    Domain(
        "food delivery",
        "Food delivery support, how can I help?",
        ("report a missing item", "cancel my order", "get a refund", "change my address"),
        ("my food never came", "the order was cold", "the driver went to the wrong address"),
        ("the order", "my food", "the driver", "the refund"),
        (("Refund to the card or credits?", ("the card", "credits")),),
        ("Did you get any of the order?", "Was the bag sealed?"),
        ("order number", "phone number"),
    ),
    Domain(
        "city services",
        "City services line, how can I help?",
        ("report a pothole", "request a bulk pickup", "pay a parking ticket", "get a permit"),
        ("my trash wasn't picked up", "the streetlight is out", "there's a fallen tree"),
        ("the pothole", "the permit", "the ticket", "the pickup"),
        (("Online or by mail?", ("online", "by mail")),),
        ("Is it blocking the road?", "Is this a residential address?"),
        ("ticket number", "address of the problem"),
    ),
)


# domains close enough that leaving one out must leave out the others too
RELATED: dict[str, tuple[str, ...]] = {
    "clinic": ("dentist", "pharmacy"),
    "dentist": ("clinic",),
    "pharmacy": ("clinic",),
    "car service": ("car rental",),
    "car rental": ("car service",),
    "delivery": ("food delivery", "retail returns"),
    "food delivery": ("delivery", "restaurant"),
    "restaurant": ("food delivery",),
    "apartment rental": ("plumbing",),
    "utilities": ("telecom", "city services"),
    "telecom": ("utilities", "subscriptions"),
    "travel": ("hotel", "car rental"),
    "hotel": ("travel",),
    "bank": ("insurance", "subscriptions"),
    "insurance": ("bank",),
}


def _num_words(n: int, rng: random.Random) -> str:
    """``n`` as a speaker might say it (digits-as-words, or digits)."""
    if rng.random() < 0.5:
        return str(n)
    if n < 10:
        return DIGITS[n]
    teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen"]  # fmt: skip
    tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    if n < 20:
        return teens[n - 10]
    if n < 100:
        return tens[n // 10] + ("" if n % 10 == 0 else "-" + DIGITS[n % 10])
    if n < 1000:
        rest = n % 100
        head = DIGITS[n // 100] + " hundred"
        return head if rest == 0 else head + " and " + _num_words(rest, random.Random(0))
    th = n // 1000
    rest = n % 1000
    head = _num_words(th, random.Random(1)) + " thousand"
    return head if rest == 0 else head + " " + _num_words(rest, random.Random(0))


def _digit_chunks(rng: random.Random, n_digits: int, groups: list[int]) -> list[str]:
    """A number read out in groups: "555" / "five five five" / "double five five"."""
    out = []
    as_words = rng.random() < 0.55
    for g in groups:
        ds = [rng.randint(0, 9) for _ in range(g)]
        if as_words:
            words = [("oh" if d == 0 and rng.random() < 0.4 else DIGITS[d]) for d in ds]
            out.append(" ".join(words))
        else:
            out.append(
                "".join(str(d) for d in ds) if rng.random() < 0.6 else " ".join(map(str, ds))
            )
    return out


def _code_chunks(rng: random.Random) -> list[str]:
    n = rng.randint(5, 8)
    chars = [rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") if rng.random() < 0.4 else str(rng.randint(0, 9))
             for _ in range(n)]  # fmt: skip
    if rng.random() < 0.5:
        return chars
    k = rng.randint(2, 3)
    return [" ".join(chars[i : i + k]) for i in range(0, n, k)]


def _open(words: str) -> list[Seg]:
    """A phrase whose words are all mid-phrase points but the last (closed)."""
    return [(words, True)]


def _lead(rng: random.Random) -> list[Seg]:
    lead = rng.choice(LEADS).strip()
    return [(lead, False)] if lead else []


def ans_request(d: Domain, rng: random.Random) -> list[Seg]:
    opener = rng.choice(["I need to", "I'd like to", "I want to", "I'm calling to", "I was hoping to",
                         "I'm trying to", "Can I", "Could you help me", "I have to", "I just want to"])  # fmt: skip
    segs = _lead(rng) + [(opener, False), (rng.choice(d.requests), True)]
    r = rng.random()
    if r < 0.25:
        segs += [(rng.choice(["for", "on", "by"]), False), (rng.choice(DAYS), True)]
    elif r < 0.4:
        segs += [(rng.choice(["please", "if possible", "today", "this week"]), True)]
    elif r < 0.55:
        segs += [(rng.choice(["and", "and also", "but"]), False),
                 (rng.choice(["ask about", "check on", "change"]), False),
                 (rng.choice(d.objects), True)]  # fmt: skip
    if rng.random() < 0.25:
        segs[-1] = (segs[-1][0] + rng.choice(["?", "."]), True)
    return segs


def ans_problem(d: Domain, rng: random.Random) -> list[Seg]:
    segs = _lead(rng)
    if rng.random() < 0.4:
        segs += [(rng.choice(["I'm calling because", "The problem is", "So basically", "It's just that"]), False)]  # fmt: skip
    segs += [(rng.choice(d.problems), True)]
    r = rng.random()
    if r < 0.3:
        segs += [(rng.choice(["and", "but", "so"]), False),
                 (rng.choice(["I don't know what to do", "I need it fixed", "nobody called me back",
                              "I'd like a refund", "I need help with that"]), True)]  # fmt: skip
    elif r < 0.5:
        segs += [(rng.choice(["since", "after", "as of"]), False),
                 (rng.choice(["yesterday", "last week", "this morning", "Monday"]), True)]  # fmt: skip
    return segs


def _ordinal_digits(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ans_date(d: Domain, rng: random.Random) -> list[Seg]:
    r = rng.random()
    if r < 0.15:
        return [(rng.choice(DAYS), True)]
    if r < 0.3:
        return [(rng.choice([rng.choice(MONTHS), "the " + _ordinal_digits(rng.randint(1, 31)),
                             "next " + rng.choice(["week", "month", "Monday", "Friday"]),
                             "tomorrow", "today", "in two weeks"]), True)]  # fmt: skip
    if r < 0.55:
        return _lead(rng) + [(rng.choice(["next", "this", "on"]), False), (rng.choice(DAYS), True)]
    if r < 0.8:
        return _lead(rng) + [(rng.choice(MONTHS), False), (rng.choice(ORDINALS), True)]
    return _lead(rng) + [(rng.choice(["the", "on the"]), False), (rng.choice(ORDINALS), True),
                         (rng.choice(["of", ""]) or "of", False), (rng.choice(MONTHS), True)]  # fmt: skip


def ans_time(d: Domain, rng: random.Random) -> list[Seg]:
    h = rng.randint(1, 12)
    m = rng.choice([0, 15, 30, 45])
    hs = _num_words(h, rng)
    segs = _lead(rng)
    if rng.random() < 0.4:
        segs.append((rng.choice(["around", "at", "maybe", "about"]), False))
    if m:
        segs += [(hs, False), (_num_words(m, rng), True)]
    else:
        segs += [(hs, True)]
    if rng.random() < 0.3:
        segs.append((rng.choice(["in the morning", "p m", "a m", "if that works"]), True))
    return segs


def ans_id(d: Domain, rng: random.Random) -> list[Seg]:
    segs = _lead(rng)
    if rng.random() < 0.4:
        segs.append((rng.choice(["it's", "my number is", "the number is", "I have it here, it's"]), False))  # fmt: skip
    kind = rng.random()
    if kind < 0.45:
        chunks = _digit_chunks(rng, 10, rng.choice([[3, 3, 4], [4, 4], [2, 2, 2, 2], [4], [3, 4]]))
    elif kind < 0.8:
        chunks = _code_chunks(rng)
    else:
        chunks = _digit_chunks(rng, 8, [1] * rng.randint(4, 8))
    segs += [(c, False) for c in chunks[:-1]] + [(chunks[-1], True)]
    return segs


def ans_name(d: Domain, rng: random.Random) -> list[Seg]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    r = rng.random()
    if r < 0.3:
        return [(last, True)]
    segs = _lead(rng)
    if rng.random() < 0.5:
        segs.append((rng.choice(["it's", "my name is", "it's under", "the name is"]), False))
    segs += [(first, False), (last, True)]
    if rng.random() < 0.2:
        segs += [(rng.choice(["that's", "spelled"]), False)] + [(c, False) for c in last[:-1].upper()] + [(last[-1].upper(), True)]  # fmt: skip
    return segs


def ans_address(d: Domain, rng: random.Random) -> list[Seg]:
    segs = _lead(rng)
    if rng.random() < 0.3:
        segs.append((rng.choice(["it's", "I live at", "the address is"]), False))
    segs += [(_num_words(rng.randint(1, 9999), rng), False), (rng.choice(STREETS), False),
             (rng.choice(STREET_T), True)]  # fmt: skip
    r = rng.random()
    if r < 0.3:
        segs += [(rng.choice(["apartment", "unit", "suite"]), False), (str(rng.randint(1, 40)) + rng.choice(["", "B", "A"]), True)]  # fmt: skip
    elif r < 0.5:
        segs += [(rng.choice(CITIES), True)]
    return segs


def ans_amount(d: Domain, rng: random.Random) -> list[Seg]:
    n = rng.choice([5, 12, 20, 45, 60, 75, 100, 150, 250, 300, 500, 1200, 2000, 2500])
    segs = _lead(rng)
    if rng.random() < 0.4:
        segs.append((rng.choice(["about", "around", "maybe", "up to", "less than"]), False))
    words = _num_words(n, rng).split()
    segs += [(w, False) for w in words[:-1]] + [(words[-1], True)]
    if rng.random() < 0.5:
        segs.append((rng.choice(["dollars", "bucks", "a month"]), True))
    return segs


COUNT_NOUNS = ("cats", "dogs", "kids", "bags", "rooms", "cars", "lines", "people", "boxes",
               "tickets", "adults", "nights")  # fmt: skip


def ans_qty(d: Domain, rng: random.Random) -> list[Seg]:
    n = rng.randint(1, 9)
    w = _num_words(n, rng)
    r = rng.random()
    if r < 0.35:
        return [(w, True)]
    if r < 0.5:
        noun = rng.choice(COUNT_NOUNS)
        return [(w, True), ((noun[:-1] if n == 1 else noun) + rng.choice(["", "."]), True)]
    if r < 0.75:
        return _lead(rng) + [(w, True), (rng.choice(["please", "of us", "people", "total"]), True)]
    return [(w, False), (rng.choice(["adults and", "of us and"]), False), (DIGITS[rng.randint(1, 3)], False),
            (rng.choice(["kids", "children", "guests"]), True)]  # fmt: skip


def ans_yesno(d: Domain, rng: random.Random) -> list[Seg]:
    yes = rng.choice(["Yes", "Yeah", "Yep", "No", "Nope", "Sure", "Correct", "Not really",
                      "I think so", "Of course", "Definitely", "No thanks", "Yes please"])  # fmt: skip
    r = rng.random()
    if r < 0.45:
        return [(yes + rng.choice([".", "", "", "!"]), True)]
    if r < 0.8:
        return [(yes + ",", True), (rng.choice(["but", "and", "although", "because"]), False),
                (rng.choice(["I", "it", "my", "the"]), False),
                (rng.choice(["need to check first", "wasn't sure", "wife handles that", "last one expired",
                             "might change later", "was a while ago"]), True)]  # fmt: skip
    return [(yes + ",", True), (rng.choice(["I", "we", "it"]) + " " + rng.choice(["do", "did", "was", "don't", "have"]), True)]  # fmt: skip


def ans_choice(d: Domain, rng: random.Random, options: tuple[str, ...]) -> list[Seg]:
    opt = rng.choice(options)
    r = rng.random()
    if r < 0.5:
        return [(opt[0].upper() + opt[1:], True)]
    if r < 0.8:
        return _lead(rng) + [(rng.choice(["I'd prefer", "I'll take", "let's do", "probably", "I think"]), False),
                             (opt, True)]  # fmt: skip
    return _lead(rng) + [(opt, True), (rng.choice(["if", "unless", "but"]), False),
                         (rng.choice(["that's okay", "it costs more", "it's available"]), True)]  # fmt: skip


SHORT_WH: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Where are you calling from?", tuple(CITIES)),
    ("Which city?", tuple(CITIES)),
    ("Where are you flying to?", tuple(CITIES)),
    ("What color is it?", ("black", "silver", "the blue one", "red", "dark green", "white")),
    ("What's the make of the car?", ("Toyota", "a Honda", "Ford", "Chevy", "Nissan", "Kia")),
    ("Which month?", tuple(MONTHS)),
    ("What's it regarding?", ("billing", "my order", "a refund", "the appointment", "my account")),
    ("What kind of account is it?", ("personal", "business", "a joint account", "checking")),
    ("Who's your current provider?", ("Comcast", "Verizon", "nobody", "AT&T", "I don't have one")),
    ("How did you hear about us?", ("Google", "a friend", "online", "the radio", "my neighbor")),
    (
        "What's the reason for the visit?",
        ("a checkup", "back pain", "my knee", "a rash", "headaches"),
    ),
    ("Which language do you prefer?", ("English", "Spanish", "either is fine")),
    ("What's your email?", ("k wright at outlook dot com", "anna dot lopez at yahoo dot com")),
)


def ans_short(opts: tuple[str, ...], rng: random.Random) -> list[Seg]:
    """A one-to-three word answer to a wh question, sometimes with a lead or a tail."""
    opt = rng.choice(opts)
    r = rng.random()
    if r < 0.6:
        return [(opt[0].upper() + opt[1:] + rng.choice(["", "", "."]), True)]
    if r < 0.85:
        return _lead(rng) + [(rng.choice(["it's", "from", "that's", "it was", "I think"]), False),
                             (opt, True)]  # fmt: skip
    return [(opt, True), (rng.choice(["and", "but", "or maybe"]), False), (rng.choice(opts), True)]


def _short_q(d: Domain, rng: random.Random) -> tuple[str, list[Seg]]:
    q, opts = SHORT_WH[rng.randrange(len(SHORT_WH))]
    return q, ans_short(opts, rng)


def ans_question(d: Domain, rng: random.Random) -> list[Seg]:
    return _lead(rng) + [(rng.choice(["Do you", "Can you", "Is there", "How long does it", "What do I"]), False),
                         (rng.choice(["know", "check", "need", "take", "have"]), False),
                         (rng.choice(["to do that", "a way to fix it", "anything sooner", "for that"]) + "?", True)]  # fmt: skip


_ID_QUESTIONS = ["What's your {id}?", "Can I have your {id}, please?", "Could you read me the {id}?",
                 "And the {id}?", "Can you confirm your {id}?"]  # fmt: skip
_DATE_Q = ["What day works for you?", "When would you like to come in?", "Which date?",
           "When did this happen?", "What date should we schedule it for?"]  # fmt: skip
_TIME_Q = ["What time works best?", "What time would you like?", "Around what time?"]
_NAME_Q = ["Can I get your name?", "What name is it under?", "Who am I speaking with?",
           "And your last name?"]  # fmt: skip
_ADDR_Q = ["What's the address?", "What's the service address?", "Where are you located?",
           "What address should we use?"]  # fmt: skip
_AMT_Q = ["How much was it?", "What's your budget?", "How much would you like to pay?"]
_QTY_Q = ["How many people?", "How many do you need?", "For how many?", "How many of them?"]
_ELSE_Q = ["Is there anything else I can help with?", "Anything else today?", "What else can I do for you?"]  # fmt: skip

Generator = Callable[[Domain, random.Random], tuple[str, list[Seg]]]


def _q(qs: list[str], fn: Callable[[Domain, random.Random], list[Seg]]) -> Generator:
    return lambda d, rng: (rng.choice(qs), fn(d, rng))


GENERATORS: tuple[tuple[float, Generator], ...] = (
    (3.0, lambda d, rng: (d.greeting, ans_request(d, rng))),
    (2.0, lambda d, rng: (d.greeting, ans_problem(d, rng))),
    (2.0, lambda d, rng: (rng.choice(_ID_QUESTIONS).format(id=rng.choice(d.ids)), ans_id(d, rng))),
    (1.5, _q(_DATE_Q, ans_date)),
    (1.0, _q(_TIME_Q, ans_time)),
    (1.0, _q(_NAME_Q, ans_name)),
    (1.0, _q(_ADDR_Q, ans_address)),
    (0.8, _q(_AMT_Q, ans_amount)),
    (0.8, _q(_QTY_Q, ans_qty)),
    (2.5, lambda d, rng: (rng.choice(d.yesno), ans_yesno(d, rng))),
    (1.5, _short_q),
    (1.0, lambda d, rng: (lambda c: (c[0], ans_choice(d, rng, c[1])))(rng.choice(d.choices))),
    (0.8, lambda d, rng: (rng.choice(_ELSE_Q), rng.choice([ans_question, ans_request, ans_yesno])(d, rng))),
    (0.6, lambda d, rng: (rng.choice([d.greeting, *d.yesno]), ans_question(d, rng))),
)  # fmt: skip


def _disfluent(rng: random.Random, segs: list[Seg]) -> list[Seg]:
    """Insert a filler or a repeated word (as its own open segment) somewhere inside."""
    if len(segs) < 2 or rng.random() < 0.6:
        return segs
    i = rng.randint(1, len(segs) - 1)
    if rng.random() < 0.65:
        return segs[:i] + [(rng.choice(FILLERS), False)] + segs[i:]
    first = segs[i][0].split()[0]
    return segs[:i] + [(first, False)] + segs[i:]


def exchange_examples(dialog_id: str, question: str, segs: list[Seg], rng: random.Random,
                      max_cuts: int = 3) -> list[Example]:  # fmt: skip
    """The full answer (positive) and up to ``max_cuts`` prefixes labelled by segment."""
    words: list[str] = []
    labels: list[int] = []  # label of the prefix ending after each word
    for text, closed in segs:
        ws = text.split()
        for j, _ in enumerate(ws):
            words.append(ws[j])
            labels.append(int(closed and j == len(ws) - 1))
    ctx = (question,)
    src = "tpl"
    out = [Example(dialog_id, ctx, " ".join(words), 1, src)]
    cands = list(range(1, len(words)))
    rng.shuffle(cands)
    # prefer mid-phrase cuts: they are what the model must learn to hold
    cands.sort(key=lambda i: labels[i - 1])
    for i in sorted(cands[:max_cuts]):
        out.append(Example(dialog_id, ctx, " ".join(words[:i]), labels[i - 1], src))
    return out


def template_examples(n: int, seed: int = 0, exclude: Iterable[str] = ()) -> list[Example]:
    """``n`` templated exchanges (examples: the full answer + prefixes), domains round-robin."""
    skip = {e.strip().lower() for e in exclude}
    domains = [d for d in DOMAINS if d.name not in skip]
    weights = [w for w, _ in GENERATORS]
    out: list[Example] = []
    for i in range(n):
        d = domains[i % len(domains)]
        did = f"tpl:{d.name}:{i}"
        rng = random.Random(f"tpl:{seed}:{i}")
        _, gen = rng.choices(GENERATORS, weights=weights)[0]
        question, segs = gen(d, rng)
        segs = [(t, c) for t, c in _disfluent(rng, segs) if t.strip()]
        if segs:
            out.extend(exchange_examples(did, question, segs, rng))
    return out


def domain_names() -> list[str]:
    return [d.name for d in DOMAINS]
