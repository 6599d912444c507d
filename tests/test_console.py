"""`python agent.py console --text` exchanges one turn offline (no LiveKit server, no keys):
LiveKit's own console runs the worker's entrypoint in a mock room on the offline brain, and
SmolLM2 answers a typed line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY_VARS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "OPENAI_BASE_URL", "BRAIN")


@pytest.mark.slow
def test_console_text_mode_answers_one_turn(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    # BRAIN set explicitly: a developer's .env.local with keys must not turn this into a cloud call
    env.update(ORDERS_DB=str(tmp_path / "orders.sqlite"), TERM="xterm", BRAIN="local")
    child = pexpect.spawn(
        sys.executable, [str(ROOT / "agent.py"), "console", "--text"],
        cwd=str(ROOT), env=env, encoding="utf-8", timeout=180, dimensions=(50, 200),
    )  # fmt: skip
    log = (tmp_path / "console.log").open("w")
    child.logfile_read = log
    try:
        child.expect("brain 'local'")
        child.expect("session started")
        child.send("Do you have a mocha?\r")
        child.expect("You")
        child.expect("Agent")
        # the agent's words come on the next line(s): at least one letter, not a prompt
        child.expect(r"\n\s+[A-Za-z][^\n]{3,}")
        assert child.isalive()
    finally:
        child.terminate(force=True)
        log.close()
    text = (tmp_path / "console.log").read_text()
    assert "brain 'local': BRAIN asked for it" in text
