"""Configuration from the environment (and `.env.local`, via python-dotenv).

One place for every variable the suite reads. `.env.example` lists each with its default;
`tests/test_config.py` keeps the two in step. Secrets are only ever held here and handed to
plugin constructors: they are never logged (`Settings.redacted` is what the worker logs at
start).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent

SECRET_FIELDS = frozenset(
    {"livekit_api_secret", "openai_api_key", "deepgram_api_key", "cartesia_api_key"}
)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PHONE_STT_MODELS = ("base", "tiny.en")
"""`LOCAL_PHONE_STT`'s values: the phone leg's Whisper."""


class ConfigError(ValueError):
    """A configuration value is present but unusable."""


def load_env(path: Path | None = None) -> None:
    """Load `.env.local` (if present) without overriding variables already set."""
    load_dotenv(path or ROOT / ".env.local", override=False)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must not be negative")
    return value


def _auto_or_seconds(env: Mapping[str, str], name: str) -> str:
    """`auto`, or a number of seconds (checked like any other number)."""
    if env.get(name, "").strip().lower() in ("", "auto"):
        return "auto"
    return str(_float(env, name, 0.0))


def _seconds_or_off(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    """A number of seconds (checked like any other number), or `off` (None)."""
    raw = env.get(name, "").strip().lower()
    if raw == "off":
        return None
    return _float(env, name, 0.0) if raw else default


def _str(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, "").strip() or default


def _count(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{name}={raw!r} must be a whole number >= {minimum}")
    return int(raw)


def _beam(env: Mapping[str, str], name: str, default: int) -> int:
    value = _count(env, name, default, minimum=1)
    if value > 10:
        raise ConfigError(f"{name}={value} must be between 1 and 10 (a Whisper beam width)")
    return value


def _window(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 5.0 <= value <= 30.0:
        raise ConfigError(
            f"{name}={value:g} must be between 5 and 30 (seconds of Whisper's window)"
        )
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _str(env, name, default).lower()
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(allowed)}")
    return value


def _log_level(env: Mapping[str, str], name: str, default: str) -> str:
    level = _str(env, name, default).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name}={env.get(name)!r} is not one of: {', '.join(LOG_LEVELS)}")
    return level


def _port(name: str, raw: str) -> str:
    if raw and (not raw.isdigit() or not 0 < int(raw) < 65536):
        raise ConfigError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return raw


@dataclass(frozen=True)
class Settings:
    # LiveKit server (not needed offline: replay and console run without one)
    livekit_url: str = ""
    livekit_api_key: str = ""
    livekit_api_secret: str = ""
    agent_name: str = ""
    """Worker agent name. Empty = automatic dispatch to every new room (what the playground
    expects); set it (e.g. `coffee-agent`) for explicit dispatch from SIP dispatch rules."""

    # brain selection (see agents/brains.py); empty = automatic
    brain: str = ""
    stt: str = ""
    llm: str = ""
    tts: str = ""
    turn_detector: str = ""

    # providers
    openai_api_key: str = ""
    openai_base_url: str = ""
    openai_model: str = "gpt-4.1-mini"
    openai_realtime_model: str = "gpt-realtime"
    openai_realtime_base_url: str = ""
    openai_voice: str = "marin"
    hybrid_reasoner_model: str = "gpt-4.1"
    deepgram_api_key: str = ""
    deepgram_base_url: str = ""
    deepgram_model: str = "nova-3"
    cartesia_api_key: str = ""
    cartesia_base_url: str = ""
    cartesia_model: str = "sonic-2"
    cartesia_voice: str = "f786b574-daa5-4673-aa0c-cbe3e8534c02"

    # local engines (empty = the model `scripts/install_models.py` installed in models_dir,
    # else the one shipped in the engine's wheel)
    models_dir: str = str(ROOT / ".cache" / "models")
    """Where `scripts/install_models.py` put the offline models (`VOICE_SUITE_MODELS`)."""
    local_stt_model: str = ""
    """A CTranslate2 Whisper directory for both legs (overrides `local_phone_stt`)."""
    local_phone_stt: str = "base"
    """The phone leg's Whisper (8 kHz G.711 callers, the telephony variant): `base` (the one
    `scripts/install_models.py` installs; tiny.en when it is not installed) or `tiny.en`
    (the wideband leg's, in its wheel: a half to a third of base's time per pass, and
    speculated as the wideband leg is). Measured (README, "Policy turns and model turns"):
    tiny.en answers policy turns in 0.91 s instead of 1.73 s but hears spoken orders over
    the phone worse (26 % WER against 17 %), so `base` is the default. The wideband leg
    always gets tiny.en."""
    local_phone_stt_beam: int = 5
    """The phone leg's Whisper beam width (`LOCAL_PHONE_STT_BEAM`, 1-10): 1 is greedy
    decoding, a shorter pass; 5 searches more hypotheses. The wideband leg keeps 5.
    Measured (docs/latency.md, "The phone leg's beam"): `python -m evals.hearing_latency
    --compare phone-beam` and `python -m evals.hearing_wer --compare phone-beam`."""
    local_phone_stt_window: float = 22.0
    """Seconds of audio the phone leg's Whisper encoder sees per pass (`LOCAL_PHONE_STT_WINDOW`,
    5-30; 30 is Whisper's own padded window; a turn too long for the window gets 30). The
    encoder's cost follows the window, not the speech. Measured (docs/latency.md, "The phone
    leg's encoder window"): `python -m evals.hearing_latency --compare phone-window` and
    `python -m evals.hearing_wer --compare phone-window`. The wideband leg keeps 30."""
    local_stt_window: float = 30.0
    """Seconds of audio the wideband leg's Whisper (tiny.en) encoder sees per pass
    (`LOCAL_STT_WINDOW`, 5-30), as `local_phone_stt_window` is for the phone leg."""
    local_stt_second_listen: str = "base"
    """`LOCAL_STT_SECOND_LISTEN`: the wideband leg's second listen. `base` (the default): a
    turn whose tiny.en words the ordering policy cannot place (`heard_doubtfully`) is heard
    again by Whisper base (when `scripts/install_models.py` installed it), whose words are
    used when they place (`agents.brain.second_listen`); `off`: tiny.en alone. Measured
    (README, "The offline brain"): `python -m evals.second_listen`. Not with
    `LOCAL_STT_MODEL`, and not on the phone leg, whose first Whisper is base already."""
    local_stt_speculate: str = "all"
    """Where the local STT transcribes a caller's segment in the background as soon as they
    pause (0.1 s) and uses it when only silence followed (fasterwhisper.SpeculativeSTT):
    `all` (both legs, the default: measured 85 ms sooner on the phone leg's Whisper base at
    load 0.4-0.8, same word accuracy; docs/latency.md), `wideband` (16 kHz callers, and the
    phone leg only when its Whisper is tiny.en, `LOCAL_PHONE_STT`: for a busy box, where
    base's stale passes measured holding the cores), `off` (Whisper only after the VAD's
    end of speech, LiveKit's StreamAdapter)."""
    local_llm_model: str = ""
    local_tts_voice: str = ""
    local_llm_threads: int = 1
    """llama.cpp threads. 1 by default: on a small CPU shared with Whisper, Piper and VAD,
    a second spinning thread measured ~6x slower under load."""
    local_llm_tool_bias: float = 0.0
    """Logit nudge towards a tool call when SmolLM2 answers the caller (0 = its own choice;
    measured on 6 held-out dialogs: 0 -> no calls, 5 -> 4/23 right calls but looping)."""
    local_model_ack_delay: float | None = 0.3
    """`LOCAL_MODEL_ACK_DELAY`: seconds into a turn the offline brain's fallback model
    answers after which, if it has written nothing speakable yet, the agent says "Hmm,"
    and the answer follows; `off` = never (`agents.brain.guided.llm.ACK_DELAY`)."""

    # domain + tool runtime
    orders_db: str = ".data/orders.sqlite"
    """Menu and orders: a SQLite file (relative to the working directory; one machine) or a
    `postgresql://USER:PASSWORD@HOST:5432/DB` URL (every worker of the agent shares it).
    The worker reaches and migrates it at start (`tools.coffee.check_orders_db`)."""
    orders_days: float = 30.0
    """Orders (with their lines) older than this many days are deleted when the worker
    starts (0 = keep all)."""
    transfer_to: str = ""
    """SIP transfer target of `transfer_to_human`, e.g. `tel:+15550100` or `sip:desk@pbx`."""
    max_call_duration: float = 900.0
    """Phone calls: seconds before the time-limit goodbye and hang-up (0 = no limit)."""
    silence_timeout: float = 15.0
    """Phone calls: seconds of silence before "are you still there?", and as long again
    before the goodbye and hang-up (0 = never)."""
    answer_timeout: float = 30.0
    """Seconds the worker waits for a SIP caller's `sip.callStatus` to become `active`
    (0 = greet at once)."""
    aec_warmup: str = "auto"
    """`AEC_WARMUP`: seconds LiveKit mutes the caller to the STT at the start of agent
    speech for a browser's echo canceller, or `auto` = by transport
    (`agents.caller_audio`: WebRTC 3 s, phone / replay / console none)."""
    tool_timeout: float = 8.0
    """Seconds a tool may run before the caller hears an apology. 0 = no timeout: the tool
    runs as long as it needs (filler speech still covers it); for a debugger or a backend that
    enforces its own deadline, never for production calls."""
    filler_delay: float = 1.0

    # resilience (agents/resilience): per-stage fallback chains and realtime failover
    local_fallback: str = "auto"
    """`auto` (the local engines end every cascade stage's chain when they are installed),
    `on` (required: a worker without them does not start) or `off`."""
    fallback_attempt_timeout: float = 2.0
    """Seconds an engine in a chain gets (LLM: to answer; STT/TTS: to connect and respond)
    before the next one is tried."""
    fallback_retries: int = 0
    """Retries on the same engine before switching to the next (0: switch at once)."""
    failover_deadline: float = 1.5
    """A realtime brain that has not started a response to a finished caller turn within
    this many seconds is failed over to the cascade (or local) brain (0 = never)."""
    max_failed_turns: int = 3
    """Consecutive turns that end in an error (each apologised for) before the call is
    ended cleanly."""

    # side channel: call records, guardrails, metrics (agents/side_channel/)
    call_records_dir: str = "calls"
    """Where each call's record goes: `<dir>/<call id>/` (transcript, events, audio, meta)."""
    call_records_days: float = 30.0
    """Records older than this many days are deleted when the worker starts (0 = keep all)."""
    price_table: str = ""
    """A JSON price table of the user's own (`agents/side_channel/prices.json`'s format): its
    entries replace the shipped ones of the same provider and model (empty = shipped only).
    Checked when the worker starts (docs/cost.md)."""
    guardrail_policy: str = ""
    """A phrase/regex policy file for the guardrails (`side_channel.guardrails.PhrasePolicy`)."""
    guardrail_block: str = ""
    """One regex (case-insensitive) the agent never says: a blocking guardrail finding."""
    guardrail_judge: str = ""
    """A rubric for the slow LLM judge (OpenAI-compatible, `OPENAI_MODEL`), e.g. "promise a
    discount or free items"; it judges each finished reply, after the fact. Empty = off."""
    upload_recordings: str = "off"
    """`on`: LiveKit 1.8 uploads each call's audio and its session report (session options,
    model usage) to LiveKit Cloud when `LIVEKIT_URL` is a LiveKit Cloud URL or
    `LIVEKIT_OBSERVABILITY_URL` is set. `off` (default): nothing is uploaded; where LiveKit
    would upload, its recorder is not used at all (local audio and upload are one switch in
    1.8), so those calls' records have no `call.ogg` (`agents.worker.recording_options`)."""
    prometheus_port: str = ""
    """Port of the worker's Prometheus `/metrics` (LiveKit's and ours); empty = off."""

    # worker capacity (agents/worker_load.py; measured by `python -m evals.density`)
    max_calls: int = 10
    """Calls at which the worker reports full load: its load is max(CPU, calls / MAX_CALLS),
    and LiveKit stops sending jobs at load 0.7 in production (0 = CPU only)."""
    job_executor: str = "process"
    """`process` (LiveKit's default: a process per call, isolated) or `thread` (a thread per
    call in one process: far less memory per call, one crash ends every call)."""

    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        d = cls()
        threads_raw = _str(e, "LOCAL_LLM_THREADS", str(d.local_llm_threads))
        if not threads_raw.isdigit() or int(threads_raw) < 1:
            raise ConfigError(f"LOCAL_LLM_THREADS={threads_raw!r} must be a positive integer")
        return cls(
            livekit_url=_str(e, "LIVEKIT_URL"),
            livekit_api_key=_str(e, "LIVEKIT_API_KEY"),
            livekit_api_secret=_str(e, "LIVEKIT_API_SECRET"),
            agent_name=_str(e, "AGENT_NAME"),
            brain=_str(e, "BRAIN").lower(),
            stt=_str(e, "STT").lower(),
            llm=_str(e, "LLM").lower(),
            tts=_str(e, "TTS").lower(),
            turn_detector=_str(e, "TURN_DETECTOR").lower(),
            openai_api_key=_str(e, "OPENAI_API_KEY"),
            openai_base_url=_str(e, "OPENAI_BASE_URL"),
            openai_model=_str(e, "OPENAI_MODEL", d.openai_model),
            openai_realtime_model=_str(e, "OPENAI_REALTIME_MODEL", d.openai_realtime_model),
            openai_realtime_base_url=_str(e, "OPENAI_REALTIME_BASE_URL"),
            openai_voice=_str(e, "OPENAI_VOICE", d.openai_voice),
            hybrid_reasoner_model=_str(e, "HYBRID_REASONER_MODEL", d.hybrid_reasoner_model),
            deepgram_api_key=_str(e, "DEEPGRAM_API_KEY"),
            deepgram_base_url=_str(e, "DEEPGRAM_BASE_URL"),
            deepgram_model=_str(e, "DEEPGRAM_MODEL", d.deepgram_model),
            cartesia_api_key=_str(e, "CARTESIA_API_KEY"),
            cartesia_base_url=_str(e, "CARTESIA_BASE_URL"),
            cartesia_model=_str(e, "CARTESIA_MODEL", d.cartesia_model),
            cartesia_voice=_str(e, "CARTESIA_VOICE", d.cartesia_voice),
            models_dir=_str(e, "VOICE_SUITE_MODELS", d.models_dir),
            local_stt_model=_str(e, "LOCAL_STT_MODEL"),
            local_phone_stt=_choice(e, "LOCAL_PHONE_STT", d.local_phone_stt, PHONE_STT_MODELS),
            local_phone_stt_beam=_beam(e, "LOCAL_PHONE_STT_BEAM", d.local_phone_stt_beam),
            local_phone_stt_window=_window(e, "LOCAL_PHONE_STT_WINDOW", d.local_phone_stt_window),
            local_stt_window=_window(e, "LOCAL_STT_WINDOW", d.local_stt_window),
            local_stt_second_listen=_choice(
                e, "LOCAL_STT_SECOND_LISTEN", d.local_stt_second_listen, ("base", "off")
            ),
            local_stt_speculate=_choice(
                e, "LOCAL_STT_SPECULATE", d.local_stt_speculate, ("wideband", "all", "off")
            ),
            local_llm_model=_str(e, "LOCAL_LLM_MODEL"),
            local_tts_voice=_str(e, "LOCAL_TTS_VOICE"),
            local_llm_threads=int(threads_raw),
            local_llm_tool_bias=_float(e, "LOCAL_LLM_TOOL_BIAS", d.local_llm_tool_bias),
            local_model_ack_delay=_seconds_or_off(
                e, "LOCAL_MODEL_ACK_DELAY", d.local_model_ack_delay
            ),
            orders_db=_str(e, "ORDERS_DB", d.orders_db),
            orders_days=_float(e, "ORDERS_DAYS", d.orders_days),
            transfer_to=_str(e, "TRANSFER_TO"),
            max_call_duration=_float(e, "MAX_CALL_DURATION", d.max_call_duration),
            silence_timeout=_float(e, "SILENCE_TIMEOUT", d.silence_timeout),
            answer_timeout=_float(e, "ANSWER_TIMEOUT", d.answer_timeout),
            aec_warmup=_auto_or_seconds(e, "AEC_WARMUP"),
            tool_timeout=_float(e, "TOOL_TIMEOUT", d.tool_timeout),
            filler_delay=_float(e, "FILLER_DELAY", d.filler_delay),
            local_fallback=_choice(e, "LOCAL_FALLBACK", d.local_fallback, ("auto", "on", "off")),
            fallback_attempt_timeout=_float(
                e, "FALLBACK_ATTEMPT_TIMEOUT", d.fallback_attempt_timeout
            ),
            fallback_retries=_count(e, "FALLBACK_RETRIES", d.fallback_retries),
            failover_deadline=_float(e, "FAILOVER_DEADLINE", d.failover_deadline),
            max_failed_turns=_count(e, "MAX_FAILED_TURNS", d.max_failed_turns, minimum=1),
            call_records_dir=_str(e, "CALL_RECORDS_DIR", d.call_records_dir),
            call_records_days=_float(e, "CALL_RECORDS_DAYS", d.call_records_days),
            price_table=_str(e, "PRICE_TABLE"),
            guardrail_policy=_str(e, "GUARDRAIL_POLICY"),
            guardrail_block=_str(e, "GUARDRAIL_BLOCK"),
            guardrail_judge=_str(e, "GUARDRAIL_JUDGE"),
            upload_recordings=_choice(e, "UPLOAD_RECORDINGS", d.upload_recordings, ("off", "on")),
            prometheus_port=_port("PROMETHEUS_PORT", _str(e, "PROMETHEUS_PORT")),
            max_calls=_count(e, "MAX_CALLS", d.max_calls),
            job_executor=_choice(e, "JOB_EXECUTOR", d.job_executor, ("process", "thread")),
            log_level=_log_level(e, "LOG_LEVEL", d.log_level),
        )

    def redacted(self) -> dict[str, str]:
        """The settings as strings, secrets replaced by `set`/`unset` and any password inside
        a value (`ORDERS_DB`'s `user:PASSWORD@`, `?password=`) by `***`: safe to log."""
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                out[f.name] = "set" if value else "unset"
            else:
                out[f.name] = redact_passwords(str(value))
        return out


_URL_PASSWORD = re.compile(r"(?P<keep>://[^/?#@:]*:)[^/?#]*@")
_KEY_PASSWORD = re.compile(
    r"(?P<keep>\b(?:password|passwd|pwd|sslpassword|secret|token|api[_-]?key|access[_-]?key)"
    r"\s*=\s*)(?:'[^']*'|[^\s&;#]*)",
    re.IGNORECASE,
)


def redact_passwords(value: str) -> str:
    """`value` with the password of a URL's user (`scheme://user:PASSWORD@host`) and every
    `password=` / `token=` / `api_key=`... (a URL's query, a libpq `key=value` string)
    replaced by `***`."""
    value = _URL_PASSWORD.sub(r"\g<keep>***@", value)
    return _KEY_PASSWORD.sub(r"\g<keep>***", value)
