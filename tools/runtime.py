"""The tool runtime: one wrapper applied identically to every tool in every brain.

`ToolRuntime.tool(fn, ...)` turns an `async def fn(ctx: RunContext, ...)` into a livekit
`FunctionTool` (same name, docstring and argument schema) whose call goes through:

1. argument guard: every string argument (nested too) is bounded (`max_arg_chars`) and the
   whole payload by size; a violation, or a `RecoverableToolError` (e.g. the coffee store's
   `StoreError`) or `ValueError` raised by the body, becomes livekit's `ToolError` whose
   message the model reads and recovers from.
2. the body runs as its own task, so nothing here blocks the event loop (bodies do blocking
   I/O in threads, see `tools.coffee.store`).
3. filler speech: `RunContext.with_filler(...)` (livekit 1.8.9) speaks one of
   `filler_phrases` once the tool has run for `filler_delay` seconds and the session is idle.
   With a realtime brain and no TTS the filler is a short `generate_reply` instead of `say`.
4. timeout: after `timeout` seconds (default 8 s; per tool via `timeouts={name: s}` or the
   `timeout=` argument) the body is cancelled and the tool *returns* `timeout_message`, a
   short apology the model speaks; the session goes on. A write that was already committed
   in its thread stays committed; the idempotency key makes the model's retry safe.
5. barge-in: a tool marked `cancellable=True` is raced against its speech handle; when the
   caller interrupts (`SpeechHandle.interrupted`), the body is cancelled and the tool returns
   `cancelled_message`. Only read-only tools are marked cancellable in this package.
   livekit's own `ToolFlag.CANCELLABLE` is *not* set by default, because it makes the session
   expose two extra tools (`lk_agents_cancel_task`, `get_running_tasks`) to the model; opt in
   with `ToolRuntimeOptions(framework_cancellable_flag=True)`.
6. a `ToolCallRecord` for every call (name, arguments, status, result or error, duration) is
   logged (name, status and duration at INFO; arguments and results only at DEBUG),
   emitted on the runtime's `ToolEventLog` (`runtime.events.on("tool_call_finished",
   cb)`; also `"tool_call_started"`), and emitted on the `AgentSession` itself as the custom
   event `"tool_call_finished"` (a pydantic model with a `type` field, so session reports can
   serialise it). `tool_event_log(session)` gives a per-session log.

`turn_key(ctx)` identifies the current user turn (the id of the last user message in the
session history); `idempotency_key(ctx, tool, arguments)` builds on it, and the coffee tools use
it for their idempotency keys.

Owns: the generic runtime (options, wrapper, records, event log, idempotency-key helper, the
`RecoverableToolError` base class). May import: livekit, pydantic and the standard library
only; never a domain (`tools.coffee`), `agents` or `evals`. Reads no environment variables:
`ToolRuntimeOptions.from_settings` takes values from the caller's settings object.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import inspect
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from livekit import rtc
from livekit.agents import llm
from livekit.agents.llm import FunctionTool, ToolError, ToolFlag, function_tool
from livekit.agents.voice import RunContext
from pydantic import BaseModel, Field

logger = logging.getLogger("tools.runtime")

DEFAULT_FILLER_PHRASES: tuple[str, ...] = (
    "One moment, please.",
    "Let me check that for you.",
    "Just a second.",
)

ToolStatus = Literal["ok", "error", "timeout", "cancelled"]
ToolEventName = Literal["tool_call_started", "tool_call_finished"]


class RecoverableToolError(Exception):
    """An expected failure the model can recover from; its message is what the model reads.

    Domains subclass it (e.g. `tools.coffee.StoreError`); the runtime turns it into livekit's
    `ToolError` with the same message instead of logging it as an unexpected failure."""


@dataclass(frozen=True)
class ToolRuntimeOptions:
    timeout: float = 8.0
    """Seconds before a tool gives up and returns `timeout_message` (env TOOL_TIMEOUT)."""
    filler_delay: float = 1.0
    """Seconds a tool may run before filler speech starts (env FILLER_DELAY)."""
    filler_phrases: Sequence[str] = DEFAULT_FILLER_PHRASES
    filler_interval: float | None = 4.0
    """Seconds between further fillers while the tool keeps running; None = at most one."""
    max_fillers: int = 2
    timeouts: dict[str, float] = field(default_factory=dict)
    """Per-tool timeout overrides by tool name."""
    timeout_message: str = (
        "Sorry, that is taking too long right now. Apologise briefly and offer to try again."
    )
    cancelled_message: str = "Cancelled because the caller started speaking. Nothing was changed."
    max_arg_chars: int = 500
    """Longest string allowed in any single argument."""
    max_payload_chars: int = 4000
    """Largest JSON size of all arguments together."""
    max_result_chars: int = 2000
    """Result text kept in a ToolCallRecord (the model still receives the whole result)."""
    framework_cancellable_flag: bool = False
    """Also set livekit's ToolFlag.CANCELLABLE on cancellable tools (see module docstring)."""
    emit_on_session: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> ToolRuntimeOptions:
        """From the app's settings object (any object with tool_timeout, filler_delay)."""
        return cls(timeout=settings.tool_timeout, filler_delay=settings.filler_delay)


