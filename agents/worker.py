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
import sys

from livekit.agents import NOT_GIVEN, AgentServer, JobContext, JobProcess, cli, room_io

from .brain import PROFILES, Caller, choose_brain
from .brain.local_models import prewarm_local_models, wants_local_models
from .call import open_call
from .call_limits import wait_for_answer
from .config import ConfigError, Settings, load_env
from .log import logger

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
    our turn detector). Jobs then build plugin objects that reuse the loaded weights."""
    from livekit.plugins import silero

    proc.userdata["vad"] = silero.VAD.load()
    if wants_local_models(settings()):
        prewarm_local_models(settings())


async def entrypoint(ctx: JobContext) -> None:
    s = settings()
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
    call = await open_call(s, choice, vad_model=ctx.proc.userdata.get("vad"), room=ctx.room)
    ctx.add_shutdown_callback(call.aclose)
    # the session hears the participant the brain was chosen for, not whoever joins next
    identity = caller.identity if caller is not None else NOT_GIVEN
    options = room_io.RoomOptions(participant_identity=identity)
    await call.session.start(agent=call.agent, room=ctx.room, room_options=options)
    logger.info("session started", extra={"brain": choice.profile.name})


def log_settings(s: Settings) -> None:
    """Every setting the worker runs with, secrets as `set`/`unset` (`Settings.redacted`)."""
    logger.info("worker settings", extra={"settings": s.redacted()})


def build_server(s: Settings) -> AgentServer:
    # loading the offline models in prewarm takes ~10 s on 2 cores (LiveKit's default: 10 s)
    server = AgentServer(setup_fnc=prewarm, initialize_process_timeout=120.0)
    # once per worker, after LiveKit has set up logging
    server.on("worker_started", functools.partial(log_settings, s))
    server.rtc_session(agent_name=s.agent_name)(entrypoint)
    return server


def check_startup(s: Settings, argv: list[str]) -> None:
    """Everything a worker can know is wrong before it registers: raises ConfigError."""
    if s.brain and s.brain not in PROFILES:
        raise ConfigError(f"BRAIN={s.brain!r} is not one of: {', '.join(PROFILES)}")
    choose_brain(s)  # stage overrides are checked now, not when a call arrives
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
    import_plugins(s)


def main() -> None:
    try:
        s = settings()
        logging.getLogger("voice_suite").setLevel(s.log_level)
        check_startup(s, sys.argv)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    cli.run_app(build_server(s))
