"""The brain selection policy, table-tested, and the profiles as data."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agents.brain import PROFILES, Caller, choose_brain, get_profile, missing_keys
from agents.config import ConfigError, Settings

# the selection itself, without the local fallback chains (tested on their own below)
ALL_KEYS = Settings(
    openai_api_key="sk-x", deepgram_api_key="dg-x", cartesia_api_key="ca-x", local_fallback="off"
)
OPENAI_ONLY = Settings(openai_api_key="sk-x", local_fallback="off")
NONE = Settings(local_fallback="off")
SIP = Caller(identity="sip_+15550100", is_sip=True)
WEB = Caller(identity="web-user")


def with_(s: Settings, **kw: Any) -> Settings:
    return dataclasses.replace(s, **kw)


CASES = [
    # (settings, metadata, caller, expected brain, expected source)
    (NONE, "", None, "local", "auto"),
    (OPENAI_ONLY, "", None, "native", "auto"),
    (ALL_KEYS, "", None, "cascade", "auto"),
    (ALL_KEYS, '{"brain": "native"}', None, "native", "metadata"),
    (ALL_KEYS, '{"brain": "hybrid"}', WEB, "hybrid", "metadata"),
    (ALL_KEYS, '{"brain": "LOCAL"}', None, "local", "metadata"),
    # metadata wins over participant attribute and env
    (
        with_(ALL_KEYS, brain="local"),
        '{"brain": "native"}',
        Caller(attributes={"brain": "hybrid"}),
        "native",
        "metadata",
    ),
    # participant attribute wins over env
    (
        with_(ALL_KEYS, brain="local"),
        "",
        Caller(attributes={"brain": "hybrid"}),
        "hybrid",
        "participant",
    ),
    (with_(ALL_KEYS, brain="local"), "", WEB, "local", "env"),
    # unusable requests fall through, never fail the call
    (NONE, '{"brain": "native"}', None, "local", "auto"),  # key missing
    (OPENAI_ONLY, '{"brain": "cascade"}', None, "native", "auto"),
    (ALL_KEYS, '{"brain": "telepathy"}', None, "cascade", "auto"),  # unknown
    (ALL_KEYS, "not json", None, "cascade", "auto"),
    (ALL_KEYS, '["native"]', None, "cascade", "auto"),
    (ALL_KEYS, '{"brain": 3}', None, "cascade", "auto"),
    (with_(NONE, brain="cascade"), "", None, "local", "auto"),
    # SIP callers get the telephony variant of whatever was chosen
    (NONE, "", SIP, "local-telephony", "auto"),
    (ALL_KEYS, '{"brain": "native"}', SIP, "native-telephony", "metadata"),
    (ALL_KEYS, "", SIP, "cascade-telephony", "auto"),
    # an OpenAI-compatible server without a key makes openai usable
    (with_(NONE, openai_base_url="http://127.0.0.1:11434/v1"), "", None, "native", "auto"),
]


@pytest.mark.parametrize("settings,metadata,caller,brain,source", CASES)
def test_selection_table(
    settings: Settings, metadata: str, caller: Caller | None, brain: str, source: str
) -> None:
    choice = choose_brain(settings, job_metadata=metadata, caller=caller)
    assert choice.profile.name == brain
    assert choice.source == source
    assert brain in choice.explain()


def test_skipped_requests_are_explained() -> None:
    choice = choose_brain(NONE, job_metadata='{"brain": "native"}')
    assert "OPENAI_API_KEY missing" in choice.explain()
    choice = choose_brain(ALL_KEYS, job_metadata="{oops")
    assert "not JSON" in choice.explain()


def test_telephony_variant_waits_longer() -> None:
    base = PROFILES["cascade"]
    tel = choose_brain(ALL_KEYS, caller=SIP).profile
    assert tel.telephony and not base.telephony
    assert tel.endpointing.min_delay >= base.endpointing.min_delay
    assert tel.endpointing.max_delay > base.endpointing.max_delay
    assert tel.stages() == base.stages()


def test_stage_overrides() -> None:
    choice = choose_brain(with_(ALL_KEYS, tts="local", stt="local"))
    assert choice.profile.stages()["tts"] == "local"
    assert choice.profile.stages()["stt"] == "local"
    assert choice.profile.stages()["llm"] == "openai"
    assert "stage overrides" in choice.explain()
    # the turn detector is one line away
    swapped = PROFILES["cascade"].with_overrides(turn_detector="livekit")
    assert swapped.turn_detector == "livekit"
    # a native brain keeps its realtime model; an STT override feeds our turn detector
    native = PROFILES["native"].with_overrides(stt="deepgram", turn_detector="semantic")
    assert native.realtime == "openai" and native.stt == "deepgram"


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"stt": "whisperx"}, "STT='whisperx'"),
        ({"llm": "gpt"}, "LLM='gpt'"),
        ({"tts": "espeak"}, "TTS='espeak'"),
        ({"turn_detector": "magic"}, "TURN_DETECTOR='magic'"),
    ],
)
def test_bad_overrides_are_clear(kw: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PROFILES["cascade"].with_overrides(**kw)


def test_realtime_turns_need_a_realtime_model() -> None:
    with pytest.raises(ConfigError, match="realtime model"):
        PROFILES["local"].with_overrides(turn_detector="realtime")


def test_profiles_are_data() -> None:
    assert set(PROFILES) == {"cascade", "native", "hybrid", "local"}
    assert PROFILES["cascade"].stages()["stt"] == "deepgram"
    assert PROFILES["native"].realtime == "openai" and PROFILES["native"].llm is None
    assert PROFILES["hybrid"].reasoner == "openai"
    assert missing_keys(PROFILES["local"], NONE) == []
    assert missing_keys(PROFILES["cascade"], NONE) == [
        "DEEPGRAM_API_KEY",
        "OPENAI_API_KEY",
        "CARTESIA_API_KEY",
    ]
    assert get_profile("native-telephony").telephony
    with pytest.raises(ConfigError, match="unknown brain"):
        get_profile("nope")


def test_a_cascade_falls_back_to_the_local_engines_by_default() -> None:
    choice = choose_brain(with_(ALL_KEYS, local_fallback="auto"))
    stages = choice.profile.stages()
    assert (stages["stt"], stages["llm"], stages["tts"]) == (
        "deepgram,local",
        "openai,local",
        "cartesia,local",
    )
    assert "local engines as the last fallback" in choice.explain()
    # a speech-to-speech brain has no cascade stage to chain (it fails over instead)
    native = choose_brain(with_(OPENAI_ONLY, local_fallback="on")).profile
    assert native.stages() == PROFILES["native"].stages()


@pytest.mark.parametrize(
    ("env", "stage", "chain"),
    [
        ({"llm": "openai,local"}, "llm", ("openai", "local")),
        ({"stt": "local, deepgram"}, "stt", ("local", "deepgram")),
        ({"tts": "cartesia,openai,local"}, "tts", ("cartesia", "openai", "local")),
    ],
)
def test_stage_chains_keep_their_order(env: dict[str, str], stage: str, chain: tuple) -> None:
    profile = choose_brain(with_(ALL_KEYS, **env)).profile
    assert profile.engines(stage) == chain


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"llm": "openai,gpt5"}, "'gpt5' is not one of"),
        ({"stt": "local,local"}, "names an engine twice"),
        ({"tts": "cartesia,"}, "'' is not one of"),
    ],
)
def test_bad_chains_are_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_brain(with_(ALL_KEYS, **env))


def test_a_chain_needs_the_keys_of_every_engine() -> None:
    s = with_(NONE, brain="local", llm="openai,local")
    assert missing_keys(choose_brain(s).profile, s) == ["OPENAI_API_KEY"]
