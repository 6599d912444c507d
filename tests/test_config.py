"""Configuration: every variable documented in `.env.example`, bad values rejected clearly,
secrets never printed (the worker logs its settings redacted), TOOL_TIMEOUT=0 = no timeout."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, RunContext
from livekit.agents.voice.run_result import RunResult

from agents import worker
from agents.config import ConfigError, Settings
from tests.fakes import Call, FakeLLM
from tools import ToolRuntime, ToolRuntimeOptions

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_variable_with_its_default() -> None:
    src = (ROOT / "agents" / "config.py").read_text()
    # every `_reader(e, "NAME", ...)` call in Settings.from_env
    read = set(re.findall(r'_[a-z_]+\(\s*e,\s*"([A-Z0-9_]+)"', src))
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
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud' is not one of: DEBUG, INFO, WARNING, ERROR"),
        ({"LOG_LEVEL": "10"}, "LOG_LEVEL='10' is not one of"),
        ({"TOOL_TIMEOUT": "-0.5"}, "TOOL_TIMEOUT='-0.5' must not be negative"),
        ({"LOCAL_PHONE_STT": "large"}, "LOCAL_PHONE_STT='large' is not one of: base, tiny.en"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env(env)


def test_the_phone_leg_s_whisper_defaults_to_base_and_takes_tiny_en() -> None:
    assert Settings.from_env({}).local_phone_stt == "base"
    assert Settings.from_env({"LOCAL_PHONE_STT": " Tiny.EN "}).local_phone_stt == "tiny.en"


def _wideband_whispers(s: Settings) -> list[Any]:
    """The wideband leg's Whisper engines: tiny.en, and Whisper base when it listens again."""
    from agents.brain.factories import _local_stt
    from agents.brain.second_listen import SecondListenSTT

    engine = _local_stt(s, telephony=False)
    if isinstance(engine, SecondListenSTT):
        return [engine.inner, engine.second]
    return [engine]


def test_the_phone_leg_s_beam_width_is_a_setting_the_wideband_leg_keeps_five() -> None:
    from agents.brain.factories import _local_stt

    assert Settings.from_env({}).local_phone_stt_beam == 5
    s = Settings.from_env({"LOCAL_PHONE_STT_BEAM": "1", "LOCAL_PHONE_STT": "tiny.en"})
    assert _local_stt(s, telephony=True).inner.options.beam_size == 1  # type: ignore[attr-defined]
    assert {w.options.beam_size for w in _wideband_whispers(s)} == {5}
    for bad, why in (("0", ">= 1"), ("11", "between 1 and 10"), ("two", ">= 1")):
        with pytest.raises(ConfigError, match=f"LOCAL_PHONE_STT_BEAM=.*{why}"):
            Settings.from_env({"LOCAL_PHONE_STT_BEAM": bad})


def test_the_phone_leg_s_encoder_window_is_a_setting_the_wideband_leg_keeps_thirty() -> None:
    from agents.brain.factories import _local_stt

    s = Settings.from_env({"LOCAL_PHONE_STT": "tiny.en"})
    assert s.local_phone_stt_window == 22.0
    assert _local_stt(s, telephony=True).inner.options.encoder_window == 22.0  # type: ignore[attr-defined]
    assert {w.options.encoder_window for w in _wideband_whispers(s)} == {30.0}
    s = Settings.from_env({"LOCAL_PHONE_STT_WINDOW": "30", "LOCAL_PHONE_STT": "tiny.en"})
    assert _local_stt(s, telephony=True).inner.options.encoder_window == 30.0  # type: ignore[attr-defined]
    # the wideband leg keeps Whisper's 30 s unless LOCAL_STT_WINDOW says otherwise
    wide = Settings.from_env({"LOCAL_STT_WINDOW": "25"})
    assert {w.options.encoder_window for w in _wideband_whispers(wide)} == {25.0}
    for name in ("LOCAL_PHONE_STT_WINDOW", "LOCAL_STT_WINDOW"):
        for bad, why in (("4", "between 5 and 30"), ("31", "between 5 and 30"), ("long", "number")):
            with pytest.raises(ConfigError, match=f"{name}=.*{why}"):
                Settings.from_env({name: bad})


def test_log_level_is_case_insensitive() -> None:
    assert Settings.from_env({"LOG_LEVEL": " debug "}).log_level == "DEBUG"
    assert Settings.from_env({}).log_level == "INFO"


def test_worker_logs_its_settings_redacted_when_it_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What `main()` runs: `build_server`; LiveKit emits `worker_started` once it runs."""
    s = Settings.from_env(
        {"OPENAI_API_KEY": "sk-very-secret", "LIVEKIT_API_SECRET": "lk-secret", "BRAIN": "Native"}
    )
    server = worker.build_server(s)
    with caplog.at_level(logging.INFO, logger="voice_suite"):
        server.emit("worker_started")
    logged = [r for r in caplog.records if r.getMessage() == "worker settings"]
    assert len(logged) == 1
    settings = logged[0].settings  # type: ignore[attr-defined]
    assert settings["openai_api_key"] == "set" and settings["deepgram_api_key"] == "unset"
    assert settings["livekit_api_secret"] == "set" and settings["brain"] == "native"
    assert "secret" not in caplog.text and "secret" not in str(settings.values())


async def _run_slow_tool(tool_timeout: float) -> tuple[str, str]:
    """One turn whose tool takes 0.4 s, under the runtime built from TOOL_TIMEOUT; returns the
    record's status and what the model read."""

    async def slow_lookup(ctx: RunContext) -> str:
        """Slow lookup."""
        await asyncio.sleep(0.4)
        return "found it"

    s = Settings.from_env({"TOOL_TIMEOUT": str(tool_timeout)})
    rt = ToolRuntime(ToolRuntimeOptions.from_settings(s))
    fake = FakeLLM([[Call("slow_lookup")], "Here it is."])
    async with AgentSession(llm=fake) as session:
        await session.start(Agent(instructions="t", tools=[rt.tool(slow_lookup, filler=False)]))
        result: RunResult[None] = await session.run(user_input="look it up")
    out = [e.item.output for e in result.events if e.type == "function_call_output"]
    return rt.events.records[-1].status, out[0]


async def test_tool_timeout_zero_means_no_timeout() -> None:
    assert Settings.from_env({"TOOL_TIMEOUT": "0"}).tool_timeout == 0.0
    assert await _run_slow_tool(0) == ("ok", "found it")
    # the same tool under a positive timeout shorter than it: the apology, so 0 is not "instant"
    status, said = await _run_slow_tool(0.05)
    assert status == "timeout" and said == ToolRuntimeOptions().timeout_message


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
        ({"STT": "bogus"}, "STT='bogus'"),
        ({"BRAIN": "telepathy"}, "BRAIN='telepathy' is not one of"),
        ({"TOOL_TIMEOUT": "x"}, "TOOL_TIMEOUT='x' is not a number"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL='verbose' is not one of"),
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
