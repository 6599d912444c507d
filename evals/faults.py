"""`python -m evals.faults`: every provider fault against every stage, on a real call.

Each case replays a short caller recording (the sample call's lines, spliced) through the
suite's own call (`agents.call.open_call` via `evals.replay.run_replay`) with the real
provider plugins pointed at the loopback servers, one of which misbehaves
(`tests.loopback.faults`: HTTP 5xx, drop mid-stream, stall, malformed frame, slow first
byte; from the first caller turn on, for the rest of the call: a provider that is down).

Stages: `stt` (Deepgram WS), `llm` (OpenAI chat SSE), `tts` (Cartesia WS) on the cascade
brain, whose chains end in the local engines (`LOCAL_FALLBACK`), and `realtime` (OpenAI
Realtime WS) on the native brain, which fails over to the cascade.

The table: fault, stage, caller turns answered (each by a reply of its own, between it and
the next caller turn: `evals.replay.answers`), how many of those a fallback engine gave (the
stage's chain had moved to its next engine, or the realtime brain had failed over, before the
reply started), turns only apologised for (an apology is not an answer), the first turn's
latency, its extra latency over the same stage with no fault (measured in the same run), and
what the suite did. Target (issue 9): every turn answered, extra latency <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np

from agents.brain import choose_brain
from agents.brain.local_models import prewarm_local_models
from agents.config import Settings
from agents.resilience.lines import FAILOVER, FAILOVER_PENDING
from evals.replay import Recording, load_recording, run_replay
from evals.replay.answers import TurnAnswer, turn_answers
from tests.loopback import (
    FAULT_KINDS,
    CartesiaServer,
    DeepgramServer,
    Fault,
    FaultKind,
    OpenAIChatServer,
    OpenAIRealtimeServer,
    ToolCall,
)
from tests.loopback.suite import cascade_settings

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("stt", "llm", "tts", "realtime")
CALLER_LINES = ("Hi, I'd like a large mocha, please.", "I would also like a cappuccino.")
LEAD_IN_S = 3.0
"""Silence before the first caller line (the greeting plays over it)."""
TURN_GAP_S = 9.0
"""Silence after a caller line: room for the answer (a failed-over one included)."""
TAIL_S = 4.0
DG_SILENCE_MS = 500.0
"""The loopback recogniser's segment end: one scripted transcript per caller line (the
sample lines have commas; a shorter silence would split "Hi, ..." into two turns)."""


@dataclasses.dataclass(frozen=True)
class CallerCall:
    recording: Recording
    line_ends: tuple[float, ...]
    """Where each caller line ends on the recording's timeline (the replay's timeline)."""
    line_starts: tuple[float, ...] = ()
    """Where each caller line starts."""

    @property
    def turns(self) -> list[tuple[float, float]]:
        return list(zip(self.line_starts, self.line_ends, strict=True))


def caller_recording(
    turns: int = 2, *, tail: float = TAIL_S, gap: float = TURN_GAP_S
) -> CallerCall:
    """The sample call's first `turns` caller lines, each followed by `gap` seconds for its
    answer, and `tail` seconds after the last."""
    rec = load_recording(ROOT / "samples" / "coffee_call.wav")
    manifest = json.loads((ROOT / "samples" / "coffee_call.json").read_text())
    rate = rec.sample_rate
    parts = [np.zeros(int(LEAD_IN_S * rate), dtype=rec.pcm.dtype)]
    starts: list[float] = []
    ends: list[float] = []
    for i, turn in enumerate(manifest["caller_turns"][:turns]):
        start, end = int((turn["start"] - 0.1) * rate), int((turn["end"] + 0.1) * rate)
        starts.append(sum(len(x) for x in parts) / rate + 0.1)
        parts.append(rec.pcm[start:end])
        ends.append(sum(len(x) for x in parts) / rate - 0.1)
        pause = tail if i == turns - 1 else gap
        parts.append(np.zeros(int(pause * rate), dtype=rec.pcm.dtype))
    pcm = np.concatenate(parts)
    return CallerCall(dataclasses.replace(rec, pcm=pcm), tuple(ends), tuple(starts))


def answers(transcript: list[dict[str, Any]], call: CallerCall) -> list[TurnAnswer]:
    """Each caller line of `call` with its own answer in the replay's transcript (same
    timeline as the recording): answered, apologised for, or neither."""
    return turn_answers(transcript, call.turns)


CHAIN_ACTIONS = ("fallback", "failover", "recovered")


def by_fallback(
    turn: TurnAnswer, errors: list[dict[str, Any]], transcript: list[dict[str, Any]]
) -> bool:
    """Whether a fallback engine gave this turn's answer: the failover brain had spoken (its
    "Sorry about that..." line) before the answer started, or the last change of engine
    before it moved *to* a fallback (a chain's next engine). (Error times count from the
    call's opening, a little before the replay's timeline starts, so a change right before an
    answer may be missed, never invented.)"""
    if turn.answer is None:
        return False
    at = float(turn.answer["start"])
    failover_lines = {FAILOVER, FAILOVER_PENDING}
    if any(
        r["role"] == "assistant" and (r.get("text") or "").strip() in failover_lines
        and r.get("start") is not None and r["start"] <= at
        for r in transcript
    ):  # fmt: skip
        return True
    before = [e for e in errors if e["action"] in CHAIN_ACTIONS and e["at"] <= at]
    return bool(before) and before[-1]["action"] != "recovered"


def _chat_script(request: dict[str, Any]) -> Any:
    """The cascade's LLM: look the drink up, then confirm."""
    messages = request["messages"]
    if messages[-1]["role"] == "tool":
        return "Sure, that's on the menu. Anything else?"
    return ToolCall("get_menu_items", {"query": "mocha"})


