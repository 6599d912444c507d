"""`GuidedLLM`: the offline brain's LLM stage, a rules layer around a small local model.

Measured here (Qwen2.5-Coder-1.5B, native tool template, grammar-constrained calls, plus slot
and confirmation rules; 28 caller turns): 11 of 28 turns right, 2-5 s to decode one tool call
on 2 cores. A small model on a small CPU cannot plan the order reliably or quickly, so the
brain splits the work:

- the ordering policy (`policy.OrderPolicy`, fed by `understanding.understand`) decides the
  tool calls from the caller's words and the tools' answers, one step per LLM call, and
  words the replies from the tools' answers: right arguments, a spoken reply after every
  tool result, the order placed only after a read-back and a yes, and no model latency;
- the local model answers what the policy does not understand (small talk, questions
  outside the menu), as text, with a short prompt that carries the menu.

It is an ordinary `llm.LLM`, so `AgentSession`, the tool runtime (timeouts, filler,
idempotency, records) and the side channel see exactly what they see with any other LLM.

Owns: the LLM wrapper and the fallback prompt. Imports: livekit, `policy`, `understanding`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, llm, utils
from livekit.agents.llm import ToolChoice
from livekit.agents.llm.tool_context import Tool
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from .grounding import ASK_AGAIN, Grounding, split_phrases
from .policy import OFF_TOPIC_LINE, Call, Defer, OrderPolicy, Say, parse_output
from .understanding import normalise, understand

logger = logging.getLogger("voice_suite.guided")

MAX_SENTENCES = 2
"""The fallback model's reply is cut after this many sentences (a phone answer is short)."""
_NOT_SPOKEN = re.compile(r"[^\w\s.,!?'\-:;%$&()]+")
"""Characters a voice cannot say (emoji, markdown, symbols): dropped from the model's text."""
_ACKNOWLEDGEMENT = re.compile(
    r"^\s*(sure|okay|ok|alright|all right|great|got it|of course|certainly|absolutely|sorry"
    r"|oh)[,.!]?\s*$",
    re.IGNORECASE,
)
ACK_LINE = "Hmm, "
"""Said when the fallback model has written nothing speakable `ack_delay` seconds into its
turn: the caller hears the agent at once, and the answer follows it. A comma and a space:
LiveKit's markdown filter passes text on up to its last space, and the phrase tokenizer
cuts at a comma at once (a full stop waits for the next word: it may be "3." of "3.50")."""
SAY_AGAIN = "Sorry, could you say that again?"
"""Said after `ACK_LINE` when the model then wrote nothing speakable."""
_CAPITALISED = re.compile(r"^[A-Z](?=[a-z])")
"""A reply's first word after `ACK_LINE` ("We close ..."), which continues the sentence;
not "I", "I'm"."""
ACK_DELAY = 0.3
"""Seconds a model-answered turn waits for the model's first phrase before `ACK_LINE`
(`LOCAL_MODEL_ACK_DELAY`). Measured: `python -m evals.latency --model-turns --compare ack`."""
FALLBACK_HISTORY = 6
"""Conversation items the fallback model sees (plus its prompt): short prompts keep its
first token fast and a long call from ever overflowing its context."""


def fallback_instructions(policy: OrderPolicy) -> str:
    names = ", ".join(sorted(it["name"] for it in policy.menu.items.values()))
    return (
        "You answer the phone at a small coffee bar. Reply in one short spoken sentence, no "
        f"lists. The menu: {names}. Each drink comes in one size. You cannot take or change "
        "orders yourself: if the caller wants to order or change something, ask them to say "
        "the drink again. Never say what is in their order. If the caller wants anything "
        "other than this coffee bar (another business, a wrong number), say that this line "
        "only takes drink orders. Never invent drinks or prices."
    )


class Hearing:
    """The STT's confidence per final transcript of the last few turns. A caller turn may be
    several finals joined; it gets the lowest confidence among the finals it contains."""

    KEEP = 16

    def __init__(self) -> None:
        self._heard: dict[str, float] = {}

    def note(self, text: str, confidence: float) -> None:
        key = normalise(text)
        if not key:
            return
        self._heard[key] = confidence
        while len(self._heard) > self.KEEP:
            self._heard.pop(next(iter(self._heard)))

    def confidence_of(self, text: str) -> float | None:
        said = normalise(text)
        parts = [c for heard, c in self._heard.items() if heard and heard in said]
        return min(parts) if parts else None


