"""The generation thread: runs llama.cpp (blocking) off the event loop and streams its output
back as ChatChunks; closing the stream stops generation at the next token."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from livekit.agents import APIError, llm, utils

from .logits import text_only_processor, tool_bias_processor
from .model_cache import LoadedModel
from .models import ToolMode
from .options import LLMOptions
from .prompt import render_prompt
from .tool_calls import TOOL_CALL_MAX_TOKENS, ToolSpec, parse_tool_call, tool_call_grammar

Post = Callable[[llm.ChatChunk | BaseException | None], None]
"""Hands one item to the event loop: a chunk, a failure, or None (done)."""


async def run_in_thread(
    generate: Callable[[Post, threading.Event], None], send: Callable[[llm.ChatChunk], None]
) -> None:
    """Run `generate(post, stop)` in the default executor and `send` every chunk it posts, on
    the event loop; its failures are raised here as APIError. When this coroutine ends early
    (stream closed on barge-in, or failed) `stop` is set and the thread returns at its next
    token."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[llm.ChatChunk | BaseException | None] = asyncio.Queue()
    stop = threading.Event()

    def post(item: llm.ChatChunk | BaseException | None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # loop closed: nobody is listening any more
            stop.set()

    def work() -> None:
        try:
            generate(post, stop)
        except BaseException as e:
            post(e)
        finally:
            post(None)

    worker = loop.run_in_executor(None, work)
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, APIError):
                raise item
            if isinstance(item, BaseException):
                raise APIError(f"llama.cpp generation failed: {item}", retryable=False) from item
            send(item)
    finally:
        # closed early (barge-in) or failed: the worker stops at its next token
        stop.set()
    await worker


def fit_prompt(model: LoadedModel, messages: list[dict[str, str]], budget: int) -> list[int]:
    """The prompt's tokens, the oldest turns dropped (the system turn and the latest turn
    kept) until it fits `budget` tokens: a long call never overflows the context window, the
    model just forgets its beginning (the tools' read-backs keep the order itself current).
    Raises APIError only when the system turn and the latest turn alone do not fit."""
    system = messages[:1] if messages and messages[0]["role"] == "system" else []
    turns = messages[len(system) :]
    while True:
        prompt = render_prompt(model, system + turns)
        tokens: list[int] = model.llama.tokenize(prompt.encode(), add_bos=False, special=True)
        if len(tokens) <= budget:
            return tokens
        if len(turns) <= 1:
            raise APIError(
                f"prompt of {len(tokens)} tokens does not fit the context window "
                f"({budget} tokens left for it)",
                retryable=False,
            )
        # drop the oldest turn; a conversation restarts on a user turn, as templates expect
        turns = turns[1:]
        while len(turns) > 1 and turns[0]["role"] != "user":
            turns = turns[1:]


def reusable_prefix(model: LoadedModel, prompt_tokens: list[int]) -> int:
    """Prompt tokens llama-cpp-python will take from the KV cache instead of evaluating: the
    prefix shared with what the model evaluated last, less the last prompt token when the
    whole prompt is cached (it is replayed to get fresh logits), unless the cache ends
    exactly there with live logits."""
    shared = model.cached_prefix(prompt_tokens)
    if shared < len(prompt_tokens):
        return shared
    llama = model.llama
    if llama.n_tokens == len(prompt_tokens) and not getattr(llama, "_requires_eval", True):
        return shared
    return max(0, shared - 1)


PREFILL_CHUNK = 32
"""Tokens evaluated between two looks at whether a request wants the model: a caller's turn
waits for at most one chunk of a prefill (~0.1-0.3 s on one thread), never for all of it."""


def prefill(model: LoadedModel, tokens: list[int], *, chunk: int = PREFILL_CHUNK) -> int:
    """Evaluate `tokens` into the KV cache (blocking, in a worker thread), reusing the prefix
    already there; stops early, keeping what it evaluated, when a request wants the model.
    Returns the tokens evaluated."""
    if model.wanted():
        model.count(prefills=1, preempted_prefills=1)
        return 0
    with model.lock:
        llama = model.llama
        start = model.cached_prefix(tokens)
        model.count(prefills=1)
        if start >= len(tokens):
            return 0
        # keep the shared prefix; `eval` drops the KV cells after n_tokens before writing
        llama.n_tokens = start
        done = start
        while done < len(tokens):
            if model.wanted():
                model.count(preempted_prefills=1)
                break
            batch = tokens[done : done + chunk]
            llama.eval(batch)
            done += len(batch)
            model.count(evaluated_tokens=len(batch))
        return done - start


