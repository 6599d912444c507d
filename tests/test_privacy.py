"""Privacy on the production path: what the worker logs (its settings line, its redaction as
the worker installs it, tracebacks), what the call record, replay and `evals.calls` write (a
card split over two caller turns), what the order store keeps (free-text notes), and what
LiveKit may upload (`UPLOAD_RECORDINGS`).

docs/security.md lists these claims with the test that holds each one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import AgentSession, RecordingOptions
from livekit.agents.cli.log import JsonFormatter
from livekit.agents.job import JobExecutorType, JobProcess, _observability_url

from agents import worker
from agents.config import Settings
from agents.side_channel import CallRecord, masked_rows
from agents.side_channel.log_redaction import OUR_LOGGERS
from evals.calls.audio import load_stereo
from evals.calls.labelled import CallScript, espeak, write_call_audio
from evals.calls.score import ScoreOptions, score_call, write_call
from tests.test_worker_entrypoint import ServerlessRoom, dispatched_job, participant
from tools.coffee import OrderStore

CARD = "4111 1111 1111 1111"
LONG_DIGITS = re.compile(r"\d(?:[\s\-_:.]*\d){6,}")
"""Seven digits or more in a row (any separators): what a masked text never holds."""


# ---------- what the worker logs ----------


@pytest.fixture
def worker_logging() -> Iterator[list[str]]:
    """A handler on the root logger, as LiveKit's CLI sets one up before `worker_started`,
    formatting every record the way LiveKit's JSON log does; the lines it printed."""
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture(level=logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name in OUR_LOGGERS:
            for f in list(logging.getLogger(name).filters):
                logging.getLogger(name).removeFilter(f)


def _start_worker(env: dict[str, str]) -> None:
    """What `main()` runs: `build_server`, then LiveKit emits `worker_started`."""
    worker.build_server(Settings.from_env(env)).emit("worker_started")


def test_settings_line_holds_no_database_password(worker_logging: list[str]) -> None:
    url = "postgresql://voice:hunter2@db:5432/orders?sslmode=require&password=swordfish"
    _start_worker({"ORDERS_DB": url, "OPENAI_API_KEY": "sk-x"})
    (line,) = [json.loads(x) for x in worker_logging if '"worker settings"' in x]
    assert line["settings"]["orders_db"] == (
        "postgresql://voice:***@db:5432/orders?sslmode=require&password=***"
    )
    assert "hunter2" not in "".join(worker_logging) and "swordfish" not in "".join(worker_logging)


def _prewarm_job_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What LiveKit runs in each job process before its first call (`setup_fnc`)."""
    s = Settings(brain="native", openai_api_key="sk-x", local_fallback="off")
    monkeypatch.setattr(worker, "settings", lambda: s)
    proc = JobProcess(executor_type=JobExecutorType.THREAD, user_arguments=None, http_proxy=None)
    worker.prewarm(proc)


@pytest.mark.parametrize("process", ["worker", "job"])
def test_the_worker_masks_messages_extras_and_tracebacks(
    worker_logging: list[str], monkeypatch: pytest.MonkeyPatch, process: str
) -> None:
    """In the worker process (`worker_started`) and in every job process (prewarm), where
    the calls run."""
    if process == "worker":
        _start_worker({})
    else:
        _prewarm_job_process(monkeypatch)
    log = logging.getLogger("tools.runtime")
    arguments = {"phone": "+44 7911 123456", "items": ["ssn 123-45-6789"]}
    log.debug("paid with %s", CARD, extra={"arguments": arguments})
    try:
        raise ValueError(f"card {CARD} declined, call 07911 123456")
    except ValueError:
        logging.getLogger("livekit.agents").exception("tool failed")
    text = "\n".join(worker_logging)
    assert "[card ending 1111]" in text and "[phone ending 3456]" in text
    assert "ssn [ssn ending 6789]" in text
    assert "Traceback" in text and "ValueError" in text
    assert CARD not in text and "7911 123456" not in text, text


# ---------- what is written: records, replay, evals.calls, the order store ----------


def test_call_record_masks_a_card_split_over_two_caller_turns(tmp_path: Path) -> None:
    rec = CallRecord.create(tmp_path, brain="text")
    rec.item({"role": "user", "text": "my card is 4111 1111"})
    rec.item({"role": "assistant", "text": "Go on."})
    rec.item({"role": "user", "text": "1111 1111, thanks"})
    rec.close()
    rows = [json.loads(x) for x in (rec.path / "transcript.jsonl").read_text().splitlines()]
    assert [r["text"] for r in rows] == [
        "my card is [number ending 1111]",  # written at once: the next turn may finish it
        "Go on.",
        "[card ending 1111], thanks",
    ]


def test_replay_rows_mask_a_card_split_over_two_caller_turns() -> None:
    """`masked_rows` is what `evals.replay` writes `transcript.jsonl` from."""
    rows = masked_rows(
        [
            {"role": "user", "text": "it is 4111 1111 1111"},
            {"role": "assistant", "text": "And the rest?"},
            {"role": "user", "text": "1111"},
            {"role": "tool", "text": 'add_order_item({"notes": "call 07911 123456"})'},
        ]
    )
    assert [r["text"] for r in rows] == [
        "it is [phone ending 1111]",  # 12 digits: masked as they stand
        "And the rest?",
        "[card ending 1111]",
        'add_order_item({"notes": "call [phone ending 3456]"})',
    ]


def test_scored_call_files_hold_no_personal_number(tmp_path: Path) -> None:
    script = CallScript(name="card", fmt="pcm16")
    hi = "What can I get you?"
    script.put("agent", espeak(hi, "en-us+m3"), hi, 0.3)
    script.caller_after(espeak("A mocha.", "en-us+f3"), "A mocha.", gap=0.6)
    script.answer(espeak("Card number?", "en-us+m3"), "Card number?", latency=0.6)
    script.caller_after(espeak("Four one.", "en-us+f3"), "Four one.", gap=0.6)
    script.answer(espeak("Thank you.", "en-us+m3"), "Thank you.", latency=0.6)
    write_call_audio(tmp_path / "card.wav", script.mix(seed=1), "pcm16")
    report = score_call(load_stereo(tmp_path / "card.wav"), ScoreOptions(stt=None))
    # what a transcribing run puts there: the caller's words, a card split over two turns
    said = ["my card is 4111 1111", "1111 1111, expires 12/27"]
    caller = [r for r in report["speech"] if r["channel"] == "caller"]
    assert len(caller) == 2 and len(report["turns"]) == 2
    for row, text in zip(caller, said, strict=True):
        row["text"] = text
    for turn, text in zip(report["turns"], said, strict=True):
        turn["caller_text"] = text
    folder = write_call(report, tmp_path / "out")
    for name in ("report.json", "report.html"):
        text = (folder / name).read_text()
        assert "[card ending 1111]" in text and "[expiry]" in text, name
        assert not LONG_DIGITS.search(re.sub(r"\d+\.\d+", "", text)), name


@pytest.mark.parametrize("field", ["add", "update"])
async def test_order_notes_never_hold_a_personal_number(tmp_path: Path, field: str) -> None:
    db = tmp_path / "orders.sqlite"
    store = OrderStore(str(db))
    await store.open()
    try:
        notes = f"extra hot; card {CARD} exp 12/27, call +44 7911 123456"
        added = await store.add_order_item(
            menu_item_id="latte", notes=notes if field == "add" else "extra hot"
        )
        if field == "update":
            await store.update_order_item(order_item_id=added["order_item_id"], notes=notes)
    finally:
        await store.close()
    (stored,) = sqlite3.connect(db).execute("SELECT notes FROM order_items").fetchone()
    assert stored == "extra hot; card [card ending 1111] exp [expiry], call [phone ending 3456]"


# ---------- what LiveKit may upload ----------


@pytest.mark.parametrize(
    ("url", "env"),
    [
        ("wss://demo.livekit.cloud", {}),
        ("ws://10.0.0.5:7880", {"LIVEKIT_OBSERVABILITY_URL": "https://obs.example"}),
        ("ws://10.0.0.5:7880", {}),
        ("wss://demo.livekit.run", {}),
    ],
)
def test_uploads_possible_follows_livekits_own_rule(
    monkeypatch: pytest.MonkeyPatch, url: str, env: dict[str, str]
) -> None:
    monkeypatch.delenv("LIVEKIT_OBSERVABILITY_URL", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert worker.uploads_possible(url) == (_observability_url(url) is not None)


async def _start_job(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, upload: str
) -> tuple[Any, RecordingOptions]:
    """The worker's real entrypoint for a dispatched room on `url`; `AgentSession.start`
    records its `record=` instead of opening room I/O (no server here)."""
    s = Settings(
        orders_db=str(tmp_path / "orders.sqlite"), call_records_dir=str(tmp_path / "calls"),
        brain="local", livekit_url=url, upload_recordings=upload,
    )  # fmt: skip
    monkeypatch.setattr(worker, "settings", lambda: s)
    records: list[RecordingOptions] = []

    async def start(self: AgentSession, agent: Any = None, **kwargs: Any) -> None:
        records.append(kwargs["record"])

    monkeypatch.setattr(AgentSession, "start", start)
    room = ServerlessRoom()
    with dispatched_job(room, url=url) as ctx:
        # a Cloud project that records: LiveKit buffers the job's logs for upload from the
        # start (ipc/job_proc_lazy_main.py), before the entrypoint runs
        ctx.job.enable_recording = True
        ctx._start_log_buffering()
        job = asyncio.create_task(worker.entrypoint(ctx))
        await asyncio.sleep(0.05)
        room.join(participant("caller"))
        await asyncio.wait_for(job, 120)
        for callback in ctx._shutdown_callbacks:
            await callback("test over")
        ctx._stop_log_buffering()  # the "on" run: start() would have, were it not stood in
    (record,) = records
    return ctx, record


@pytest.mark.slow
async def test_nothing_is_uploaded_from_a_cloud_url_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LIVEKIT_OBSERVABILITY_URL", raising=False)
    ctx, record = await _start_job(monkeypatch, tmp_path, "wss://demo.livekit.cloud", "off")
    # LiveKit uploads at the session's end when any recording option is on (job.py,
    # `_on_session_end`), and sets up its cloud pipeline in `init_recording`: neither happens
    assert not any(record.values()), record
    assert ctx._recording_initialized and ctx._telemetry_state is None
    assert ctx._early_log_handler is None  # the buffered logs dropped, never uploaded
    # self-hosted: the audio is recorded locally (copied into the call record), still no upload
    _, local = await _start_job(monkeypatch, tmp_path / "2", "ws://10.0.0.5:7880", "off")
    assert local == RecordingOptions(audio=True, traces=False, logs=False, transcript=False)
    # asked for: LiveKit records the audio, and its own rule uploads it
    _, asked = await _start_job(monkeypatch, tmp_path / "3", "wss://demo.livekit.cloud", "on")
    assert asked["audio"] is True


def test_generated_identifiers_are_never_masked() -> None:
    """A random call id whose digits look like a card kept its value (a kill -9 replay test
    lost the link between a tool call and its output to the masker)."""
    from tools.sensitive import mask_value

    row = {"call_id": "call_b1e3021077b049bb834e4c72", "text": "card 4111 1111 1111 1111"}
    out = mask_value(row)
    assert isinstance(out, dict)
    assert out["call_id"] == row["call_id"] and "4111 1111" not in out["text"]
