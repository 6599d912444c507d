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


def test_livekit_yaml_is_a_complete_dev_server_config() -> None:
    import yaml

    cfg = yaml.safe_load((ROOT / "livekit.yaml").read_text())
    assert cfg["port"] == 7880
    rtc = cfg["rtc"]
    assert rtc["tcp_port"] and rtc["port_range_start"] < rtc["port_range_end"]
    assert cfg["keys"] == {"devkey": "secret"}  # what the README's .env.local lines use
    readme = (ROOT / "README.md").read_text()
    assert "livekit-server --dev --config livekit.yaml" in readme
    assert "LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret" in readme


@pytest.mark.parametrize(
    "env,message",
    [
        ({"STT": "bogus"}, "STT='bogus' is not one of"),
        ({"BRAIN": "telepathy"}, "BRAIN='telepathy' is not one of"),
        ({"TOOL_TIMEOUT": "x"}, "TOOL_TIMEOUT='x' is not a number"),
        # a newcomer's first `agent.py dev` with no server configured: one line, no traceback
        ({"LIVEKIT_URL": ""}, "'dev' needs a LiveKit server: set LIVEKIT_URL"),
    ],
)
def test_worker_refuses_bad_configuration_at_start(env: dict[str, str], message: str) -> None:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "agent.py", "dev"], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
