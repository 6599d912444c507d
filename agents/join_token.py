"""`python agent.py token --room NAME [--identity ID] [--brain NAME] [--ttl 6h]`: a join token.

Signs a LiveKit access token with `LIVEKIT_API_KEY` / `LIVEKIT_API_SECRET` (environment or
`.env.local`) that joins room NAME as participant ID, with the participant attribute `brain`
when `--brain` is given (the worker's brain selection reads it: `agents.brain.selection`).
When `AGENT_NAME` is set (explicit dispatch), the token's room configuration dispatches that
agent to the room, so the worker joins as soon as the browser does.

The token alone goes to stdout (`TOKEN=$(python agent.py token --room r)` works); where to
paste it goes to stderr. Missing keys, an unknown brain or a bad TTL: one line, exit 2.

May import: `agents.config`, `agents.brain`, livekit-api and the standard library.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import warnings
from datetime import datetime, timedelta, timezone

from livekit import api

from .brain import PROFILES
from .config import ConfigError, Settings, load_env

DEFAULT_TTL = "6h"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL = timedelta(days=30)

PLAYGROUND_HELP = """\
Talk to the agent from a browser (the worker must be running: python agent.py dev):
  1. open the LiveKit Agents Playground (https://agents-playground.livekit.io), or any LiveKit
     client that takes a server URL and a token;
  2. choose the manual connection (not "LiveKit Cloud" sign-in) and paste
       URL:   {url}
       Token: the line printed on stdout above;
  3. connect and allow the microphone: the agent greets you in room {room!r}{brain_note}.
The token is valid until {expires} ({ttl})."""


def parse_ttl(raw: str) -> timedelta:
    """`90s`, `30m`, `6h`, `1d` or plain seconds -> timedelta; ConfigError otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", raw.lower())
    if not m:
        raise ConfigError(f"--ttl {raw!r} is not a duration: use e.g. 90s, 30m, 6h or 1d")
    ttl = timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2) or "s"])
    if ttl <= timedelta(0):
        raise ConfigError(f"--ttl {raw!r} must be longer than zero")
    if ttl > MAX_TTL:
        raise ConfigError(f"--ttl {raw!r} is longer than {MAX_TTL.days} days")
    return ttl


def build_token(
    settings: Settings, *, room: str, identity: str, brain: str = "", ttl: timedelta
) -> str:
    """The signed JWT; ConfigError when the keys are missing or an argument is unusable."""
    if not settings.livekit_api_key or not settings.livekit_api_secret:
        raise ConfigError(
            "'token' needs LIVEKIT_API_KEY and LIVEKIT_API_SECRET (environment or .env.local; "
            "for livekit-server --dev: devkey / secret)"
        )
    if not room.strip():
        raise ConfigError("--room must not be empty")
    if brain and brain not in PROFILES:
        raise ConfigError(f"--brain {brain!r} is not one of: {', '.join(PROFILES)}")
    token = (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(identity)
        .with_name(identity)
        .with_ttl(ttl)
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=room,
                can_publish=True,
                can_subscribe=True,
                can_publish_data=True,
            )
        )  # fmt: skip
    )
    if brain:
        token = token.with_attributes({"brain": brain})
    if settings.agent_name:
        token = token.with_room_config(
            api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=settings.agent_name)])
        )
    with warnings.catch_warnings():
        # livekit-server --dev's secret ("secret") is shorter than PyJWT recommends
        warnings.simplefilter("ignore")
        return token.to_jwt()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="agent.py token", description="Print a LiveKit join token for the playground."
    )
    p.add_argument("--room", required=True, help="room to join (the agent is dispatched there)")
    p.add_argument("--identity", default="", help="participant identity (default: caller-XXXX)")
    p.add_argument(
        "--brain", default="", help=f"participant attribute brain: {', '.join(PROFILES)}"
    )
    p.add_argument("--ttl", default=DEFAULT_TTL, help="validity, e.g. 30m, 6h, 1d (default 6h)")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        load_env()
        settings = Settings.from_env()
        ttl = parse_ttl(args.ttl)
        identity = args.identity.strip() or f"caller-{secrets.token_hex(3)}"
        brain = args.brain.strip().lower()
        jwt = build_token(settings, room=args.room.strip(), identity=identity, brain=brain, ttl=ttl)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(jwt)
    expires = (datetime.now(timezone.utc) + ttl).strftime("%Y-%m-%d %H:%M UTC")
    print(
        PLAYGROUND_HELP.format(
            url=settings.livekit_url or "(LIVEKIT_URL is not set: your server's ws(s):// URL)",
            room=args.room.strip(),
            brain_note=f" with the {brain} brain" if brain else "",
            expires=expires,
            ttl=args.ttl,
        ),
        file=sys.stderr,
    )
    return 0