class ToolCallRecord(BaseModel):
    """One finished tool call, for the side channel. JSON-safe (`.model_dump()`)."""

    type: Literal["tool_call_finished"] = "tool_call_finished"
    call_id: str
    name: str
    arguments: dict[str, Any]
    status: ToolStatus
    result: Any = None
    error: str | None = None
    started_at: float
    duration_s: float
    filler: bool = False
    """Whether filler speech was scheduled (the tool outlived filler_delay)."""
    turn_id: str | None = None
    created_at: float = Field(default_factory=time.time)


class ToolEventLog(rtc.EventEmitter[ToolEventName]):
    """Observable list of tool calls: `.on("tool_call_finished", cb)`, `.records`."""

    def __init__(self, maxlen: int = 1000) -> None:
        super().__init__()
        self.records: deque[ToolCallRecord] = deque(maxlen=maxlen)

    def _started(self, info: dict[str, Any]) -> None:
        self.emit("tool_call_started", info)

    def _finished(self, rec: ToolCallRecord) -> None:
        self.records.append(rec)
        self.emit("tool_call_finished", rec)


_session_logs: weakref.WeakKeyDictionary[Any, ToolEventLog] = weakref.WeakKeyDictionary()


def tool_event_log(session: Any) -> ToolEventLog:
    """The per-session ToolEventLog (created on first use)."""
    log = _session_logs.get(session)
    if log is None:
        log = _session_logs[session] = ToolEventLog()
    return log


def turn_key(ctx: RunContext | None) -> str:
    """Identity of the current user turn: the id of the last user message in the history."""
    if ctx is None:
        return "no-context"
    try:
        for item in reversed(ctx.session.history.items):
            if item.type == "message" and item.role == "user":
                return item.id
    except Exception:  # pragma: no cover - defensive: history is always there in a session
        pass
    return f"speech:{ctx.speech_handle.id}"


def idempotency_key(ctx: RunContext | None, tool: str, arguments: dict[str, Any]) -> str:
    """Same tool + same arguments inside the same user turn -> same key."""
    canon = json.dumps(arguments, sort_keys=True, default=str)
    raw = f"{turn_key(ctx)}|{tool}|{canon}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        if isinstance(value, BaseModel):
            return value.model_dump()
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [_jsonable(v) for v in value]
        return str(value)


