"""Rows of the density table, computed from each worker's measurement, and the table itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from .timing import Lateness
from .worker import WorkerMeasurement

MB = 1024 * 1024
LIVEKIT_ROOMS_PER_CPU = (4.0, 5.0)
"""What LiveKit users report for one worker (livekit/agents#4483)."""
TARGET_MB_PER_EXTRA_SESSION = 40.0


@dataclass
class DensityRow:
    sessions: int
    calls_ok: int
    turns_answered: int
    turns_expected: int
    input_frames: int
    input_late: int
    input_worst_ms: float
    output_frames: int
    output_late: int
    output_worst_ms: float
    probe_frames: int
    probe_late: int
    """An idle pacer in another process at the same time: late frames the machine alone causes."""
    latency_p50: float | None
    latency_p95: float | None
    worker_cpu_per_call_s: float
    provider_cpu_per_call_s: float
    worker_cores_busy: float
    baseline_rss_mb: float
    peak_rss_mb: float
    mb_per_session: float
    mb_per_extra_session: float | None
    """(peak at N - peak at N=1) / (N - 1): what one more call costs, from the same run."""
    load_avg: float
    errors: list[str]

    @property
    def calls_per_core(self) -> float:
        """Calls one CPU core carries at this density (the worker's CPU only)."""
        return 1.0 / self.worker_cpu_per_call_s if self.worker_cpu_per_call_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "calls_per_core": round(self.calls_per_core, 2)}


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def build_row(
    m: WorkerMeasurement,
    *,
    probe: Lateness,
    provider_cpu: float,
    turns_per_call: int,
    load_avg: float,
    single_peak_rss: int | None,
) -> DensityRow:
    """One table row; `single_peak_rss` is the N=1 worker's peak RSS (None: not measured)."""
    inp, out = Lateness(), Lateness()
    latencies: list[float] = []
    answered = 0
    for call in m.calls:
        inp.merge(call.input_lateness)
        out.merge(call.output_lateness)
        for turn in call.turns:
            if turn["latency"] is not None:
                answered += 1
                latencies.append(turn["latency"])
    call_seconds = sum(c.seconds for c in m.calls if not c.error) or float("nan")
    extra = None
    if single_peak_rss is not None and m.sessions > 1:
        extra = (m.peak_rss - single_peak_rss) / (m.sessions - 1) / MB
    return DensityRow(
        sessions=m.sessions,
        calls_ok=sum(1 for c in m.calls if not c.error),
        turns_answered=answered,
        turns_expected=turns_per_call * m.sessions,
        input_frames=inp.frames,
        input_late=inp.late,
        input_worst_ms=round(inp.worst * 1000, 1),
        output_frames=out.frames,
        output_late=out.late,
        output_worst_ms=round(out.worst * 1000, 1),
        probe_frames=probe.frames,
        probe_late=probe.late,
        latency_p50=_percentile(latencies, 50),
        latency_p95=_percentile(latencies, 95),
        worker_cpu_per_call_s=round(m.cpu_seconds / call_seconds, 4),
        provider_cpu_per_call_s=round(provider_cpu / call_seconds, 4),
        worker_cores_busy=round(m.cpu_seconds / m.wall_seconds, 2),
        baseline_rss_mb=round(m.baseline_rss / MB, 1),
        peak_rss_mb=round(m.peak_rss / MB, 1),
        mb_per_session=round((m.peak_rss - m.baseline_rss) / m.sessions / MB, 1),
        mb_per_extra_session=round(extra, 1) if extra is not None else None,
        load_avg=round(load_avg, 1),
        errors=[f"call {c.index}: {c.error}" for c in m.calls if c.error],
    )


def _late(late: int, frames: int) -> str:
    style = "green" if late == 0 else "red"
    return f"[{style}]{late}[/{style}]/{frames}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


