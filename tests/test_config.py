"""Configuration: every variable documented in `.env.example`, bad values rejected clearly,
secrets never printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agents.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_variable_with_its_default() -> None:
    src = (ROOT / "agents" / "config.py").read_text()
    read = set(re.findall(r'_(?:str|float)\(e, "([A-Z0-9_]+)"', src)) | {"LOCAL_LLM_THREADS"}
    example = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))
    assert read == set(example), read ^ set(example)
    defaults = Settings()
    for name, value in example.items():
        if value:
            field = name.lower()
            assert str(getattr(defaults, field)) == value, (name, value)


@pytest.mark.parametrize(
    "env,message",
    [
        ({"TOOL_TIMEOUT": "soon"}, "TOOL_TIMEOUT='soon' is not a number"),
        ({"FILLER_DELAY": "-1"}, "must not be negative"),
        ({"LOCAL_LLM_THREADS": "0"}, "LOCAL_LLM_THREADS='0' must be a positive integer"),
        ({"LOCAL_LLM_THREADS": "two"}, "positive integer"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env(env)


def test_redacted_settings_hide_secrets() -> None:
    s = Settings.from_env({"OPENAI_API_KEY": "sk-very-secret", "BRAIN": "Native"})
    red = s.redacted()
    assert red["openai_api_key"] == "set" and red["deepgram_api_key"] == "unset"
    assert "sk-very-secret" not in str(red)
    assert s.brain == "native"
