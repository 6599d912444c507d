"""Engine factories: one function per engine name turns `Settings` into a plugin object.

Plugins are imported inside each factory, so a worker that never builds a local engine
never imports llama.cpp, faster-whisper or Piper (a cloud-only install has none of them).

Owns: plugin construction. Imports: `agents.config`, `profiles`, livekit plugins (lazily).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from livekit.agents import NOT_GIVEN, APIConnectOptions, NotGivenOr, llm, stt, tts

from ..config import Settings
from .model_files import LOCAL_LLM_FILE, LOCAL_STT_DIR, installed_model
from .profiles import LLM_ENGINES, STT_ENGINES, TTS_ENGINES, BrainProfile, get_profile

REALTIME_CONNECT_TIMEOUT = 5.0
"""Seconds to open the realtime WebSocket (LiveKit's default: 10)."""


def _given(value: str) -> NotGivenOr[str]:
    return value or NOT_GIVEN


def _api_key(key: str, base_url: str) -> str:
    # a loopback or self-hosted server (Ollama, vLLM, llama.cpp) needs no key, but the
    # OpenAI client insists on one: hand it a placeholder that is not a secret
    return key or ("local-no-key" if base_url else "")


def _deepgram_stt(s: Settings, telephony: bool) -> stt.STT:
    from livekit.plugins import deepgram

    kwargs: dict[str, Any] = {"model": s.deepgram_model, "language": "en-US"}
    if s.deepgram_base_url:
        kwargs["base_url"] = s.deepgram_base_url
    return deepgram.STT(api_key=_api_key(s.deepgram_api_key, s.deepgram_base_url), **kwargs)


@functools.cache
def local_stt_prompt() -> str:
    """Whisper's initial prompt for the offline ears: the menu's words, so "cortado" and
    "oat milk" are heard as such (measured: Piper phrases at 8 kHz mu-law, WER 0.09 -> 0.01),
    written as a caller orders ("Can I get one Americano, two Cappuccinos, ... a Latte or a
    Mocha, with oat milk ...?"), not as a bare list: given the names comma by comma, Whisper
    wrote the list back for words it could not make out ("Cappuccino, Latte, Whitman and
    Latte, please.") and heard fewer lines right (`python -m evals.prompt_bench --phone`: of
    336 goal lines through the phone hop, 141 read as written with the list, 180 with the
    sentence; README, "The offline brain"). Built once per process from the menu the
    ordering policy reads."""
    from .guided.understanding import load_menu

    names = [it["name"] for it in load_menu().items.values()]
    counted = [
        f"one {names[0]}",
        *(f"{n} {_plural(d)}" for n, d in zip(("two", "three"), names[1:3], strict=True)),
    ]
    rest = [f"{'an' if n[0] in 'AEIOU' else 'a'} {n}" for n in names[3:]]
    drinks = ", ".join([*counted, *rest[:-1]])
    return (
        f"A phone order at a coffee bar. Can I get {drinks} or {rest[-1]}, with oat milk or "
        "almond milk, decaf or iced?"
    )


def _plural(name: str) -> str:
    return name if name.endswith("s") else f"{name}s"


def local_whisper_model(s: Settings, telephony: bool) -> str | None:
    """The leg's Whisper directory, or None for tiny.en (in the faster-whisper plugin's
    wheel): `LOCAL_STT_MODEL` on both legs when set; else tiny.en for wideband callers, and
    for the phone leg `LOCAL_PHONE_STT`: Whisper base as installed by
    scripts/install_models.py (tiny.en when it is not installed), or tiny.en."""
    if s.local_stt_model:
        return s.local_stt_model
    if not telephony or s.local_phone_stt == "tiny.en":
        return None
    base = installed_model(s.models_dir, LOCAL_STT_DIR)
    return str(base) if base else None


def _local_stt(s: Settings, telephony: bool) -> stt.STT:
    """Whisper tiny.en (in its wheel) for wideband callers; for phone audio Whisper base
    (installed by scripts/install_models.py) or tiny.en (`LOCAL_PHONE_STT`); both with beam
    search and the menu prompt. Measured (README, "The offline brain" and "Policy turns and
    model turns"): tiny.en is two to three times as fast a pass, base more accurate on
    spoken orders over the phone."""
    whisper = leg_whisper(s, telephony, local_stt_prompt())
    if not telephony:
        return _with_second_listen(s, whisper)
    # phone callers read order and phone numbers digit by digit: one number for the tools
    # (measured: python -m evals.stt_phone_bench, README "Phone calls")
    from ..phone_digits import PhoneDigitsSTT

    return PhoneDigitsSTT(whisper)


def _with_second_listen(s: Settings, whisper: stt.STT) -> stt.STT:
    """The wideband leg's tiny.en, with Whisper base hearing again the turns whose words the
    ordering policy cannot place (`LOCAL_STT_SECOND_LISTEN`, `agents.brain.second_listen`);
    tiny.en alone when it is off, when base is not installed or `LOCAL_STT_MODEL` is set."""
    base = installed_model(s.models_dir, LOCAL_STT_DIR)
    if s.local_stt_second_listen == "off" or s.local_stt_model or base is None:
        return whisper
    from .guided.understanding import heard_doubtfully
    from .second_listen import SecondListenSTT

    second = _menu_whisper(str(base), beam_size=WIDEBAND_BEAM, window=s.local_stt_window)
    return SecondListenSTT(whisper, second, heard_doubtfully)


WIDEBAND_BEAM = 5
"""The wideband leg's Whisper beam width (both its passes)."""


def leg_whisper(s: Settings, telephony: bool, prompt: str | None) -> stt.STT:
    """A leg's first Whisper as the brain builds it (its model, beam and encoder window),
    with `prompt` (the brain passes `local_stt_prompt()`; `evals.prompt_bench` others)."""
    return _whisper(
        local_whisper_model(s, telephony),
        beam_size=s.local_phone_stt_beam if telephony else WIDEBAND_BEAM,
        window=s.local_phone_stt_window if telephony else s.local_stt_window,
        prompt=prompt,
    )


def _menu_whisper(model: str | None, *, beam_size: int, window: float) -> stt.STT:
    """A local Whisper (`model`; None = tiny.en in its wheel) with the menu prompt."""
    return _whisper(model, beam_size=beam_size, window=window, prompt=local_stt_prompt())


def _whisper(model: str | None, *, beam_size: int, window: float, prompt: str | None) -> stt.STT:
    from livekit.plugins import fasterwhisper

    return fasterwhisper.STT(
        model=model, beam_size=beam_size, initial_prompt=prompt, encoder_window=window
    )


def openai_llm(s: Settings, model: str) -> llm.LLM:
    from livekit.plugins import openai

    return openai.LLM(
        model=model,
        api_key=_api_key(s.openai_api_key, s.openai_base_url),
        base_url=_given(s.openai_base_url),
    )


def _local_llm(s: Settings) -> llm.LLM:
    """The offline brain's LLM stage: the ordering policy around a small local model (see
    `agents.brain.guided`), the model answering what the policy does not understand."""
    from livekit.plugins import llamacpp

    from .guided import GuidedLLM

    model = s.local_llm_model or installed_model(s.models_dir, LOCAL_LLM_FILE)
    return GuidedLLM(
        llamacpp.LLM(
            model_path=model or None,
            n_threads=s.local_llm_threads,
            tool_call_bias=s.local_llm_tool_bias,
        ),
        ack_delay=s.local_model_ack_delay,
    )


def _cartesia_tts(s: Settings) -> tts.TTS:
    from livekit.plugins import cartesia

    kwargs: dict[str, Any] = {"model": s.cartesia_model, "voice": s.cartesia_voice}
    if s.cartesia_base_url:
        kwargs["base_url"] = s.cartesia_base_url
    return cartesia.TTS(api_key=_api_key(s.cartesia_api_key, s.cartesia_base_url), **kwargs)


def _openai_tts(s: Settings) -> tts.TTS:
    from livekit.plugins import openai

    return openai.TTS(
        api_key=_api_key(s.openai_api_key, s.openai_base_url),
        base_url=_given(s.openai_base_url),
    )


def _local_tts(s: Settings) -> tts.TTS:
    """Piper, fed by a tokenizer that sends a reply's first short phrase ("Sure, ") on its
    own, then sentences: the first audio no longer waits for a whole first sentence to be
    written and synthesized (LiveKit's own adapter would cut sentences only). The guided
    brain's "Hmm," is synthesized in prewarm, so it plays at once even on a call's first
    model-answered turn."""
    from livekit.plugins import piper

    from .guided.llm import ACK_LINE

    return tts.StreamAdapter(
        tts=piper.TTS(voice=s.local_tts_voice or None, warm_phrases=(ACK_LINE,)),
        sentence_tokenizer=piper.PhraseTokenizer(),
    )


STT_FACTORIES: dict[str, Callable[[Settings, bool], stt.STT]] = {
    "deepgram": _deepgram_stt,
    "local": _local_stt,
}
LLM_FACTORIES: dict[str, Callable[[Settings], llm.LLM]] = {
    "openai": lambda s: openai_llm(s, s.openai_model),
    "local": _local_llm,
}
TTS_FACTORIES: dict[str, Callable[[Settings], tts.TTS]] = {
    "cartesia": _cartesia_tts,
    "openai": _openai_tts,
    "local": _local_tts,
}


def openai_realtime(s: Settings, *, server_turns: bool) -> llm.RealtimeModel:

    base_url = s.openai_realtime_base_url or s.openai_base_url
    kwargs: dict[str, Any] = {}
    if not server_turns:
        # our own turn detector decides; the model must not commit turns by itself
        kwargs["turn_detection"] = None
    from .realtime import RealtimeModel

    return RealtimeModel(
        # a lost connection is not retried here: the call fails over to the cascade at once
        # (agents.resilience.failover), which costs less than a reconnect and a lost turn
        conn_options=APIConnectOptions(
            max_retry=s.fallback_retries, timeout=REALTIME_CONNECT_TIMEOUT
        ),
        model=s.openai_realtime_model,
        voice=s.openai_voice,
        api_key=_api_key(s.openai_api_key, base_url),
        base_url=_given(base_url),
        **kwargs,
    )


def build_text_llm(brain: str, settings: Settings) -> llm.LLM:
    """The text LLM that does a brain's reasoning: the cascade's LLM, a hybrid's reasoner,
    or, for a native brain, the OpenAI text model. Used by text-mode evals."""
    profile = get_profile(brain)
    name = profile.llm or profile.reasoner or "openai"
    if name == "openai" and profile.reasoner == "openai" and profile.llm is None:
        return openai_llm(settings, settings.hybrid_reasoner_model)
    return LLM_FACTORIES[name](settings)


def make_turn_detection(profile: BrainProfile) -> Any:
    if profile.turn_detector == "semantic":
        from livekit.plugins import semantic_turn

        from .guided.understanding import is_closing_answer

        # the ordering domain's closing answers end a turn whatever the model predicts
        return semantic_turn.SemanticTurnDetector(complete=is_closing_answer)
    if profile.turn_detector == "fusion":
        from livekit.plugins import semantic_turn

        # the text-detector protocol passes no audio: the agent feeds this tap (stt_node)
        fused = semantic_turn.FusedTurnDetector(tap=semantic_turn.AudioTap())
        fused.prewarm()  # LiveKit's audio EOT, once per process (~0.4 s), not on the first turn
        return fused
    if profile.turn_detector == "livekit":
        from livekit.agents import inference

        # pinned: the unpinned detector tries LiveKit Cloud first in dev mode
        return inference.TurnDetector(version="v1-mini")
    if profile.turn_detector == "realtime":
        return "realtime_llm"
    return "vad"


assert set(STT_FACTORIES) == set(STT_ENGINES), "profiles.STT_ENGINES out of step"
assert set(LLM_FACTORIES) == set(LLM_ENGINES), "profiles.LLM_ENGINES out of step"
assert set(TTS_FACTORIES) == set(TTS_ENGINES), "profiles.TTS_ENGINES out of step"