def _realtime_script(request: dict[str, Any]) -> Any:
    items = request["items"]
    if not any(i.get("role") == "user" for i in items):
        return "Hi, thanks for calling the coffee shop."
    return "Sure, a large mocha. Anything else?"


@dataclasses.dataclass
class CaseResult:
    stage: str
    fault: str
    caller_turns: int
    answered: int
    """Caller turns answered by a reply of their own (apologies, failover fillers excluded)."""
    latency: float | None
    """Seconds from the end of the first caller line to the first thing the caller heard
    (on the realtime rows, the failover brain's "Sorry about that, one moment.")."""
    actions: list[str]
    errors: int
    by_fallback: int = 0
    """Of the answered turns, those a fallback engine answered."""
    apologised: int = 0
    """Caller turns that got the apology and no answer."""
    turns: list[str] = dataclasses.field(default_factory=list)
    """Per caller turn: `answered` (+ ` by fallback`), `apologised` or `unanswered`, with the
    seconds from its end to what the caller heard first."""
    extra: float | None = None

    def row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Providers:
    settings: Settings
    chat: OpenAIChatServer
    """The cascade's LLM (what a failover brain is asked, too)."""


@asynccontextmanager
async def providers(
    stage: str, fault: Fault | None, *, realtime_brain: str = "native"
) -> AsyncIterator[Providers]:
    """Loopback providers for a case; `fault` on the stage's server. The realtime stage
    runs `realtime_brain` (native or hybrid)."""
    pick = {s: (fault if s == stage else None) for s in STAGES}
    async with AsyncExitStack() as stack:
        # the realtime stage's cascade only hears the lines after the failover
        heard = CALLER_LINES[fault.skip :] if stage == "realtime" and fault else CALLER_LINES
        dg = await stack.enter_async_context(
            DeepgramServer(list(heard), min_silence_ms=DG_SILENCE_MS, fault=pick["stt"])
        )
        oa = await stack.enter_async_context(OpenAIChatServer(_chat_script, fault=pick["llm"]))
        ca = await stack.enter_async_context(
            CartesiaServer(seconds_per_char=0.04, fault=pick["tts"])
        )
        settings = cascade_settings(dg, oa, ca, call_records_dir="off")
        if stage == "realtime":
            rt = await stack.enter_async_context(
                OpenAIRealtimeServer(
                    _realtime_script, user_transcripts=list(CALLER_LINES), fault=pick["realtime"]
                )
            )
            settings = dataclasses.replace(
                settings, brain=realtime_brain, openai_realtime_base_url=rt.base_url
            )
        yield Providers(settings, oa)


def _fault_for(stage: str, kind: FaultKind) -> Fault:
    # the greeting is spoken through the TTS (cascade) or generated by the realtime model:
    # it goes through; the fault starts with the first caller turn
    return Fault(kind, skip=1 if stage in ("tts", "realtime") else 0, delay=4.0)


