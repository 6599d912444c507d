"""Which provider keys a brain needs, and whether the environment has them.

Owns: the provider -> readiness / key-name tables. Imports: `agents.config`, `profiles`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from .profiles import BrainProfile


def _openai_ready(s: Settings) -> bool:
    return bool(s.openai_api_key or s.openai_base_url)


PROVIDER_READY: dict[str, Callable[[Settings], bool]] = {
    "deepgram": lambda s: bool(s.deepgram_api_key or s.deepgram_base_url),
    "openai": _openai_ready,
    "cartesia": lambda s: bool(s.cartesia_api_key or s.cartesia_base_url),
    "local": lambda s: True,
}
PROVIDER_KEY = {
    "deepgram": "DEEPGRAM_API_KEY",
    "openai": "OPENAI_API_KEY",
    "cartesia": "CARTESIA_API_KEY",
    "local": "",
}


def missing_keys(profile: BrainProfile, settings: Settings) -> list[str]:
    """Environment variables a profile needs but does not have."""
    missing: list[str] = []
    providers = [
        *(e for stage in ("stt", "llm", "tts") for e in profile.engines(stage)),
        profile.realtime,
        profile.reasoner,
    ]
    for provider in providers:
        if provider and not PROVIDER_READY[provider](settings):
            key = PROVIDER_KEY[provider]
            if key not in missing:
                missing.append(key)
    return missing