@dataclass
class ModelReplyTiming:
    """One model-answered reply, in `time.time()` seconds."""

    KEEP: ClassVar[int] = 64

    start: float
    ack: float | None = None
    """When `ACK_LINE` was passed on (None: the model's words came first)."""
    words: float | None = None
    """When the model's first admitted phrase (or the line replacing it) was passed on."""


class GuidedLLM(llm.LLM):
    def __init__(
        self,
        fallback: llm.LLM,
        *,
        policy: OrderPolicy | None = None,
        ack_delay: float | None = ACK_DELAY,
    ) -> None:
        """`fallback`: the model for what the ordering policy does not understand.
        `ack_delay`: seconds into a model-answered turn after which, if the model has
        written nothing speakable yet, the reply starts with `ACK_LINE`; `None` = never."""
        super().__init__()
        if ack_delay is not None and ack_delay < 0:
            raise ValueError(f"ack_delay must be >= 0 seconds or None, got {ack_delay!r}")
        self.ack_delay = ack_delay
        self._fallback = fallback
        self.policy = policy or OrderPolicy()
        self._turn_start: tuple[tuple[str, ...], OrderPolicy] | None = None
        """The conversation before the current caller turn, and the policy as it was then."""
        self._issued: dict[str, str] = {}
        """call_id -> tool name of the calls the policy made in the current step."""
        self.grounding = Grounding.for_menu(it["name"] for it in self.policy.menu.items.values())
        self._prefills: set[asyncio.Future[Any]] = set()
        self.prefill_after_reply = True
        """`after_reply` prefills the fallback's next prompt (off only to measure it:
        `python -m evals.latency --model-turns`)."""
        self.hearing = Hearing()
        """The STT's confidence in what it heard, fed by the agent's STT node."""
        self.model_replies = 0
        """Replies the fallback model wrote (the rest came from the ordering policy)."""
        self.replaced: list[tuple[str, str]] = []
        """(verdict, phrase) of each fallback phrase the grounding check kept from the TTS."""
        self.model_timings: list[ModelReplyTiming] = []
        """When each model-answered reply started, was acknowledged and first had words of
        the model's own (wall clock; the last `ModelReplyTiming.KEEP`)."""

    def note_hearing(self, text: str, confidence: float) -> None:
        """A final transcript and the STT's confidence in it (0..1)."""
        self.hearing.note(text, confidence)

    def note_replaced(self, verdict: str, phrase: str) -> None:
        self.replaced.append((verdict, phrase))
        logger.info("fallback phrase not spoken (%s)", verdict)

    @property
    def model(self) -> str:
        return f"guided/{self._fallback.model}"

    @property
    def provider(self) -> str:
        return self._fallback.provider

    @property
    def fallback(self) -> llm.LLM:
        return self._fallback

    def prewarm(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._fallback.prewarm(loop=loop)

    async def warm_prompt(self, chat_ctx: llm.ChatContext, tools: list[Tool] | None = None) -> None:
        """Pre-compute the fallback model's prompt (its KV cache) while the greeting plays."""
        warm = getattr(self._fallback, "warm_prompt", None)
        if warm is not None:
            await warm(self.fallback_context(chat_ctx), [])

    def fallback_context(
        self, chat_ctx: llm.ChatContext, *, keep: int = FALLBACK_HISTORY
    ) -> llm.ChatContext:
        ctx = llm.ChatContext.empty()
        ctx.add_message(role="system", content=fallback_instructions(self.policy))
        said = [
            it
            for it in chat_ctx.items
            if it.type == "message" and it.role in ("user", "assistant") and it.text_content
        ]
        for it in said[-keep:]:
            assert it.type == "message"
            ctx.add_message(role=it.role, content=it.text_content or "")
        return ctx

    def after_reply(self, chat_ctx: llm.ChatContext, reply: str) -> None:
        """A reply was just written: let the fallback model evaluate the prompt its next turn
        will start with (its instructions and the last said items up to this reply) while
        the reply plays and the caller answers, so a model-answered turn pays only for the
        caller's new words (llama.cpp's prefix reuse; measured 2.0 s -> 0.5 s to the first
        token, docs/latency.md). Nothing waits on it, and a request stops it."""
        prefill = getattr(self._fallback, "prefill", None)
        if prefill is None or not reply.strip() or not self.prefill_after_reply:
            return
        ctx = chat_ctx.copy()
        ctx.add_message(role="assistant", content=reply)
        task = asyncio.ensure_future(prefill(self.fallback_context(ctx, keep=FALLBACK_HISTORY - 1)))
        self._prefills.add(task)
        task.add_done_callback(self._prefill_done)

    def _prefill_done(self, task: asyncio.Future[Any]) -> None:
        self._prefills.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("prefilling the fallback model failed: %s", task.exception())

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        step = self._decide(chat_ctx, tools or [], tool_choice)
        if isinstance(step, Defer):
            inner = self._fallback.chat(
                chat_ctx=self.fallback_context(chat_ctx), conn_options=conn_options
            )
            return _SpokenStream(
                self, inner, chat_ctx=chat_ctx, tools=tools or [], conn=conn_options
            )
        return _ScriptedStream(self, step, chat_ctx=chat_ctx, tools=tools or [], conn=conn_options)

    def _decide(
        self, chat_ctx: llm.ChatContext, tools: list[Tool], tool_choice: NotGivenOr[ToolChoice]
    ) -> Call | Say | Defer:
        names = {
            t.info.name for t in tools if isinstance(t, (llm.FunctionTool, llm.RawFunctionTool))
        }
        items = chat_ctx.items
        last = items[-1] if items else None
        if last is None:
            return Defer("empty context")
        if last.type == "message" and last.role == "user":
            self._issued.clear()
            self._start_caller_turn(tuple(it.id for it in items[:-1]))
            turn = understand(last.text_content or "")
            turn.confidence = self.hearing.confidence_of(turn.text)
            step = self.policy.on_caller(turn, names)
        elif last.type == "function_call_output" and last.call_id in self._issued:
            outputs = {
                it.call_id: (it.name, parse_output(it.output), it.is_error)
                for it in items
                if it.type == "function_call_output" and it.call_id in self._issued
            }
            results = [outputs[cid] for cid in self._issued if cid in outputs]
            self._issued.clear()
            step = self.policy.on_results(results)
        else:
            return Defer("not the policy's turn")
        if isinstance(step, Call):
            if tool_choice == "none" or any(c.name not in names for c in step.calls):
                return Defer("tools unavailable for this step")
            return step
        return step

    def _start_caller_turn(self, before: tuple[str, ...]) -> None:
        """A caller turn after the conversation `before` (its items' ids). LiveKit asks
        about one turn more than once: a preemptive generation (started on the STT's final
        transcript, on by default) is discarded when the caller goes on, and the step runs
        again with the longer transcript; a fallback chain retries a failed attempt. The
        policy keeps state between turns (a drink waiting for its yes), so every attempt
        starts from the state the turn's first attempt started from."""
        keep = {id(self.policy.menu): self.policy.menu}  # the menu is read-only: shared
        if self._turn_start is not None and self._turn_start[0] == before:
            # in place: whoever holds the policy keeps holding the one that answers
            vars(self.policy).update(vars(copy.deepcopy(self._turn_start[1], keep)))
            return
        self._turn_start = (before, copy.deepcopy(self.policy, keep))

    def issue(self, call: Call) -> list[llm.FunctionToolCall]:
        out = []
        for c in call.calls:
            call_id = f"call_{utils.shortuuid()}"
            self._issued[call_id] = c.name
            out.append(
                llm.FunctionToolCall(
                    name=c.name, arguments=json.dumps(c.arguments), call_id=call_id
                )
            )
        return out


class _ScriptedStream(llm.LLMStream):
    """One step of the policy as a stream: tool calls, or the reply's text."""

    def __init__(
        self,
        owner: GuidedLLM,
        step: Call | Say,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool],
        conn: APIConnectOptions,
    ) -> None:
        super().__init__(owner, chat_ctx=chat_ctx, tools=tools, conn_options=conn)
        self._owner = owner
        self._step = step

    async def _run(self) -> None:
        rid = utils.shortuuid("guided_")
        if isinstance(self._step, Call):
            delta = llm.ChoiceDelta(role="assistant", tool_calls=self._owner.issue(self._step))
        else:
            delta = llm.ChoiceDelta(role="assistant", content=self._step.text)
            self._owner.after_reply(self._chat_ctx, self._step.text)
        self._event_ch.send_nowait(llm.ChatChunk(id=rid, delta=delta))


