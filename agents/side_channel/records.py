"""The durable record of one call, under `CALL_RECORDS_DIR/<call id>/`:

- `transcript.jsonl`: one row per conversation item, in replay's format
  (`transcript.transcript_items`), appended as each item completes;
- `events.jsonl`: `{"t", "at", "kind", ...}` rows: the brain and why, tool calls (status,
  duration; never their argument values), per-turn latency with LiveKit's stage breakdown
  (`ChatMessage.metrics`: end of turn, STT, LLM first token and first sentence, TTS first
  byte, playback), guardrail findings, errors, the end;
- `call.ogg`: stereo, caller left, agent right (LiveKit's RecorderIO), copied in at the end;
- `meta.json`: call id, room, caller kind, brain, start, end and how it ended (rewritten
  atomically at the start and the end).

Every string goes through `tools.sensitive.mask` on its way to disk: card, SSN-like and phone
numbers keep their last four digits only. Secrets never reach a record: nothing here reads
settings, keys or the environment.

Each line is handed to the kernel (`os.write`, one small append) in the call that records
it, and meta.json replaced atomically (write, rename) the same way: once `item`, `event` or
`end` has returned, a kill -9 of the worker loses none of it. A thread `fsync`s the files
(and the folder) after them, off the event loop that carries the audio: a power loss or
kernel crash may lose what it had not yet synced (the last few milliseconds' lines, and a
meta.json replaced since its last sync may come back old or empty).

Folders are created 0700 and files 0600: records are private to the worker's user.

`CallRecord.end(reason)` and `CallRecord.event(kind, **fields)` are the API for other code
(call limits, failover, transfers): the first `end` wins.

Owns: the record layout. Imports: livekit, `transcript`, `tools.sensitive`, `call_metrics`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from livekit.agents import AgentSession, llm

from tools.sensitive import StreamMasker, mask, mask_value

from .call_metrics import call_metrics
from .transcript import transcript_items

logger = logging.getLogger("voice_suite.records")

RECORD_DIR_MODE = 0o700
RECORD_FILE_MODE = 0o600
"""Records are private to the worker's user: `CALL_RECORDS_DIR` (when the worker creates it),
each call's folder and every file in it."""

_records: weakref.WeakKeyDictionary[Any, CallRecord] = weakref.WeakKeyDictionary()
_CLOSE_REASONS = {"participant_disconnected": "caller_hung_up"}
_ENDING_TOOLS = {"end_call": "agent_hung_up"}
"""Tools that always end the call (a transfer can fail: its own code says `end("transferred")`)."""


def record_for(session: Any) -> CallRecord | None:
    """The record attached to `session`, if any (replay sets its timeline zero this way)."""
    return _records.get(session)


def new_call_id(now: float | None = None) -> str:
    stamp = datetime.fromtimestamp(now or time.time(), tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")


class _LineWriter(threading.Thread):
    """Appends lines to files and replaces small files, synchronously, in the order asked:
    `put` and `replace` return once the bytes are in the kernel (`os.write`; a replace is
    write + rename), so a `kill -9` of this process right after loses none of them. The
    thread only `fsync`s what was written (files and, after a rename, the directory), off
    the event loop; until it has, a power loss may lose the newest lines.

    Files are created 0600 (`RECORD_FILE_MODE`)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(name="call-record-fsync", daemon=True)
        self._dir = directory
        self._fds: dict[Path, int] = {}
        self._lock = threading.Lock()
        self._dirty: set[Path] = set()
        self._dir_dirty = False
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self.start()

    def put(self, path: Path, line: str) -> None:
        data = line.encode("utf-8")
        try:
            with self._lock:
                fd = self._fds.get(path)
                if fd is None:
                    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                    fd = self._fds[path] = os.open(path, flags, RECORD_FILE_MODE)
                    self._dir_dirty = True
                _write_all(fd, data)
                self._dirty.add(path)
                self._wake.notify()
        except OSError:
            logger.exception("call record: could not write %s", path.name)

    def replace(self, path: Path, text: str) -> None:
        try:
            with self._lock:
                _replace_file(path, text, fsync=False)
                self._dirty.add(path)
                self._dir_dirty = True
                self._wake.notify()
        except OSError:
            logger.exception("call record: could not write %s", path.name)

    def run(self) -> None:
        while True:
            with self._lock:
                while not (self._dirty or self._dir_dirty or self._stopping):
                    self._wake.wait()
                dirty, self._dirty = self._dirty, set()
                sync_dir, self._dir_dirty = self._dir_dirty, False
                stopping = self._stopping
                fds = {p: self._fds.get(p) for p in dirty}
            self._sync(fds, sync_dir)
            if stopping:
                with self._lock:
                    if not (self._dirty or self._dir_dirty):
                        return

    def _sync(self, fds: dict[Path, int | None], sync_dir: bool) -> None:
        for path, fd in fds.items():
            try:
                if fd is not None:
                    os.fsync(fd)  # closed only after this thread has ended
                else:  # a replaced file: sync what is there now
                    _fsync_path(path, os.O_RDONLY)
            except FileNotFoundError:
                pass
            except OSError:
                logger.exception("call record: could not sync %s", path.name)
        if sync_dir:
            try:
                _fsync_path(self._dir, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                logger.exception("call record: could not sync its directory")

    def close(self) -> None:
        """Sync everything written, then close the files."""
        with self._lock:
            self._stopping = True
            self._wake.notify()
        self.join(timeout=10)
        if self.is_alive():  # a stuck disk: leave the files open rather than pull them away
            logger.warning("call record: the disk has not synced the record in 10 s")
            return
        with self._lock:
            fds, self._fds = self._fds, {}
        for fd in fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_path(path: Path, flags: int) -> None:
    fd = os.open(path, flags | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_file(path: Path, text: str, *, fsync: bool = True) -> None:
    """Write `text` to `path` atomically: a temporary file (0600) renamed over it.
    `fsync`: the data reaches the disk before the rename (else the caller syncs later)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, RECORD_FILE_MODE)
    try:
        _write_all(fd, text.encode("utf-8"))
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _safe(value: Any) -> Any:
    """JSON-able and masked."""
    return mask_value(json.loads(json.dumps(value, default=str)))


