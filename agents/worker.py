"""The media-server side: the LiveKit worker behind `python agent.py dev|start|console|connect`.

Owns: the `AgentServer`, per-process prewarm and the job entrypoint. Each job (a room with a
caller: playground user or SIP call) picks its brain with `agents.brain.choose_brain`, logs the
choice and why, and runs the call that `agents.call.open_call` assembles.

Settings are read when the worker starts (`main()`), never at import time, so importing this
module has no side effects. Local engines (llama.cpp, faster-whisper, Piper) are imported only
when the offline brain can be chosen: a cloud-only install needs none of them.

May import: `agents.config`, `agents.brain`, `agents.call`, `agents.side_channel`, livekit.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys

from livekit.agents import (
    NOT_GIVEN,
    AgentServer,
    JobContext,
    JobExecutorType,
    JobProcess,
    RecordingOptions,
    cli,
    room_io,
)
from livekit.agents.utils.misc import is_cloud

from tools.coffee import DbConfigError, check_orders_db

from .brain import PROFILES, Caller, choose_brain, missing_keys
from .brain.assembly import silero_vad
from .brain.local_models import prewarm_local_models, wants_local_models
from .brain.profiles import SILERO_SILENCE
from .call import Call, open_call
from .call_limits import wait_for_answer
from .config import ConfigError, Settings, load_env
from .log import logger
from .prometheus_dir import prometheus_dir
from .side_channel import default_guardrails, install_log_redaction, prune_records
from .side_channel.cost import load_prices
from .worker_load import CallLoad

CLOUD_PLUGINS = ("openai", "deepgram", "cartesia", "silero", "semantic_turn")
LOCAL_PLUGINS = ("fasterwhisper", "llamacpp", "piper")
SERVER_COMMANDS = ("dev", "start", "connect")
"""CLI commands that talk to a LiveKit server (console runs a mock room instead)."""


@functools.cache
def settings() -> Settings:
    """The worker's settings, read once per process from the environment and `.env.local`
    (job processes inherit the environment and read the same values)."""
    load_env()
    return Settings.from_env()


def import_plugins(s: Settings) -> list[str]:
    """Import the plugins a call may need, on the main thread, before any job starts
    (LiveKit plugins register themselves on import; console jobs run in a thread).
    Raises ConfigError naming the missing package when the offline brain can be chosen but
    its engines are not installed."""
    names = list(CLOUD_PLUGINS)
    if wants_local_models(s):
        names += LOCAL_PLUGINS
    for name in names:
        try:
            importlib.import_module(f"livekit.plugins.{name}")
        except ImportError as e:
            extra = " (local engines: see README, 'Installing')" if name in LOCAL_PLUGINS else ""
            raise ConfigError(f"plugin livekit.plugins.{name} is not installed: {e}{extra}") from e
    return names


def prewarm(proc: JobProcess) -> None:
    """Load once per worker process what every job would otherwise load: Silero VAD and,
    when the offline brain can be chosen, the local models (Whisper, the local LLM, Piper and
    our turn detector). Jobs then build plugin objects that reuse the loaded weights.
    With JOB_EXECUTOR=thread LiveKit runs this once per job thread: the VAD is the one
    process-wide instance, shared by every call of the process."""
    install_log_redaction()  # this job process's logging is set up by now
    proc.userdata["vad"] = silero_vad(SILERO_SILENCE)
    if wants_local_models(settings()):
        prewarm_local_models(settings())


NOTHING_RECORDED = RecordingOptions(audio=False, traces=False, logs=False, transcript=False)


def uploads_possible(livekit_url: str) -> bool:
    """Whether LiveKit 1.8 uploads what it records for a job (`livekit/agents/job.py`,
    `_observability_url`): when `LIVEKIT_OBSERVABILITY_URL` is set or the server is LiveKit
    Cloud (`*.livekit.cloud`, `*.livekit.run`)."""
    return bool(os.environ.get("LIVEKIT_OBSERVABILITY_URL")) or is_cloud(livekit_url)


def recording_options(s: Settings, livekit_url: str, *, keep_audio: bool) -> RecordingOptions:
    """What the session records: the call audio (LiveKit's RecorderIO, copied into the call
    record) unless LiveKit would upload it and `UPLOAD_RECORDINGS` is not `on`; never traces,
    logs or the transcript (those would only exist to be uploaded)."""
    audio = keep_audio and (s.upload_recordings == "on" or not uploads_possible(livekit_url))
    return RecordingOptions(audio=audio, traces=False, logs=False, transcript=False)


async def entrypoint(ctx: JobContext) -> None:
    s = settings()
    # the URL LiveKit itself decides uploads by (no public accessor in 1.8)
    job_url = getattr(getattr(ctx, "_info", None), "url", "") or s.livekit_url
    if not ctx.is_fake_job() and s.upload_recordings != "on":
        # before anything is logged or recorded: LiveKit uploads nothing for this job, not even
        # the crash logs it buffers for a Cloud project that records (a later start() keeps this)
        ctx.init_recording(NOTHING_RECORDED)
    caller: Caller | None = None
    if not ctx.is_fake_job():
        # a SIP caller or playground user: the participant decides the telephony variant
        participant = await ctx.wait_for_participant()
        caller = Caller.from_participant(participant)
        # a SIP caller is greeted only once the call is answered (sip.callStatus active)
        if not await wait_for_answer(ctx.room, participant, timeout=s.answer_timeout):
            logger.info("the SIP call ended before it was answered", extra={"room": ctx.room.name})
            ctx.shutdown(reason="not answered")
            return
    choice = choose_brain(s, job_metadata=ctx.job.metadata, caller=caller)
    logger.info(
        choice.explain(),
        extra={"brain": choice.profile.name, "source": choice.source, "room": ctx.room.name},
    )
    kind = "console" if caller is None else ("sip" if caller.is_sip else "participant")
    call = await open_call(
        s, choice, vad_model=ctx.proc.userdata.get("vad"), room=ctx.room, caller_kind=kind,
        # the room's sid: the same for a job retried on another worker, never reused
        call_id=None if ctx.is_fake_job() else (ctx.job.room.sid or ctx.room.name),
    )  # fmt: skip

    async def on_shutdown(reason: str) -> None:
        # a plain coroutine function: LiveKit reads the callback's __code__ to decide whether
        # to pass the reason, and a functools.partial has none (every job crashed here)
        await close_call(ctx, call, reason)

    ctx.add_shutdown_callback(on_shutdown)
    # the session hears the participant the brain was chosen for, not whoever joins next
    identity = caller.identity if caller is not None else NOT_GIVEN
    options = room_io.RoomOptions(participant_identity=identity)
    # LiveKit's RecorderIO writes the stereo call audio; uploaded only with UPLOAD_RECORDINGS=on
    record = recording_options(s, job_url, keep_audio=call.record is not None)
    if call.record is not None and not record.get("audio"):
        logger.info("no call audio recorded: LiveKit would upload it (UPLOAD_RECORDINGS=off)")
    await call.session.start(agent=call.agent, room=ctx.room, room_options=options, record=record)
    logger.info("session started", extra={"brain": choice.profile.name})


async def close_call(ctx: JobContext, call: Call, reason: str = "") -> None:
    """The job's end: the session closed, its stereo recording copied into the call record
    (`call.ogg`), the record ended (unless something already said how) and the call closed."""
    await call.session.aclose()
    if call.record is not None:
        call.record.save_audio(ctx.session_directory / "audio.ogg")
        call.record.end(reason or "job_shutdown")
    await call.aclose()


def log_settings(s: Settings) -> None:
    """Every setting the worker runs with, secrets as `set`/`unset` (`Settings.redacted`)."""
    logger.info("worker settings", extra={"settings": s.redacted()})


def build_server(s: Settings) -> AgentServer:
    # loading the offline models in prewarm takes ~10 s on 2 cores (LiveKit's default: 10 s)
    port = int(s.prometheus_port) if s.prometheus_port else None
    server = AgentServer(
        setup_fnc=prewarm,
        initialize_process_timeout=120.0,
        job_executor_type=JobExecutorType(s.job_executor),
        # no new job once CPU or the call count nears what the worker carries in real time
        load_fnc=CallLoad(s.max_calls),
        # /metrics: LiveKit's worker metrics and ours (agents.side_channel.call_metrics),
        # summed over the worker and job processes (agents.prometheus_dir: agent.py sets the
        # folder before LiveKit is imported)
        prometheus_port=port,
        # (one directory per port: LiveKit empties it when the worker starts)
        prometheus_multiproc_dir=str(prometheus_dir(port)) if port else None,
    )
    server.on("worker_started", install_log_redaction)
    # once per worker, after LiveKit has set up logging
    server.on("worker_started", functools.partial(log_settings, s))
    server.rtc_session(agent_name=s.agent_name)(entrypoint)
    return server


def check_startup(s: Settings, argv: list[str]) -> None:
    """Everything a worker can know is wrong before it registers: raises ConfigError."""
    if s.brain and s.brain not in PROFILES:
        raise ConfigError(f"BRAIN={s.brain!r} is not one of: {', '.join(PROFILES)}")
    # stage overrides and chains are checked now, not when a call arrives
    default = choose_brain(s)
    missing = missing_keys(default.profile, s)
    if missing:
        raise ConfigError(f"{default.explain()}, but it needs {', '.join(missing)}")
    command = next((a for a in argv[1:] if not a.startswith("-")), "")
    if (
        command in SERVER_COMMANDS
        and not s.livekit_url
        and not any(a.startswith("--url") for a in argv)
    ):
        raise ConfigError(
            f"'{command}' needs a LiveKit server: set LIVEKIT_URL (and LIVEKIT_API_KEY, "
            "LIVEKIT_API_SECRET) in the environment or .env.local, or pass --url; "
            "'console' and 'replay' run without one"
        )
    try:
        default_guardrails(policy_file=s.guardrail_policy, block_regex=s.guardrail_block)
        # a bad PRICE_TABLE stops the worker here, in one line
        logger.info(load_prices(s.price_table).describe())
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if s.guardrail_judge and not (s.openai_api_key or s.openai_base_url):
        raise ConfigError(
            "GUARDRAIL_JUDGE needs OPENAI_API_KEY, or OPENAI_BASE_URL (an OpenAI-compatible server)"
        )
    if command in (*SERVER_COMMANDS, "console"):
        # the order store is reached and migrated now: a bad ORDERS_DB never fails a call
        try:
            logger.info(check_orders_db(s.orders_db, orders_days=s.orders_days))
        except DbConfigError as e:
            raise ConfigError(str(e)) from None
    import_plugins(s)


def main() -> None:
    try:
        s = settings()
        logging.getLogger("voice_suite").setLevel(s.log_level)
        check_startup(s, sys.argv)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    prune_records(s.call_records_dir, s.call_records_days)
    cli.run_app(build_server(s))