class _SpokenStream(llm.LLMStream):
    """The fallback model's reply, made speakable and grounded, phrase by phrase: symbols
    and emoji dropped, at most `MAX_SENTENCES` sentences, and every phrase checked by
    `grounding` before it is passed on (so the TTS may start on the first short phrase). A
    phrase that claims an order change ends the reply with a question instead; the model's
    stream is closed then, which stops it."""

    def __init__(
        self,
        owner: GuidedLLM,
        inner: llm.LLMStream,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool],
        conn: APIConnectOptions,
    ) -> None:
        super().__init__(owner, chat_ctx=chat_ctx, tools=tools, conn_options=conn)
        self._owner = owner
        self._inner = inner
        self._said = ""
        self._rid = utils.shortuuid("guided_")
        self._timing = ModelReplyTiming(start=time.time())

    async def _run(self) -> None:
        timings = self._owner.model_timings
        timings.append(self._timing)
        del timings[: -ModelReplyTiming.KEEP]
        delay = self._owner.ack_delay
        ack = None
        if delay is not None:
            ack = asyncio.get_running_loop().call_later(delay, self._acknowledge)
        try:
            await self._speak()
        finally:
            if ack is not None:
                ack.cancel()
            self._owner.after_reply(self._chat_ctx, self._said)

    def _acknowledge(self) -> None:
        """The model has written nothing speakable yet: let the caller hear the agent."""
        if self._said or self._event_ch.closed:
            return
        self._timing.ack = time.time()
        self._send(self._rid, ACK_LINE)

    def _send(self, rid: str, text: str, *, words: bool = False) -> None:
        if words and self._timing.words is None:
            self._timing.words = time.time()
            if self._timing.ack is not None:  # "Hmm, we close ..."
                text = _CAPITALISED.sub(lambda m: m[0].lower(), text.lstrip(), count=1)
        self._said += text
        self._event_ch.send_nowait(
            llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", content=text))
        )

    async def _speak(self) -> None:
        self._owner.model_replies += 1
        sentences = 0
        buffer = ""
        rid = self._rid
        said_any = False

        held = ""
        """A bare "Sure," waits for the phrase after it: dropped with it if that is replaced."""

        def admit(phrase: str) -> bool:
            """Pass one phrase on, or replace the reply; False ends the reply."""
            nonlocal sentences, said_any, held
            verdict = self._owner.grounding.check_phrase(phrase)
            if verdict == "drop":
                self._owner.note_replaced(verdict, phrase)
                return True
            if verdict in ("claim", "foreign"):
                self._owner.note_replaced(verdict, phrase)
                line = ASK_AGAIN if verdict == "claim" else OFF_TOPIC_LINE
                self._send(rid, (" " if said_any else "") + line, words=True)
                held, said_any = "", True
                return False
            if _ACKNOWLEDGEMENT.match(phrase) and not held and not said_any:
                held = phrase
                return True
            if phrase.strip():
                self._send(rid, held + phrase, words=True)
                held = ""
                said_any = True
            if re.search(r"[.!?]\s*$", phrase):
                sentences += 1
            return sentences < MAX_SENTENCES

        async with self._inner as inner:
            async for chunk in inner:
                delta = chunk.delta
                rid = chunk.id or rid
                if delta is None or not delta.content:
                    if delta is not None and delta.tool_calls:
                        continue  # the fallback answers in words; it has no tools here
                    self._event_ch.send_nowait(chunk)
                    continue
                buffer += _NOT_SPOKEN.sub("", delta.content)
                phrases, buffer = split_phrases(buffer)
                for phrase in phrases:
                    if not admit(phrase):
                        return
        if buffer.strip():
            admit(buffer)
        if held and not said_any:
            self._send(rid, held, words=True)  # the reply was only "Sure."
        elif not said_any and self._timing.ack is not None:
            # "Hmm," and then nothing speakable: never leave the caller on a bare filler
            self._send(rid, SAY_AGAIN, words=True)
