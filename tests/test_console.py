"""`python agent.py console --text` exchanges one turn offline (no LiveKit server, no keys):
LiveKit's own console runs the worker's entrypoint in a mock room on the offline brain, and the
agent's reply to a typed line is read from the line under the console's `● Agent` header (not
from anywhere in the output, where a log line or a traceback would also match)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY_VARS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "OPENAI_BASE_URL", "BRAIN")
_STYLE = r"(?:\x1b\[[0-9;]*m)*"
"""Colour codes the console wraps around its headers."""


LOG_LINE = r"[^\r\n]*\d\d:\d\d:\d\d\.\d{3}[^\r\n]*\r?\n(?: {10,}[^\r\n]*\r?\n)*"
"""A log record the console prints (`    21:59:10.305 DEBUG ...`, maybe after a spinner or a
cursor code) with its indented continuation lines: it can land between a header and its words."""


def speaker_line(speaker: str, text: str = r"[^\x1b\r\n]+") -> str:
    """The console's transcript entry: a `● <speaker>` header, then the words on the next line
    that is not a log record, indented four spaces."""
    return (
        rf"●\s{_STYLE}{speaker}{_STYLE}\r?\n(?:{LOG_LINE})*? {{4}}(?!\d\d:\d\d:\d\d)({text})\r?\n"
    )


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
        child.expect(speaker_line("You", re.escape("Do you have a mocha?")))
        child.expect(speaker_line("Agent"))
        reply = child.match.group(1).strip()
        assert child.isalive()
    finally:
        child.terminate(force=True)
        log.close()
    text = (tmp_path / "console.log").read_text()
    assert "brain 'local': BRAIN asked for it" in text
    # the offline brain looked the drink up and answered about it, in words
    assert "mocha" in reply.lower(), reply
    assert not re.search(r"traceback|error|exception", reply, re.I), reply


def test_reply_pattern_takes_only_the_agents_words() -> None:
    agent = re.compile(speaker_line("Agent"))
    styled = "\x1b[92m  ● \x1b[0m\x1b[1;92mAgent\x1b[0m\n    Yes, we have Mocha.\n    \x1b[2mllm"
    found = agent.search(styled)
    assert found and found.group(1) == "Yes, we have Mocha."
    # what the old pattern also accepted: a log or error line after the header, or no header
    log_line = "  ● Agent\n    21:59:10.305 ERROR    livekit.agents  unhandled exception\n"
    assert agent.search(log_line) is None
    assert agent.search("Traceback (most recent call last):\n  File x\n") is None
    assert agent.search("  ● You\n    Do you have a mocha?\n") is None
    # a log record printed between the header and the words is skipped, not taken as the reply
    interleaved = (  # as printed: colour codes inside the log record
        "  ● \x1b[0m\x1b[1;96mAgent\x1b[0m\n    \x1b[2;36m23:05:26.090\x1b[0m\x1b[2;36m \x1b[0m"
        "\x1b[36mDEBUG   \x1b[0m livekit.agents     conversation_item_added\n"
        '                                      {"role": "assistant"}\n'
        "    Yes, we have Mocha.\n"
    )
    found = agent.search(interleaved)
    assert found and found.group(1) == "Yes, we have Mocha."
