"""Our Prometheus metrics, next to LiveKit's own (the worker serves both on
`prometheus_port` at `/metrics`; in its multiprocess mode job processes write to
`PROMETHEUS_MULTIPROC_DIR` and the worker's endpoint sums them).

Created on first use, never at import. Where their values go (process memory, or a file in
`PROMETHEUS_MULTIPROC_DIR` that the endpoint sums) prometheus_client decides when it is
imported: `agent.py` sets the folder before that (`agents.prometheus_dir`), so calls in the
worker process itself (`JOB_EXECUTOR=thread`) count like those of job processes.

Owns: the metric names and labels. Imports: prometheus_client.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

TURN_LATENCY_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0)
CALL_COST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class CallMetrics:
    calls: Counter
    calls_active: Gauge
    turn_latency: Histogram
    tool_calls: Counter
    guardrail_findings: Counter
    errors: Counter
    call_cost: Histogram
    calls_unpriced: Counter
    engine_usage: Counter


@functools.cache
def call_metrics() -> CallMetrics:
    return CallMetrics(
        calls=Counter(
            "voice_calls_total",
            "Finished calls, by brain and how they ended",
            ["brain", "end_reason"],
        ),
        calls_active=Gauge(
            "voice_calls_active", "Calls in progress", ["brain"], multiprocess_mode="livesum"
        ),
        turn_latency=Histogram(
            "voice_turn_latency_seconds",
            "Caller stops speaking -> agent starts speaking (end to end), per turn",
            ["brain"],
            buckets=TURN_LATENCY_BUCKETS,
        ),
        tool_calls=Counter(
            "voice_tool_calls_total", "Tool calls, by tool and status", ["tool", "status"]
        ),
        guardrail_findings=Counter(
            "voice_guardrail_findings_total",
            "Guardrail findings; placement: before_speech (gated) or after_the_fact",
            ["guardrail", "finding", "action", "placement"],
        ),
        errors=Counter("voice_errors_total", "Errors during calls, by source", ["source"]),
        # agents.side_channel.usage (docs/cost.md)
        call_cost=Histogram(
            "voice_call_cost",
            "What each call cost (price table currency, USD shipped), observed once per brain it "
            "used (a failed-over call: on both brains); calls with an unpriced engine are not "
            "observed, see voice_calls_unpriced_total",
            ["brain"],
            buckets=CALL_COST_BUCKETS,
        ),
        calls_unpriced=Counter(
            "voice_calls_unpriced_total",
            "Calls whose usage on a brain includes an engine or unit the price table lacks",
            ["brain"],
        ),
        engine_usage=Counter(
            "voice_engine_usage_total",
            "Usage per engine, in `unit` (audio_s, characters, *_tokens, cpu_s), by brain",
            ["brain", "provider", "model", "unit"],
        ),
    )
