"""The simulated caller's decisions: given what the agent just said, what it says next.

It follows its goal, not a script: the agent's questions are answered by the goal's `answers`
(first matching rule; `order: match|mismatch` asks the ear whether the agent's words state
the goal's whole order), a drink the caller never asked for gets the `misunderstood` line, requests
are said in order, then the caller says it is `done`, says `confirm` to a read-back that
matches its `want` (and `misunderstood` to one that does not), and `goodbye` once the agent
says the order is placed. It gives up (goodbye) after `max_repairs` failed repairs or when the
agent stops answering.

`decide(text)` has no side effects; `commit(decision)` records that the line was spoken, so
a decision dropped because the agent went on talking leaves the state as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .goals import DEFAULT_GAP, Goal, WantedItem
from .menu_words import addon_name, drinks_named, options_named, read_back_matches, say_order

PLACED = re.compile(
    r"\b(order (is|was|has been|'s) placed|placed (your|the) order|order's placed)\b", re.I
)
NOTHING_YET = re.compile(
    r"haven't ordered|order is empty|nothing (yet|so far)|which drink|what would you like|"
    r"what can i get|say (it|that) again|didn't catch",
    re.I,
)
"""The agent lost the request: after every request was made, the caller restates its order."""
YES_NO = re.compile(r"\b(right|correct|is that it|is that right)\?", re.I)
"""A confirmation question the goal's own `answers` did not cover: yes when the caller's ear
agrees, its repair when not."""
CHOICE = re.compile(r"\bor\b[^.?!]*\?\s*$|\bwhich \w+ would you like\b", re.I)
"""An either/or question ("with oat milk, or with no milk?", "which milk would you like:
...?"): a caller names the option it wants."""
SIGNS_OFF = re.compile(r"\b(?:bye|goodbye|bye-bye)[.!]*\s*$", re.I)
"""A line that ends by saying goodbye ("Oh, my mistake. Bye."): written as the goal's last
request rather than its `goodbye`, it is still the caller leaving."""
DRINK_CHOICE = re.compile(r"\bwas that\b[^?]*\bor\b[^?]*\?", re.I)
"""The agent offers drinks the caller's words matched as well ("was that two Matcha Lattes or
two Mochas?"): a caller names the one it wants, as it wants it."""
OTHER_DRINK = re.compile(r"\b(?:didn't catch|what was) the other (?:drink|one)\b", re.I)
"""The agent caught some of the drinks and asks for the rest: a caller names the one missing."""
MAX_SAME_ANSWER = 3
"""A rule answered this often in a row is not answered again (an agent stuck in a loop)."""
MAX_CLOSING_TRIES = 3
"""`done`/`confirm` said this often without the order being placed: the caller gives up."""


@dataclass(frozen=True)
class Decision:
    text: str
    gap: float
    kind: str
    """request, answer, repair, done, confirm, goodbye, repeat"""
    rule: int | None = None
    """Index of the `answers` rule used."""


@dataclass
class CallerMind:
    goal: Goal
    next_line: int = 0
    repairs: int = 0
    closing_tries: int = 0
    finished: bool = False
    """The caller said goodbye: it says nothing more."""
    heard_placed: bool = False
    """The agent said the order is placed after every request had been made."""
    said: list[Decision] = field(default_factory=list)
    _last_rule: int | None = None
    _same_rule: int = 0

    def restatement(self) -> str:
        """What the caller says when the agent got it wrong: `misunderstood`, then the last
        request again (or, once every request is made, the whole order in its words)."""
        if not self.requests_done and self.next_line > 0:
            again = self.goal.lines[self.next_line - 1].say
        elif self.goal.want:
            again = f"I'd like {say_order(self.goal.want)}."
        else:
            again = "I don't want to order anything."
        return f"{self.goal.misunderstood} {again}"

    def possible_lines(self) -> list[str]:
        """Everything this caller may say (to synthesise before the call)."""
        g = self.goal
        prefix = g.misunderstood
        repairs = [f"{prefix} {ln.say}" for ln in g.lines]
        repairs.append(
            f"{prefix} I'd like {say_order(g.want)}." if g.want
            else f"{prefix} I don't want to order anything."
        )  # fmt: skip
        texts = [ln.say for ln in g.lines] + [a.say for a in g.answers] + repairs
        texts += [g.done, g.confirm, g.goodbye, "Yes."]
        texts += [choice_line(o) for w in g.want for o in w.options.values()]
        texts += [choice_line(addon_name(a)) for w in g.want for a in w.addons]
        texts += [drink_choice_line(g.want, w.item) for w in g.want]
        return list(dict.fromkeys(texts))

    @property
    def requests_done(self) -> bool:
        return self.next_line >= len(self.goal.lines)

    def first_line(self) -> Decision:
        line = self.goal.lines[0]
        return Decision(line.say, line.gap, "request")

    def agrees(self, text: str) -> bool:
        """The caller's ear: before every request is made, the agent names no drink the
        caller never mentioned; after, what it reads back is exactly the goal's order."""
        named = {d for d, _, _ in drinks_named(_claims(text))}
        if not named:
            return True
        if self.requests_done:
            return read_back_matches(text, self.goal.want)
        mentioned = {
            d for ln in self.goal.lines[: self.next_line] for d, _, _ in drinks_named(ln.say)
        }
        return named <= mentioned | {w.item for w in self.goal.want}

    def states_the_goal(self, text: str) -> bool:
        """For `answers` rules (`order: match|mismatch`): the agent's words state exactly the
        goal's order, or name no drink once every request has been made. A caller answers
        "anything else?" with "no, that's it" only when its whole order is there, never
        while a request is still to be said (the cappuccino read back before "make that
        decaf")."""
        if drinks_named(text):
            return read_back_matches(text, self.goal.want)
        return self.requests_done

    def decide(self, text: str) -> Decision | None:
        """The next line after the agent said `text` (None: say nothing)."""
        if self.finished:
            return None
        g = self.goal
        if PLACED.search(text) and self.requests_done:
            return Decision(g.goodbye, DEFAULT_GAP, "goodbye")
        if OTHER_DRINK.search(text) and (missing := self.missing_drink(text)) is not None:
            return Decision(drink_choice_line(g.want, missing), DEFAULT_GAP, "answer")
        if (drink := self.choose_drink(text)) is not None:
            return Decision(drink_choice_line(g.want, drink), DEFAULT_GAP, "answer")
        agrees = self.agrees(text)
        whole = self.states_the_goal(text)
        for i, rule in enumerate(g.answers):
            if not rule.when.search(text):
                continue
            if rule.order == "match" and not whole or rule.order == "mismatch" and whole:
                continue
            if self._last_rule == i and self._same_rule >= MAX_SAME_ANSWER:
                continue
            return Decision(rule.say, rule.gap, "answer", rule=i)
        if (picked := self.choose(text)) is not None:
            return Decision(choice_line(picked), DEFAULT_GAP, "answer")
        # (a menu listed with "Which would you like?" names drinks but claims no order)
        claims = _claims(text)
        lost = self.requests_done and not drinks_named(claims) and NOTHING_YET.search(text)
        if not agrees or (lost and g.want):
            if self.repairs < g.max_repairs:
                return Decision(self.restatement(), DEFAULT_GAP, "repair")
            return Decision(g.goodbye, DEFAULT_GAP, "goodbye")
        if YES_NO.search(text) and drinks_named(text):
            return Decision("Yes.", DEFAULT_GAP, "answer")
        if not self.requests_done:
            line = g.lines[self.next_line]
            return Decision(line.say, line.gap, "request")
        if not g.want:
            return Decision(g.goodbye, DEFAULT_GAP, "goodbye")
        if self.closing_tries >= MAX_CLOSING_TRIES:
            return Decision(g.goodbye, DEFAULT_GAP, "goodbye")
        if drinks_named(claims):  # a read-back that matches the goal
            return Decision(g.confirm, DEFAULT_GAP, "confirm")
        return Decision(g.done, DEFAULT_GAP, "done")

    def choose(self, text: str) -> str | None:
        """The goal's option, when `text` offers a choice of options that includes it."""
        # the options of the sentence that asks ("... one iced Mocha and one hot Mocha.
        # Anything else, or shall I place the order?" offers no choice of milk or ice)
        asking = [c for c in re.split(r"(?<=[.!?])\s+", text) if CHOICE.search(c)]
        if not asking:
            return None
        offered = options_named(asking[-1])
        for want in self.goal.want:
            for attr, option in want.options.items():
                if option in offered.get(attr, set()) and len(offered[attr]) > 1:
                    return option
            # "what would you like with the Latte: caramel sauce, ..., or nothing?"
            addons = offered.get("addons", set())
            for addon in want.addons:
                if addon in addons and len(addons) > 1:
                    return addon_name(addon)
        return None

    def choose_drink(self, text: str) -> str | None:
        """The goal's drink (menu_item_id), when `text` offers it among others."""
        if not DRINK_CHOICE.search(text):
            return None
        offered = {d for d, _, _ in drinks_named(text)}
        wanted = {w.item for w in self.goal.want} & offered
        return next(iter(wanted)) if len(offered) > 1 and len(wanted) == 1 else None

    def missing_drink(self, text: str) -> str | None:
        """The first drink of the goal (menu_item_id) that `text` does not name."""
        named = {d for d, _, _ in drinks_named(text)}
        return next((w.item for w in self.goal.want if w.item not in named), None)

    def on_silence(self) -> Decision:
        """The agent has not answered the last line: say it again once, then give up."""
        last = self.said[-1] if self.said else None
        if last is not None and last.kind != "repeat" and not self.finished:
            return Decision(last.text, 0.0, "repeat")
        return Decision(self.goal.goodbye, 0.0, "goodbye")

    def hear(self, text: str) -> None:
        """Note what the agent said (whether or not the caller answers it)."""
        if PLACED.search(text) and self.requests_done:
            self.heard_placed = True

    def commit(self, decision: Decision) -> None:
        if decision.kind == "request":
            self.next_line += 1
            if self.next_line >= len(self.goal.lines) and SIGNS_OFF.search(decision.text):
                self.finished = True  # the last line said goodbye: nothing more to say
        elif decision.kind == "repair":
            self.repairs += 1
        elif decision.kind in ("done", "confirm"):
            self.closing_tries += 1
        elif decision.kind == "goodbye":
            self.finished = True
        if decision.rule is not None:
            self._same_rule = self._same_rule + 1 if self._last_rule == decision.rule else 1
        self._last_rule = decision.rule
        self.said.append(decision)


LISTING = re.compile(
    r"^(we have|we've got|we also have|our most popular)\b|\btry our\b|\bare popular\b", re.I
)
"""A sentence that lists the menu ("We have tea like English Breakfast, Wild Strawberry and
Jin Xuan.") or recommends from it ("If you'd rather skip coffee, try our Hot Chocolate, ...",
"For something sweet, our Mocha and Hot Chocolate are popular."): it offers drinks, it says
nothing about the caller's order."""


def _claims(text: str) -> str:
    """`text` without its menu listings: what the agent says about the order."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(s for s in sentences if not LISTING.search(s))


def drink_choice_line(want: tuple[WantedItem, ...], item: str) -> str:
    """How a caller answers "was that X or Y?": its wanted lines of that drink, in its words
    ("Two mochas with almond milk, please.")."""
    said = say_order(tuple(w for w in want if w.item == item))
    return f"{said[:1].upper()}{said[1:]}, please."


def choice_line(option: str) -> str:
    """How a caller answers an either/or question: the option's name ("Oat Milk, please.")."""
    return f"{option}, please."