def _check_strings(value: Any, *, limit: int, path: str) -> None:
    if isinstance(value, str):
        if len(value) > limit:
            raise ToolError(
                f"Argument {path} is too long ({len(value)} characters, at most {limit})."
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(v, limit=limit, path=f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_strings(v, limit=limit, path=f"{path}[{i}]")


class ToolRuntime:
    """Wraps tool bodies with validation, timeout, filler, barge-in cancel and records."""

    def __init__(self, options: ToolRuntimeOptions | None = None) -> None:
        self.options = options or ToolRuntimeOptions()
        self.events = ToolEventLog()

    def timeout_for(self, name: str) -> float:
        return self.options.timeouts.get(name, self.options.timeout)

    def tool(
        self,
        fn: Callable[..., Awaitable[Any]],
        *,
        name: str | None = None,
        description: str | None = None,
        cancellable: bool = False,
        timeout: float | None = None,
        filler: bool = True,
    ) -> FunctionTool:
        """Wrap `async def fn(ctx: RunContext, ...)` as a FunctionTool (see module docstring)."""
        params = list(inspect.signature(fn).parameters.values())
        if not params or params[0].name not in {"ctx", "context"}:
            raise TypeError(f"{fn.__name__}: the first parameter must be `ctx: RunContext`")
        tool_name = name or fn.__name__
        sig = inspect.signature(fn)
        runtime = self

        @functools.wraps(fn)
        async def wrapper(ctx: RunContext, *args: Any, **kwargs: Any) -> Any:
            return await runtime._call(
                fn, tool_name, ctx, args, kwargs, sig=sig, cancellable=cancellable,
                timeout=timeout if timeout is not None else runtime.timeout_for(tool_name),
                filler=filler,
            )  # fmt: skip

        flags = ToolFlag.NONE
        if cancellable and self.options.framework_cancellable_flag:
            flags = ToolFlag.CANCELLABLE
        return function_tool(wrapper, name=tool_name, description=description, flags=flags)

    async def _call(
        self,
        fn: Callable[..., Awaitable[Any]],
        name: str,
        ctx: RunContext,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        sig: inspect.Signature,
        cancellable: bool,
        timeout: float,
        filler: bool,
    ) -> Any:
        opts = self.options
        started = time.time()
        t0 = time.perf_counter()
        try:
            bound = sig.bind(ctx, *args, **kwargs)
            arguments = {k: _jsonable(v) for k, v in list(bound.arguments.items())[1:]}
        except TypeError:
            arguments = {"args": _jsonable(list(args)), **_jsonable(kwargs)}
        call_id = getattr(getattr(ctx, "function_call", None), "call_id", "") or ""
        tkey = turn_key(ctx) if ctx is not None else None
        session = getattr(ctx, "session", None)
        self.events._started({"call_id": call_id, "name": name, "arguments": arguments})
        # argument values are caller data: DEBUG only (and masked there by the worker's
        # logging filter, agents.side_channel.log_redaction)
        logger.info("tool %s started", name, extra={"call_id": call_id})
        logger.debug("tool %s arguments", name, extra={"call_id": call_id, "arguments": arguments})

        status: ToolStatus = "ok"
        result: Any = None
        error: str | None = None
        filler_used = False
        try:
            _check_strings(arguments, limit=opts.max_arg_chars, path=name)
            if len(json.dumps(arguments, default=str)) > opts.max_payload_chars:
                raise ToolError(f"The arguments to {name} are too large.")

            async def _body() -> Any:
                return await fn(ctx, *args, **kwargs)

            task: asyncio.Task[Any] = asyncio.create_task(_body(), name=f"tool:{name}")
            try:
                done, filler_used = await self._supervise(
                    task, ctx, timeout=timeout, cancellable=cancellable, filler=filler
                )
            except BaseException:
                task.cancel()
                raise
            if done == "timeout":
                status, result = "timeout", opts.timeout_message
            elif done == "cancelled":
                status, result = "cancelled", opts.cancelled_message
            else:
                try:
                    result = task.result()
                    if isinstance(result, dict | list):
                        # JSON, not Python repr: what every model (and the eval) parses best
                        result = json.dumps(result, ensure_ascii=False, default=str)
                except RecoverableToolError as e:
                    raise ToolError(str(e)) from e
                except (ValueError, TypeError, KeyError) as e:
                    raise ToolError(f"{name} could not use those arguments: {e}") from e
            return result
        except ToolError as e:
            status, error = "error", e.message
            raise
        except asyncio.CancelledError:
            status, error = "cancelled", "cancelled by the session"
            raise
        except Exception as e:
            status, error = "error", f"{type(e).__name__}: {e}"
            logger.exception("tool %s failed", name)
            raise ToolError(f"{name} failed unexpectedly; apologise and try another way.") from e
        finally:
            rtext = _jsonable(result)
            if isinstance(rtext, str) and rtext[:1] in "{[":
                with contextlib.suppress(ValueError):
                    rtext = json.loads(rtext)
            if isinstance(rtext, str) and len(rtext) > opts.max_result_chars:
                rtext = rtext[: opts.max_result_chars] + "..."
            rec = ToolCallRecord(
                call_id=call_id,
                name=name,
                arguments=arguments,
                status=status,
                result=rtext if status != "error" else None,
                error=error,
                started_at=started,
                duration_s=round(time.perf_counter() - t0, 4),
                filler=filler_used,
                turn_id=tkey,
            )
            self._publish(session, rec)

    def _publish(self, session: Any, rec: ToolCallRecord) -> None:
        level = logging.INFO if rec.status == "ok" else logging.WARNING
        # INFO/WARNING: name, status and timing only; arguments and results are caller data
        logger.log(
            level,
            "tool %s %s in %.3fs",
            rec.name,
            rec.status,
            rec.duration_s,
            extra={"call_id": rec.call_id, "filler": rec.filler},
        )
        logger.debug("tool %s record", rec.name, extra={"tool_call": rec.model_dump()})
        self.events._finished(rec)
        if session is not None:
            tool_event_log(session)._finished(rec)
            if self.options.emit_on_session and hasattr(session, "emit"):
                try:
                    # AgentSession.emit is typed for its own events; a custom name is allowed at
                    # runtime and lands in the session report like any event with a `type`
                    cast(Any, session).emit("tool_call_finished", rec)
                except Exception:  # pragma: no cover - never let the side channel break a call
                    logger.debug("could not emit tool_call_finished on the session", exc_info=True)

    async def _supervise(
        self,
        task: asyncio.Task[Any],
        ctx: RunContext,
        *,
        timeout: float,
        cancellable: bool,
        filler: bool,
    ) -> tuple[Literal["done", "timeout", "cancelled"], bool]:
        """Wait for `task` with filler, timeout and barge-in; returns (how it ended, filler?)."""
        opts = self.options
        handle = getattr(ctx, "speech_handle", None)
        use_filler = (
            filler
            and opts.filler_phrases
            and hasattr(ctx, "with_filler")
            and getattr(ctx, "session", None) is not None
        )

        async def _wait() -> None:
            if cancellable and handle is not None:
                await handle.wait_if_not_interrupted([task])
            else:
                await asyncio.wait({task})

        filler_state = {"used": False}

        async def _wait_with_filler() -> None:
            if not use_filler:
                await _wait()
                return
            # the scheduler only speaks after `filler_delay` of continuous idle
            try:
                cm = ctx.with_filler(
                    self._filler_source(ctx, filler_state),
                    delay=opts.filler_delay,
                    interval=opts.filler_interval,
                    max_steps=opts.max_fillers,
                )
                await cm.__aenter__()
            except Exception:
                logger.debug("filler unavailable", exc_info=True)
                await _wait()
                return
            try:
                await _wait()
            finally:
                await cm.__aexit__(None, None, None)

        try:
            await asyncio.wait_for(_wait_with_filler(), timeout=timeout if timeout > 0 else None)
        except asyncio.TimeoutError:
            task.cancel()
            logger.warning("tool %s timed out after %.1fs", task.get_name(), timeout)
            return "timeout", filler_state["used"]
        if not task.done():
            # the speech was interrupted by the caller (only waited on for cancellable tools)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return "cancelled", filler_state["used"]
        return "done", filler_state["used"]

    def _filler_source(self, ctx: RunContext, state: dict[str, bool]) -> Callable[[int], Any]:
        phrases = list(self.options.filler_phrases)

        def source(step: int) -> Any:
            phrase = phrases[step % len(phrases)]
            state["used"] = True
            session = ctx.session
            needs_tts = session.output.audio is not None and session.tts is None
            if needs_tts:
                if isinstance(session.llm, llm.RealtimeModel):
                    return session.generate_reply(
                        instructions=f"Tell the caller, in a few words: {phrase}",
                        tool_choice="none",
                    )
                return None  # nothing can voice it
            return phrase  # spoken with session.say()

        return source