def generate(
    model: LoadedModel,
    opts: LLMOptions,
    *,
    request_id: str,
    messages: list[dict[str, str]],
    specs: list[ToolSpec],
    mode: ToolMode,
    replying_to_user: bool,
    post: Post,
    stop: threading.Event,
) -> None:
    """One reply (blocking, in the worker thread): text streamed token by token, or one tool
    call, then the usage. "auto" starts as text and switches to the tool-call grammar when the
    reply opens with '<'."""
    from llama_cpp import LlamaGrammar

    with model.for_request():
        if stop.is_set():
            return
        prompt_tokens = fit_prompt(model, messages, opts.n_ctx - TOOL_CALL_MAX_TOKENS)
        reused = 0

        def completion(**kwargs: Any) -> Iterator[Any]:
            nonlocal reused
            reused = reusable_prefix(model, prompt_tokens)
            model.count(
                requests=1,
                prompt_tokens=len(prompt_tokens),
                reused_tokens=reused,
                evaluated_tokens=len(prompt_tokens) - reused,
            )
            return model.llama.create_completion(  # type: ignore[return-value]
                prompt=prompt_tokens,
                stream=True,
                temperature=opts.temperature,
                top_p=opts.top_p,
                repeat_penalty=opts.repeat_penalty,
                seed=opts.seed,
                stop=[model.eos_token],
                **kwargs,
            )

        completion_text = ""
        if mode in ("text", "auto"):
            # The grammar's text alternative is `[^<] .*`: only the first character is
            # constrained, so it is enforced here instead of by a per-token grammar over the
            # whole vocabulary (which costs ~5x the generation time on 2 cores). "text"
            # bans '<' tokens; "auto" switches to the tool-call grammar when '<' comes.
            processor = (
                text_only_processor(model)
                if mode == "text"
                else tool_bias_processor(model, len(prompt_tokens), opts.tool_call_bias)
                if opts.tool_call_bias and replying_to_user
                else None
            )
            stream = completion(max_tokens=opts.max_tokens, logits_processor=processor)
            pending = ""
            switch_to_tool = False
            try:
                for chunk in stream:
                    if stop.is_set():
                        return
                    piece: str = chunk["choices"][0]["text"]
                    if not completion_text:
                        pending += piece
                        if not pending.strip():
                            continue
                        if pending.lstrip().startswith("<"):
                            switch_to_tool = True
                            break
                        piece, pending = pending.lstrip(), ""
                    completion_text += piece
                    post(_content_chunk(request_id, piece))
            finally:
                stream.close()  # type: ignore[attr-defined]
            if not switch_to_tool:
                post(_usage_chunk(model, request_id, prompt_tokens, completion_text, reused))
                return
            mode = "tool"

        grammar = LlamaGrammar.from_string(tool_call_grammar(specs), verbose=False)
        stream = completion(max_tokens=TOOL_CALL_MAX_TOKENS, grammar=grammar)
        try:
            for chunk in stream:
                if stop.is_set():
                    return
                completion_text += chunk["choices"][0]["text"]
        finally:
            stream.close()  # type: ignore[attr-defined]

    post(_tool_call_chunk(request_id, parse_tool_call(completion_text)))
    post(_usage_chunk(model, request_id, prompt_tokens, completion_text, reused))


def _content_chunk(request_id: str, text: str) -> llm.ChatChunk:
    return llm.ChatChunk(id=request_id, delta=llm.ChoiceDelta(role="assistant", content=text))


def _tool_call_chunk(request_id: str, call: dict[str, Any]) -> llm.ChatChunk:
    return llm.ChatChunk(
        id=request_id,
        delta=llm.ChoiceDelta(
            role="assistant",
            tool_calls=[
                llm.FunctionToolCall(
                    name=call["name"],
                    arguments=json.dumps(call["arguments"]),
                    call_id=f"call_{utils.shortuuid()}",
                )
            ],
        ),
    )


def _usage_chunk(
    model: LoadedModel,
    request_id: str,
    prompt_tokens: list[int],
    completion_text: str,
    reused: int,
) -> llm.ChatChunk:
    n_completion = (
        len(model.llama.tokenize(completion_text.encode(), add_bos=False, special=True))
        if completion_text
        else 0
    )
    return llm.ChatChunk(
        id=request_id,
        usage=llm.CompletionUsage(
            completion_tokens=n_completion,
            prompt_tokens=len(prompt_tokens),
            prompt_cached_tokens=reused,
            total_tokens=len(prompt_tokens) + n_completion,
        ),
    )
