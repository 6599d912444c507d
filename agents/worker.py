"""The LiveKit worker: `python agent.py dev|start|console|connect` through LiveKit's own CLI.

Each job (a room with a caller: playground user or SIP call) picks its brain with
`agents.selection.choose_brain`, logs the choice and why, and runs the coffee agent.
"""

from __future__ import annotations

import logging
import sys

from livekit.agents import AgentServer, JobContext, JobProcess, cli

# LiveKit plugins must register on the main thread (console jobs run in a thread): import
# every plugin a brain can name here, once, before any job starts.
from livekit.plugins import (  # noqa: F401
    cartesia,
    deepgram,
    fasterwhisper,
    llamacpp,
    openai,
    piper,
    semantic_turn,
    silero,
)

from .brains import PROFILES
from .call import open_call
from .config import ConfigError, Settings, load_env
from .log import logger
from .selection import Caller, choose_brain

load_env()
SETTINGS = Settings.from_env()


def prewarm(proc: JobProcess) -> None:
    """Load once per worker process what every job would otherwise load: Silero VAD and,
    when the offline brain can be chosen, the local models (Whisper, SmolLM2, Piper and
    our turn detector). Jobs then build plugin objects that reuse the loaded weights."""
    proc.userdata["vad"] = silero.VAD.load()
    from .local_models import prewarm_local_models, wants_local_models

    if wants_local_models(SETTINGS):
        prewarm_local_models(SETTINGS)


# loading the offline models in prewarm takes ~10 s on 2 cores (LiveKit's default: 10 s)
server = AgentServer(setup_fnc=prewarm, initialize_process_timeout=120.0)


@server.rtc_session(agent_name=SETTINGS.agent_name)
async def entrypoint(ctx: JobContext) -> None:
    caller: Caller | None = None
    if not ctx.is_fake_job():
        # a SIP caller or playground user: the participant decides the telephony variant
        participant = await ctx.wait_for_participant()
        caller = Caller.from_participant(participant)
    choice = choose_brain(SETTINGS, job_metadata=ctx.job.metadata, caller=caller)
    logger.info(
        choice.explain(),
        extra={"brain": choice.profile.name, "source": choice.source, "room": ctx.room.name},
    )
    call = await open_call(SETTINGS, choice, vad_model=ctx.proc.userdata.get("vad"), room=ctx.room)
    ctx.add_shutdown_callback(call.aclose)
    await call.session.start(agent=call.agent, room=ctx.room)
    logger.info("session started", extra={"brain": choice.profile.name})


def main() -> None:
    logging.getLogger("voice_suite").setLevel(SETTINGS.log_level)
    try:
        if SETTINGS.brain and SETTINGS.brain not in PROFILES:
            raise ConfigError(f"BRAIN={SETTINGS.brain!r} is not one of: {', '.join(PROFILES)}")
        choose_brain(SETTINGS)  # stage overrides are checked now, not when a call arrives
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    cli.run_app(server)
