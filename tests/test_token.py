"""`agent.py token`: a join token signed with the project's key, decoded and checked."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from livekit import api

from agents import join_token
from agents.config import Settings

ROOT = Path(__file__).resolve().parent.parent
KEY, SECRET = "devkey", "a-test-secret-that-is-long-enough-for-hs256"


def _run(*args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "AGENT_NAME"))}
    env.update(LIVEKIT_API_KEY=KEY, LIVEKIT_API_SECRET=SECRET, **env_extra)
    return subprocess.run(
        [sys.executable, "agent.py", "token", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_token_joins_the_room_with_the_brain_attribute():
    done = _run("--room", "demo", "--identity", "alice", "--brain", "native", "--ttl", "30m",
                LIVEKIT_URL="ws://127.0.0.1:7880")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1  # the token alone on stdout: TOKEN=$(agent.py token ...)
    claims = api.TokenVerifier(KEY, SECRET).verify(lines[0])
    assert claims.identity == "alice"
    assert claims.video is not None and claims.video.room_join and claims.video.room == "demo"
    assert claims.attributes == {"brain": "native"}
    assert claims.room_config is None  # automatic dispatch: AGENT_NAME is empty
    # where to paste it
    assert "ws://127.0.0.1:7880" in done.stderr and "Token" in done.stderr
    assert "30m" in done.stderr


@pytest.fixture
def keys(monkeypatch):
    """In-process `main`: the test's keys, no developer .env.local, no AGENT_NAME."""
    monkeypatch.setattr(join_token, "load_env", lambda: None)
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    monkeypatch.delenv("AGENT_NAME", raising=False)
    return monkeypatch


def test_token_with_a_wrong_secret_does_not_verify(keys, capsys):
    assert join_token.main(["--room", "demo"]) == 0
    jwt = capsys.readouterr().out.strip()
    assert api.TokenVerifier(KEY, SECRET).verify(jwt).identity.startswith("caller-")
    with pytest.raises(Exception):  # noqa: B017 - PyJWT's signature error
        api.TokenVerifier(KEY, "another-secret-of-a-reasonable-length-xx").verify(jwt)


def test_ttl_and_explicit_dispatch_are_in_the_claims():
    settings = Settings(livekit_api_key=KEY, livekit_api_secret=SECRET, agent_name="coffee-agent")
    jwt = join_token.build_token(
        settings, room="r1", identity="bob", ttl=join_token.parse_ttl("2h")
    )
    claims = api.TokenVerifier(KEY, SECRET).verify(jwt)
    assert claims.identity == "bob" and not claims.attributes
    assert claims.room_config is not None
    assert [a.agent_name for a in claims.room_config.agents] == ["coffee-agent"]
    import jwt as pyjwt

    raw = pyjwt.decode(jwt, SECRET, algorithms=["HS256"])
    assert raw["exp"] - raw["nbf"] == 2 * 3600


@pytest.mark.parametrize(
    ("raw", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400)]
)
def test_parse_ttl(raw, seconds):
    assert join_token.parse_ttl(raw) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--room", "demo", "--brain", "telepathy"], "--brain 'telepathy' is not one of"),
        (["--room", "demo", "--ttl", "forever"], "is not a duration"),
        (["--room", "demo", "--ttl", "0"], "longer than zero"),
        (["--room", "demo", "--ttl", "90d"], "longer than 30 days"),
        (["--room", "  "], "--room must not be empty"),
    ],
)
def test_bad_arguments_are_one_line(keys, capsys, args, message):
    assert join_token.main(args) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert message in out.err


def test_missing_keys_are_one_line(keys, capsys):
    for name in ("LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        keys.delenv(name, raising=False)
    assert join_token.main(["--room", "demo"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith("error: 'token' needs LIVEKIT_API_KEY and LIVEKIT_API_SECRET")
    assert len(out.err.strip().splitlines()) == 1
