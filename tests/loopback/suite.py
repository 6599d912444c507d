"""The suite's settings pointed at the loopback servers: the cascade brain with the real
Deepgram, OpenAI and Cartesia plugins talking to `DeepgramServer`, `OpenAIChatServer` and
`CartesiaServer` (the one place that says how; tests and `evals.faults` add what differs)."""

from __future__ import annotations

from typing import Any

from agents.config import Settings

from .cartesia import CartesiaServer
from .deepgram import DeepgramServer
from .openai_chat import OpenAIChatServer

LOOPBACK_KEY = "loopback"
"""Not a secret: the plugins insist on a key, the loopback servers ignore it."""


def cascade_settings(
    dg: DeepgramServer, oa: OpenAIChatServer, ca: CartesiaServer, **overrides: Any
) -> Settings:
    return Settings(
        brain="cascade",
        deepgram_api_key=LOOPBACK_KEY, deepgram_base_url=dg.base_url,
        openai_api_key=LOOPBACK_KEY, openai_base_url=oa.base_url,
        cartesia_api_key=LOOPBACK_KEY, cartesia_base_url=ca.base_url,
        **overrides,
    )  # fmt: skip
