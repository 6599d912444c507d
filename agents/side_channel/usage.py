"""What each call used, per brain and engine, from LiveKit's own usage metrics, and what it
cost (`cost.PriceTable`).

Fed by the metrics LiveKit emits for every request (`STTMetrics`, `LLMMetrics`, `TTSMetrics`,
`RealtimeModelMetrics`; the `metrics_collected` events of the session, and of engines the
session does not run itself, such as the hybrid brain's reasoner). Each metric names the
provider and model that did the work (`metrics.metadata`): LiveKit's fallback adapters
forward each engine's own metrics, so a fallback attempt is counted on the engine that
served it, and after a realtime failover the failover brain's engines are counted on that
brain. Local engines (faster-whisper, llama.cpp, Piper) count `cpu_s`: the seconds they
computed each request (the metric's `duration`).

Nothing here is on the audio path: counting is a few additions per request, pricing happens
once when the session closes. Then the call's record gets `usage` and `cost` in `meta.json`
and `usage` / `cost` rows in `events.jsonl`, and Prometheus `voice_call_cost` (by brain)
and `voice_engine_usage_total`; `usage_for(session)` gives the same report to replay.

Owns: the usage/cost report format. Imports: livekit, `cost`, `call_metrics`.
"""

from __future__ import annotations

import collections
import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.metrics import LLMMetrics, RealtimeModelMetrics, STTMetrics, TTSMetrics

from .call_metrics import call_metrics
from .cost import PriceTable, PriceTableError, load_prices

logger = logging.getLogger("voice_suite.usage")

LOCAL_PROVIDERS = frozenset({"faster-whisper", "llama.cpp", "piper"})
"""Engines that run on the worker's CPU: their usage is `cpu_s`."""

SEEN_METRICS = 256
"""How many recent metrics the meter remembers to count each once (a metric's second path
arrives in the same emit as its first)."""

_meters: weakref.WeakKeyDictionary[Any, UsageMeter] = weakref.WeakKeyDictionary()


def usage_for(session: Any) -> UsageMeter | None:
    """The meter attached to `session`, if any (replay's `summary.json` reads it)."""
    return _meters.get(session)


class _Record(Protocol):
    """What the meter writes to (`records.CallRecord`)."""

    def event(self, kind: str, **fields: Any) -> None: ...
    def add_meta(self, **fields: Any) -> None: ...


@dataclass
class EngineUsage:
    brain: str
    stage: str
    """stt, llm, tts or realtime; local engines too, with `cpu_s`."""
    provider: str
    model: str
    requests: int = 0
    usage: dict[str, float] = field(default_factory=dict)

    def add(self, unit: str, amount: float) -> float:
        if amount:
            self.usage[unit] = self.usage.get(unit, 0.0) + amount
        return amount


def amounts(m: Any) -> tuple[str, dict[str, float]] | None:
    """A LiveKit metrics event as (stage, {usage unit: amount}); None for metrics that are
    not usage (VAD, end of turn...). Units are disjoint (see `cost.UNITS`)."""
    provider = ((m.metadata and m.metadata.model_provider) or "").lower()
    local = provider in LOCAL_PROVIDERS
    out: dict[str, float] = {}
    if isinstance(m, STTMetrics):
        kind = "stt"
        # token-billed transcription (a realtime model's input transcription): audio input
        # tokens apart from text input tokens (a prompt)
        audio_in = min(m.input_audio_tokens, m.input_tokens)
        out = {"audio_s": m.audio_duration, "audio_input_tokens": float(audio_in),
               "input_tokens": float(m.input_tokens - audio_in),
               "output_tokens": float(m.output_tokens)}  # fmt: skip
    elif isinstance(m, LLMMetrics):
        kind = "llm"
        cached = m.prompt_cached_tokens
        out = {"input_tokens": float(m.prompt_tokens - cached),
               "cached_input_tokens": float(cached),
               "output_tokens": float(m.completion_tokens)}  # fmt: skip
    elif isinstance(m, TTSMetrics):
        kind = "tts"
        out = {"characters": float(m.characters_count), "audio_s": m.audio_duration,
               "input_tokens": float(m.input_tokens), "output_tokens": float(m.output_tokens)}  # fmt: skip
    elif isinstance(m, RealtimeModelMetrics):
        kind = "realtime"
        ind, outd = m.input_token_details, m.output_token_details
        cd = ind.cached_tokens_details
        # without the cached split, cached tokens count as text (the cheaper side is not
        # assumed: gpt-realtime prices cached text and audio the same)
        cached_text = cd.text_tokens if cd else ind.cached_tokens
        cached_audio = cd.audio_tokens if cd else 0
        out = {
            "text_input_tokens": float(max(0, ind.text_tokens - cached_text)),
            "cached_text_input_tokens": float(cached_text),
            "audio_input_tokens": float(max(0, ind.audio_tokens - cached_audio)),
            "cached_audio_input_tokens": float(cached_audio),
            "text_output_tokens": float(outd.text_tokens),
            "audio_output_tokens": float(outd.audio_tokens),
        }
    else:
        return None
    if local:
        out["cpu_s"] = float(getattr(m, "duration", 0.0) or 0.0)
    return kind, {u: a for u, a in out.items() if a}