class CallRecord:
    """One call's record directory. Create with `CallRecord.create(...)`."""

    def __init__(
        self,
        path: Path,
        *,
        call_id: str,
        room: str = "",
        caller_kind: str = "",
        brain: str = "",
        started_at: float | None = None,
    ) -> None:
        self.path = path
        self.call_id = call_id
        self.brain = brain
        self.t0 = started_at or time.time()
        """Zero of the call's timeline (transcript `start`/`end`, event `t`)."""
        self.meta: dict[str, Any] = {
            "call_id": call_id,
            "room": mask(room),
            "caller_kind": caller_kind,
            "brain": brain,
            "started_at": _iso(self.t0),
            "ended_at": None,
            "end_reason": None,
            "duration_s": None,
        }
        self._ended = False
        self._closed = False
        self._caller = StreamMasker()
        """The caller's turns masked as one stream (a card split over two turns)."""
        self._writer = _LineWriter(path)
        self._last_user_metrics: dict[str, Any] | None = None
        self._metrics = call_metrics()
        self._write_meta()
        self._metrics.calls_active.labels(brain=brain).inc()

    @classmethod
    def create(
        cls,
        root: str | Path,
        *,
        room: str = "",
        caller_kind: str = "",
        brain: str = "",
        brain_reason: str = "",
        brain_source: str = "",
    ) -> CallRecord:
        now = time.time()
        call_id = new_call_id(now)
        base = Path(root)
        if not base.is_dir():
            base.mkdir(mode=RECORD_DIR_MODE, parents=True, exist_ok=True)
        path = base / call_id
        path.mkdir(mode=RECORD_DIR_MODE)
        os.chmod(path, RECORD_DIR_MODE)  # whatever the umask
        rec = cls(
            path, call_id=call_id, room=room, caller_kind=caller_kind, brain=brain, started_at=now
        )
        rec.event("brain", brain=brain, source=brain_source, reason=brain_reason)
        return rec

    # --- the API for other code -------------------------------------------------------

    def event(self, kind: str, **fields: Any) -> None:
        """Append one event row (masked) to events.jsonl."""
        if self._closed:
            return
        now = time.time()
        row = {"t": round(now - self.t0, 3), "at": _iso(now), "kind": kind, **_safe(fields)}
        self._writer.put(self.path / "events.jsonl", json.dumps(row, ensure_ascii=False) + "\n")

    def end(self, reason: str) -> None:
        """How the call ended (`caller_hung_up`, `agent_hung_up`, `transferred`,
        `time_limit`, `failover`, `error`...). The first reason given wins."""
        if self._ended:
            return
        self._ended = True
        now = time.time()
        reason = re.sub(r"[^a-z0-9_:.-]+", "_", reason.strip().lower()) or "unknown"
        self.meta.update(ended_at=_iso(now), end_reason=reason, duration_s=round(now - self.t0, 3))
        self.event("end", reason=reason)
        self._write_meta()
        self._metrics.calls.labels(brain=self.brain, end_reason=reason).inc()
        self._metrics.calls_active.labels(brain=self.brain).dec()

    @property
    def ended(self) -> bool:
        return self._ended

    def add_meta(self, **fields: Any) -> None:
        """Add fields (masked) to meta.json and rewrite it (the call's usage and cost,
        `usage.UsageMeter`, when the session closes)."""
        self.meta.update(_safe(fields))
        self._write_meta()

    def error(self, source: str, message: str) -> None:
        self._metrics.errors.labels(source=source).inc()
        self.event("error", source=source, message=message)

    def item(self, row: dict[str, Any]) -> None:
        """Append one transcript row (masked) to transcript.jsonl."""
        if self._closed:
            return
        if row.get("role") == "user" and isinstance(row.get("text"), str):
            row = {**row, "text": self._caller.mask(row["text"])}
        line = json.dumps(_safe(row), ensure_ascii=False) + "\n"
        self._writer.put(self.path / "transcript.jsonl", line)

    def save_audio(self, ogg: Path) -> None:
        """Copy the call's stereo recording in as `call.ogg` (no-op if it does not exist)."""
        if ogg.is_file() and ogg.stat().st_size > 0:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
            fd = os.open(self.path / "call.ogg", flags, RECORD_FILE_MODE)
            with open(ogg, "rb") as src, open(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            self.meta["audio"] = "call.ogg"
            self._write_meta()

    def close(self, reason: str = "closed") -> None:
        """End (if nothing ended it yet) and flush everything to disk."""
        if self._closed:
            return
        self.end(reason)
        self._closed = True
        self._writer.close()

    # --- fed by the session -----------------------------------------------------------

    def attach(self, session: AgentSession) -> CallRecord:
        """Record `session`'s items and events from now on."""
        _records[session] = self
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)
        session.on("error", self._on_error)
        session.on("close", self._on_close)
        # custom event emitted by tools.runtime for every tool call
        session.on("tool_call_finished", self._on_tool_call)  # type: ignore[arg-type]
        return self

    def _rows(self, *items: llm.ChatItem) -> list[dict[str, Any]]:
        return transcript_items(llm.ChatContext(items=list(items)), self.t0)

    def _on_item(self, ev: Any) -> None:
        item = ev.item
        for row in self._rows(item):
            self.item(row)
        if getattr(item, "type", None) != "message":
            return
        if item.role == "user":
            self._last_user_metrics = dict(item.metrics or {})
        elif item.role == "assistant" and self._last_user_metrics is not None:
            self._turn(self._last_user_metrics, dict(item.metrics or {}))
            self._last_user_metrics = None

    def _turn(self, um: dict[str, Any], am: dict[str, Any]) -> None:
        def r(v: Any) -> float | None:
            return None if v is None else round(float(v), 3)

        user_end, agent_start = um.get("stopped_speaking_at"), am.get("started_speaking_at")
        latency = am.get("e2e_latency")
        if latency is None and user_end is not None and agent_start is not None:
            latency = agent_start - user_end
        self.event(
            "turn",
            user_end=r(None if user_end is None else user_end - self.t0),
            agent_start=r(None if agent_start is None else agent_start - self.t0),
            latency=r(latency),
            eou_delay=r(um.get("end_of_turn_delay")),
            stt=r(um.get("transcription_delay")),
            llm_ttft=r(am.get("llm_node_ttft")),
            llm_ttfs=r(am.get("llm_node_ttfs")),
            tts_ttfb=r(am.get("tts_node_ttfb")),
            playback=r(am.get("playback_latency")),
            on_user_turn_completed=r(um.get("on_user_turn_completed_delay")),
        )
        if latency is not None and latency >= 0:
            self._metrics.turn_latency.labels(brain=self.brain).observe(latency)

    def _on_tools(self, ev: Any) -> None:
        items: list[llm.ChatItem] = []
        for call, output in zip(ev.function_calls, ev.function_call_outputs, strict=False):
            items.append(call)
            if output is not None:
                items.append(output)
        for row in self._rows(*items):
            self.item(row)

    def _on_tool_call(self, rec: Any) -> None:
        status = str(getattr(rec, "status", "unknown"))
        name = str(getattr(rec, "name", "?"))
        self._metrics.tool_calls.labels(tool=name, status=status).inc()
        if status == "ok" and name in _ENDING_TOOLS:
            self.end(_ENDING_TOOLS[name])
        self.event(
            "tool_call",
            name=name,
            status=status,
            duration_s=getattr(rec, "duration_s", None),
            filler=getattr(rec, "filler", False),
            error=getattr(rec, "error", None),
            call_id=getattr(rec, "call_id", None),
        )

    def _on_error(self, ev: Any) -> None:
        err = ev.error
        source = str(getattr(err, "type", type(err).__name__))
        self.error(source, str(getattr(err, "error", err)))

    def _on_close(self, ev: Any) -> None:
        reason = getattr(ev, "reason", "closed")
        reason = str(getattr(reason, "value", reason))
        if getattr(ev, "error", None) is not None:
            self.error("session", str(ev.error))
        self.event("session_closed", reason=reason)
        # user_initiated = our own code closed the session: that code says why (`end`)
        if reason != "user_initiated":
            self.end(_CLOSE_REASONS.get(reason, reason))

    # --- files ------------------------------------------------------------------------

    def _write_meta(self) -> None:
        text = json.dumps(self.meta, indent=2) + "\n"
        if self._closed:  # the writer is gone (save_audio after close): write it here
            _replace_file(self.path / "meta.json", text)
        else:
            self._writer.replace(self.path / "meta.json", text)