async def run_case(
    stage: str, kind: FaultKind | None, call: CallerCall, workdir: Path
) -> CaseResult:
    fault = _fault_for(stage, kind) if kind else None
    async with providers(stage, fault) as loopback:
        settings = dataclasses.replace(
            loopback.settings, orders_db=str(workdir / f"{stage}-{kind}.sqlite")
        )
        result = await run_replay(
            call.recording, workdir / f"{stage}-{kind or 'none'}", settings, choose_brain(settings)
        )
    turns = answers(result.transcript, call)
    errors = result.summary.get("errors", [])
    actions = sorted({e["action"] for e in errors if e["action"] != "none"})
    if result.summary.get("failover_to"):
        actions.append(f"-> {result.summary['failover_to']}")
    return CaseResult(
        stage=stage,
        fault=kind or "none",
        caller_turns=len(call.line_ends),
        answered=sum(1 for t in turns if t.status == "answered"),
        latency=turns[0].latency,
        actions=actions,
        errors=len(errors),
        by_fallback=sum(1 for t in turns if by_fallback(t, errors, result.transcript)),
        apologised=sum(1 for t in turns if t.status == "apologised"),
        turns=[_describe(t, errors, result.transcript) for t in turns],
    )


def _describe(
    turn: TurnAnswer, errors: list[dict[str, Any]], transcript: list[dict[str, Any]]
) -> str:
    fallback = " by fallback" if by_fallback(turn, errors, transcript) else ""
    heard = "" if turn.latency is None else f" ({turn.latency:+.2f} s)"
    return f"{turn.status}{fallback}{heard}"


async def run_table(
    stages: tuple[str, ...], kinds: tuple[FaultKind, ...], *, turns: int, workdir: Path
) -> list[CaseResult]:
    call = caller_recording(turns)
    rows: list[CaseResult] = []
    for stage in stages:
        baseline = await run_case(stage, None, call, workdir)
        rows.append(baseline)
        for kind in kinds:
            row = await run_case(stage, kind, call, workdir)
            if row.latency is not None and baseline.latency is not None:
                row.extra = round(row.latency - baseline.latency, 3)
            rows.append(row)
            print(f"  {stage:8} {kind:16} answered {row.answered}/{turns}", file=sys.stderr)
    return rows


def render(rows: list[CaseResult], turns: int) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Provider faults, {turns} caller turns per call (issue 9)")
    for col in (
        "fault", "stage", "turns answered", "by fallback", "apologised", "latency s", "extra s",
        "what happened",
    ):  # fmt: skip
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.fault,
            r.stage,
            f"{r.answered}/{turns}",
            str(r.by_fallback),
            str(r.apologised),
            "-" if r.latency is None else f"{r.latency:.2f}",
            "baseline" if r.fault == "none" else ("-" if r.extra is None else f"{r.extra:+.2f}"),
            ", ".join(r.actions) or "-",
        )
    faulted = [r for r in rows if r.fault != "none"]
    extras = [r.extra for r in faulted if r.extra is not None]
    console = Console(record=True, width=110, file=io.StringIO())
    console.print(table)
    all_answered = all(r.answered == turns for r in faulted)
    answered = sum(r.answered for r in faulted)
    console.print(
        f"every caller turn answered (an apology is not an answer): "
        f"{'yes' if all_answered else 'NO'}, {answered}/{turns * len(faulted)}; by a fallback "
        f"engine: {sum(r.by_fallback for r in faulted)}; apologised: "
        f"{sum(r.apologised for r in faulted)}; extra latency median "
        f"{statistics.median(extras):+.2f} s, max {max(extras):+.2f} s"
        if extras
        else "no faulted turn was answered"
    )
    return console.export_text()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.faults", description=__doc__.split("\n")[0])
    p.add_argument("--stages", default=",".join(STAGES), help="comma list of " + ",".join(STAGES))
    p.add_argument("--faults", default=",".join(FAULT_KINDS), help="comma list of faults")
    p.add_argument("--turns", type=int, default=2, choices=(1, 2), help="caller turns per call")
    p.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    kinds = tuple(k.strip() for k in args.faults.split(",") if k.strip())
    bad = [s for s in stages if s not in STAGES] + [k for k in kinds if k not in FAULT_KINDS]
    if bad:
        print(f"error: unknown stage/fault: {', '.join(bad)}", file=sys.stderr)
        return 2
    prewarm_local_models(Settings())  # the chains' last engines load before any call
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        rows = asyncio.run(
            run_table(stages, kinds, turns=args.turns, workdir=Path(tmp))  # type: ignore[arg-type]
        )
    print(render(rows, args.turns))
    if args.json:
        args.json.write_text(json.dumps([r.row() for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