class UsageMeter:
    """One call's usage per (brain, engine), priced when the session closes."""

    def __init__(
        self,
        prices: PriceTable | None,
        *,
        brain: str,
        current_brain: Callable[[], str | None] | None = None,
        record: _Record | None = None,
    ) -> None:
        """`brain`: the brain the call started on; `current_brain()`: the brain answering now
        (after a realtime failover, the failover brain), None = `brain`. `prices` None: the
        table could not be loaded (every engine is then unpriced)."""
        self.prices = prices
        self.brain = brain
        self._current = current_brain or (lambda: None)
        self._record = record
        self.engines: dict[tuple[str, str, str, str], EngineUsage] = {}
        self._seen: collections.OrderedDict[int, Any] = collections.OrderedDict()
        """The latest metrics counted (held, so their ids are not reused): one metric reaches
        the meter through the session and through the engine it was watched on, in the same
        emit, and is counted once."""
        self._watched: dict[int, Any] = {}
        self._realtime_labels: set[str] = set()
        """Labels of the first brain's realtime models: what they report (their responses,
        their input transcription) stays on that brain, even after a failover."""
        self.finished = False
        self._metrics = call_metrics()

    # --- feeding ----------------------------------------------------------------------

    def attach(self, session: AgentSession, *, engines: Iterable[Any] = ()) -> UsageMeter:
        """Count `session`'s metrics, and those of `engines` of the call's first brain: its
        STT, LLM and TTS (the session stops listening to them while it closes, before a
        streaming STT reports its last seconds of audio) and engines run outside the session
        (the hybrid reasoner). Price on `close`."""
        _meters[session] = self
        # LiveKit 1.8 logs a deprecation warning per session for `session.on("metrics_collected")`
        # (it points usage tracking at `session_usage_updated`, whose per-model totals lose
        # which brain did the work and the local engines' compute time): subscribe through
        # the emitter itself, no warning
        emitter: rtc.EventEmitter[Any] = session
        rtc.EventEmitter.on(emitter, "metrics_collected", lambda ev: self._safely(ev.metrics))
        session.on("close", lambda _: self._finish_safely())
        # a failover agent brings its own engines: watched too, on the failover brain
        session.on("conversation_item_added", lambda ev: self._on_item(session, ev))
        for engine in engines:
            self.watch(engine, self.brain)
        return self

    def watch(self, engine: Any, brain: str) -> None:
        """Count `engine`'s metrics (once, however many ways they arrive) on `brain`."""
        if engine is None:
            return
        if not callable(getattr(engine, "on", None)):
            # NOT_GIVEN, or a realtime model: its sessions report through ours, by its label
            if isinstance(getattr(engine, "label", None), str) and brain == self.brain:
                self._realtime_labels.add(engine.label)
            return
        if id(engine) in self._watched:
            return
        self._watched[id(engine)] = engine
        engine.on("metrics_collected", lambda m: self._safely(m, brain=brain))

    def _on_item(self, session: AgentSession, ev: Any) -> None:
        if getattr(ev.item, "type", None) != "agent_handoff":
            return
        try:
            agent = session.current_agent
        except RuntimeError:  # no agent (the session is closing)
            return
        brain = self._current() or self.brain
        for name in ("stt", "llm", "tts"):
            self.watch(getattr(agent, name, None), brain)

    def _safely(self, m: Any, *, brain: str | None = None) -> None:
        try:
            self.collect(m, brain=brain)
        except Exception:  # counting never breaks the engine that reported
            logger.exception("could not count %s", type(m).__name__)

    def collect(self, m: Any, *, brain: str | None = None) -> None:
        if id(m) in self._seen:
            return
        self._seen[id(m)] = m
        if len(self._seen) > SEEN_METRICS:
            self._seen.popitem(last=False)
        got = amounts(m)
        if got is None:
            return
        stage, used = got
        if not used:
            return
        if brain is None:
            # a realtime model only ever belongs to the brain the call started on (its last
            # metrics may arrive while a failover is already under way)
            mine = stage == "realtime" or getattr(m, "label", None) in self._realtime_labels
            brain = self.brain if mine else (self._current() or self.brain)
        provider = ((m.metadata and m.metadata.model_provider) or "").lower() or "unknown"
        model = (m.metadata and m.metadata.model_name) or getattr(m, "label", "") or "unknown"
        key = (brain, stage, provider, model)
        eng = self.engines.get(key)
        if eng is None:
            eng = self.engines[key] = EngineUsage(brain, stage, provider, model)
        eng.requests += 1
        for unit, amount in used.items():
            eng.add(unit, amount)
            self._metrics.engine_usage.labels(
                brain=brain, provider=provider, model=model, unit=unit
            ).inc(amount)

    # --- the report -------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """`{"usage": [...per engine...], "cost": {...}}` (see docs/cost.md)."""
        rows: list[dict[str, Any]] = []
        by_brain: dict[str, float | None] = {}
        priced_total = 0.0
        unpriced: list[str] = []
        for eng in self.engines.values():
            # priced from the usage as reported (to the millisecond, the token): the cost is
            # exactly what that usage costs by hand
            usage = {u: round(a, 3) for u, a in sorted(eng.usage.items())}
            if self.prices is None:
                priced: dict[str, Any] = {"cost": None, "unpriced": "no price table"}
                cost = None
            else:
                ec = self.prices.price(eng.provider, eng.model, usage)
                priced, cost = ec.as_dict(), ec.cost
            rows.append(
                {
                    "brain": eng.brain,
                    "stage": eng.stage,
                    "provider": eng.provider,
                    "model": eng.model,
                    "requests": eng.requests,
                    "usage": usage,
                    **priced,
                }
            )
            so_far = by_brain.get(eng.brain, 0.0)
            if cost is None:
                unpriced.append(f"{eng.brain}: {eng.provider}/{eng.model}")
                by_brain[eng.brain] = None
            else:
                priced_total += cost
                by_brain[eng.brain] = None if so_far is None else so_far + cost
        complete = not unpriced
        return {
            "usage": rows,
            "cost": {
                "currency": self.prices.currency if self.prices else None,
                "total": round(priced_total, 8) if complete else None,
                "priced": round(priced_total, 8),
                "complete": complete,
                "by_brain": {b: None if c is None else round(c, 8) for b, c in by_brain.items()},
                "unpriced": unpriced,
                "price_table": self.prices.version if self.prices else None,
            },
        }

    def _finish_safely(self) -> None:
        try:
            self.finish()
        except Exception:  # pricing never fails a call's close
            logger.exception("could not price the call")

    def finish(self) -> dict[str, Any]:
        """Price the call (once): into the record and Prometheus. Returns the report."""
        report = self.report()
        if self.finished:
            return report
        self.finished = True
        cost = report["cost"]
        logger.info(
            "call cost: %s %s%s",
            "unpriced" if cost["total"] is None else f"{cost['total']:.6f}",
            cost["currency"] or "",
            f" ({'; '.join(cost['unpriced'])} unpriced)" if cost["unpriced"] else "",
            extra={"brain": self.brain, "by_brain": cost["by_brain"]},
        )
        for brain, amount in cost["by_brain"].items():
            if amount is None:
                self._metrics.calls_unpriced.labels(brain=brain).inc()
            else:
                self._metrics.call_cost.labels(brain=brain).observe(amount)
        if self._record is not None:
            for row in report["usage"]:
                self._record.event("usage", **row)
            self._record.event("cost", **cost)
            self._record.add_meta(**report)
        return report


def price_table_or_none(path: str) -> PriceTable | None:
    """The price table for a call; a file that has gone bad since the worker checked it is
    logged, and the call's engines are then unpriced (pricing never fails a call)."""
    try:
        return load_prices(path)
    except PriceTableError as e:
        logger.error("%s; this call's usage is recorded unpriced", e)
        return None


def meter_call(
    session: AgentSession, settings: Any, record: _Record | None, *, choice: Any, brain: Any,
    turns: Any,
) -> UsageMeter:  # fmt: skip
    """The call assembly's hook: meter `session` for the call's brain (`choice.profile`),
    the failover brain once `turns.failover_to` names one, and `brain.reasoner` if any."""
    meter = UsageMeter(
        price_table_or_none(settings.price_table),
        brain=choice.profile.name,
        current_brain=lambda: getattr(turns, "failover_to", None),
        record=record,
    )
    engines = [getattr(brain, name, None) for name in ("stt", "llm", "tts", "reasoner")]
    return meter.attach(session, engines=engines)
