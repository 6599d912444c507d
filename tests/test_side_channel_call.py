"""A whole cascade call (real plugins against loopback servers) seen from the side channel:
what the metrics say, scraped from LiveKit's metrics HTTP server class started here while the
call is in progress and after it (the worker's own `PROMETHEUS_PORT` endpoint is scraped in
tests/test_worker_metrics.py); no tool argument
value appears in the call's INFO log, while DEBUG carries it with personal numbers masked by
the redaction the worker installs (`worker_started`, as `agents.worker.build_server` wires it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from livekit.agents.telemetry.http_server import HttpServer

from agents import worker
from agents.brain import choose_brain
from agents.config import Settings
from agents.side_channel import RedactingFilter
from agents.side_channel.log_redaction import OUR_LOGGERS
from evals.replay import replay_call
from evals.replay.recording import Recording, load_recording
from tests.loopback import CartesiaServer, DeepgramServer, OpenAIChatServer, ToolCall
from tests.loopback.suite import cascade_settings

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "samples" / "coffee_call.json").read_text())
SECRET_QUERY = "zanzibar mocha on card 4111111111111111"


@pytest.fixture(scope="module")
def first_turn() -> Recording:
    rec = load_recording(ROOT / "samples" / "coffee_call.wav")
    end = MANIFEST["caller_turns"][0]["end"] + 5.0
    return dataclasses.replace(rec, pcm=rec.pcm[: int(end * rec.sample_rate)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _value(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(",")))
            if got == want or (not labels and not m.group(2)):
                return float(m.group(3))
    return 0.0


class _Capture(logging.Handler):
    """A root handler like LiveKit's; the worker's own wiring puts the redaction on it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in vars(record).items() if k not in ("msg", "args")}
        self.lines.append(
            (record.levelno, record.getMessage() + " " + json.dumps(extras, default=str))
        )


@pytest.mark.slow
async def test_metrics_scraped_during_a_call_and_no_tool_arguments_at_info(
    first_turn: Recording, tmp_path: Path
) -> None:
    def llm_script(request: dict[str, Any]) -> Any:
        messages = request["messages"]
        if messages[-1]["role"] == "tool":
            return "We have a mocha."
        if not any(m["role"] == "user" for m in messages):
            return "Hello!"
        return ToolCall("get_menu_items", {"query": SECRET_QUERY})

    port = _free_port()
    metrics_server = HttpServer("127.0.0.1", port)
    await metrics_server.start()
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    # what the worker does once LiveKit has set up logging (`agents.worker.build_server`)
    worker.build_server(Settings()).emit("worker_started")
    assert [f for f in capture.filters if isinstance(f, RedactingFilter)]
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        async with (
            aiohttp.ClientSession() as http,
            DeepgramServer(["Hi, I'd like a large mocha, please."]) as dg,
            OpenAIChatServer(llm_script) as oa,
            CartesiaServer(seconds_per_char=0.02) as ca,
        ):
            before = await (await http.get(url)).text()
            settings = cascade_settings(
                dg,
                oa,
                ca,
                orders_db=str(tmp_path / "orders.sqlite"),
                call_records_dir=str(tmp_path / "calls"),
            )
            task = asyncio.create_task(
                replay_call(
                    settings, choose_brain(settings), first_turn, ogg_path=tmp_path / "c.ogg"
                )
            )
            during = ""
            while not task.done():
                during = await (await http.get(url)).text()
                tool_ok = _value(
                    during, "voice_tool_calls_total", tool="get_menu_items", status="ok"
                )
                if tool_ok > _value(
                    before, "voice_tool_calls_total", tool="get_menu_items", status="ok"
                ):
                    break
                await asyncio.sleep(0.2)
            assert not task.done(), "the call ended before the scrape saw its tool call"
            await task
            after = await (await http.get(url)).text()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        for name in OUR_LOGGERS:
            logging.getLogger(name).filters.clear()
        await metrics_server.aclose()

    # during the call: one call active, its tool call counted
    assert _value(during, "voice_calls_active", brain="cascade") >= 1
    assert "lk_agents_" in during or "python_gc" in during  # LiveKit's / the default registry
    # after: the call counted by brain and end reason, its turn latency observed
    key = {"brain": "cascade", "end_reason": "recording_ended"}
    assert (
        _value(after, "voice_calls_total", **key) == _value(before, "voice_calls_total", **key) + 1
    )
    count = "voice_turn_latency_seconds_count"
    assert _value(after, count, brain="cascade") > _value(before, count, brain="cascade")
    assert _value(after, "voice_calls_active", brain="cascade") == _value(
        before, "voice_calls_active", brain="cascade"
    )

    info = [line for level, line in capture.lines if level >= logging.INFO]
    debug = [line for level, line in capture.lines if level < logging.INFO]
    assert any("tool get_menu_items ok" in line for line in info), info[-20:]
    assert not [line for line in info if "zanzibar" in line.lower()]
    # DEBUG has the arguments, with the card number masked by the redacting filter
    assert any("zanzibar" in line for line in debug)
    assert any("[card ending 1111]" in line for line in debug)
    assert not [line for line in capture.lines if "4111111111111111" in line[1]]
