from typing import Literal

ComputeType = Literal[
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
]
"""CTranslate2 quantization used when loading the model (``int8`` is the fast CPU choice)."""

Device = Literal["cpu", "cuda", "auto"]

WhisperLanguages = Literal["en"]
"""Languages of the bundled ``tiny.en`` model; multilingual models accept any Whisper code."""