COLUMNS = (
    ("N ok", "calls that finished / calls"),
    ("turns", "caller turns answered / caller turns played"),
    ("late in", "caller frames > 20 ms behind their real-time due time / frames"),
    ("late out", "agent frames starting > 20 ms after the previous one ended / frames"),
    ("worst ms", "worst input / output lateness"),
    ("probe late", "the same, for an idle pacer in another process (the machine's share)"),
    ("e2e s", "caller stops -> agent starts, p50 / p95"),
    ("CPU", "worker CPU seconds per call-second"),
    ("calls/core", "1 / CPU"),
    ("cores", "worker CPU seconds / wall seconds: cores the worker process kept busy"),
    ("prov CPU", "loopback providers' CPU seconds per call-second (their own process)"),
    ("RSS MB", "worker RSS before the first call / peak"),
    ("MB/call", "(peak - before) / N"),
    ("MB/extra", "(peak at N - peak at N=1) / (N - 1)"),
    ("load", "1-minute load average after the run"),
)


def render(rows: list[DensityRow], *, title: str, console: Console | None = None) -> None:
    table = Table(title=title)
    for name, _ in COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            f"{r.calls_ok}/{r.sessions}",
            f"{r.turns_answered}/{r.turns_expected}",
            _late(r.input_late, r.input_frames),
            _late(r.output_late, r.output_frames),
            f"{r.input_worst_ms:.0f}/{r.output_worst_ms:.0f}",
            _late(r.probe_late, r.probe_frames),
            f"{_s(r.latency_p50)}/{_s(r.latency_p95)}",
            f"{r.worker_cpu_per_call_s:.3f}",
            f"{r.calls_per_core:.1f}",
            f"{r.worker_cores_busy:.2f}",
            f"{r.provider_cpu_per_call_s:.3f}",
            f"{r.baseline_rss_mb:.0f}/{r.peak_rss_mb:.0f}",
            f"{r.mb_per_session:.1f}",
            _s(r.mb_per_extra_session),
            f"{r.load_avg:.1f}",
        )
    console = console or Console(width=200)
    console.print(table)
    for name, meaning in COLUMNS:
        console.print(f"  {name}: {meaning}", highlight=False)
    for line in verdict(rows):
        console.print(line)


def healthy(rows: list[DensityRow]) -> list[DensityRow]:
    """Rows where every call finished and every caller turn played was answered."""
    return [r for r in rows if r.calls_ok == r.sessions and r.turns_answered == r.turns_expected]


def verdict(rows: list[DensityRow]) -> list[str]:
    """The issue's targets, checked against the rows measured."""
    if not rows:
        return []
    lines = []
    top = max(rows, key=lambda r: r.sessions)
    late = top.input_late + top.output_late
    lines.append(
        f"{top.sessions} concurrent calls: {late} late frame(s) "
        f"({top.input_late} in, {top.output_late} out; target 0; the idle probe: "
        f"{top.probe_late})"
    )
    ok = healthy(rows)
    if ok:
        best = max(ok, key=lambda r: r.sessions)
        lines.append(
            f"densest run with every caller turn answered: N={best.sessions} "
            f"(e2e p95 {_s(best.latency_p95)} s, {best.input_late + best.output_late} late "
            f"frame(s), the worker busy {best.worker_cores_busy:.2f} core)"
        )
    else:
        lines.append("no run answered every caller turn")
    if top.mb_per_extra_session is not None:
        met = top.mb_per_extra_session < TARGET_MB_PER_EXTRA_SESSION
        lines.append(
            f"RSS per extra session at N={top.sessions}: {top.mb_per_extra_session:.1f} MB "
            f"(target < {TARGET_MB_PER_EXTRA_SESSION:.0f} MB: {'met' if met else 'missed'})"
        )
    # CPU per call from the least loaded run: a starved call does less work, not less cost
    base = min(rows, key=lambda r: r.sessions)
    per_core = base.calls_per_core
    low, high = LIVEKIT_ROOMS_PER_CPU
    lines.append(
        f"CPU: {base.worker_cpu_per_call_s:.3f} core per call at N={base.sessions} = "
        f"{per_core:.1f} calls per core (worker only); LiveKit users report "
        f"{low:.0f}-{high:.0f} rooms per CPU: x{per_core / high:.1f}-x{per_core / low:.1f}; "
        "one Python process runs on about one core (the GIL)"
    )
    for r in rows:
        for e in r.errors[:3]:
            lines.append(f"[red]N={r.sessions}: {e}[/red]")
    return lines
