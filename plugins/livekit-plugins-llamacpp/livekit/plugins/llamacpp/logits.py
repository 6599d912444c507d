"""Logit processors steering the first tokens of a reply: ban or favour opening a tool call.

A tool call starts with '<' (``<tool_call>``) and plain text never does, so both processors act
on the set of vocabulary tokens whose text starts with '<'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from llama_cpp import LogitsProcessorList

    from .model_cache import LoadedModel


def angle_tokens(model: LoadedModel) -> np.ndarray:
    """Ids of the tokens whose text (leading whitespace ignored) starts with '<'; scanned once
    per model and cached on it."""
    if model.angle_tokens is None:
        model.angle_tokens = np.array(
            [
                tok
                for tok in range(model.llama.n_vocab())
                if model.llama.detokenize([tok], special=True).lstrip().startswith(b"<")
            ],
            dtype=np.intp,
        )
    return model.angle_tokens


def text_only_processor(model: LoadedModel) -> LogitsProcessorList:
    """Forbids every token whose text starts with '<' (so a reply cannot be a tool call)."""
    from llama_cpp import LogitsProcessorList

    banned = angle_tokens(model)

    def ban(_input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        scores[banned] = -np.inf
        return scores

    return LogitsProcessorList([ban])


def tool_bias_processor(model: LoadedModel, prompt_len: int, bias: float) -> LogitsProcessorList:
    """Adds `bias` to the '<' tokens for the first two generated tokens (a reply may open
    with whitespace), nudging the model towards `<tool_call>`."""
    from llama_cpp import LogitsProcessorList

    angle = angle_tokens(model)

    def nudge(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if len(input_ids) - prompt_len < 2:
            scores[angle] += bias
        return scores

    return LogitsProcessorList([nudge])
