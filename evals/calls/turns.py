"""Turns from two channels' speech segments, and the turn-taking events between them.

A *turn* is a channel's run of speech segments that the other side did not take the floor
in: a segment joins its channel's current turn when the other channel has started no turn
since that turn began, or when it follows the channel's previous segment within
`hold_gap` (a speaker pausing for breath mid-sentence keeps the turn even if the other side
made a sound). Every caller turn the agent answered gets one response row: the caller's
end of speech (the last segment of the turn that began before the agent spoke) to the
agent's first turn starting after the caller turn began; negative when the agent started
before the caller finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .vad import Segment

CALLER, AGENT = "caller", "agent"


@dataclass(frozen=True)
class TurnOptions:
    hold_gap: float = 0.3
    """A segment this close (s) after its channel's previous one continues the same turn."""
    overlap_tolerance: float = 0.1
    """A start counts as talking over the other side only this far (s) inside its speech."""
    yield_window: float = 0.5
    """A barged-in agent yielded when its speech stopped within this many seconds."""
    dead_air: float = 2.0
    """Silence on both channels longer than this (s) is dead air."""


@dataclass
class Turn:
    channel: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.segments[0].start

    @property
    def end(self) -> float:
        return self.segments[-1].end


@dataclass(frozen=True)
class Response:
    caller_turn: int
    """Index into the caller's turns."""
    agent_turn: int
    """Index into the agent's turns."""
    caller_start: float
    caller_end: float
    agent_start: float

    @property
    def latency(self) -> float:
        return round(self.agent_start - self.caller_end, 3)


@dataclass(frozen=True)
class BargeIn:
    """The caller started a turn while the agent was speaking."""

    at: float
    agent_stopped: float
    """When the agent's speech run that the caller talked over ended."""
    yield_window: float

    @property
    def yield_after(self) -> float:
        return round(max(0.0, self.agent_stopped - self.at), 3)

    @property
    def yielded(self) -> bool:
        return bool(self.agent_stopped - self.at <= self.yield_window)


@dataclass(frozen=True)
class AgentInterruption:
    """The agent started a turn while the caller was speaking."""

    at: float
    caller_end: float
    """End of the caller's speech the agent talked over."""


@dataclass(frozen=True)
class Gap:
    start: float
    end: float
    waiting_on: str
    """Who owes the next word: the agent after a caller's turn, else the caller."""

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)


@dataclass
class TurnTaking:
    caller_turns: list[Turn]
    agent_turns: list[Turn]
    responses: list[Response]
    agent_interruptions: list[AgentInterruption]
    barge_ins: list[BargeIn]
    dead_air: list[Gap]
    overlaps: list[Segment]

    @property
    def unanswered(self) -> list[Turn]:
        answered = {r.caller_turn for r in self.responses}
        return [t for i, t in enumerate(self.caller_turns) if i not in answered]


def build_turns(
    caller: list[Segment], agent: list[Segment], opts: TurnOptions
) -> tuple[list[Turn], list[Turn]]:
    """Both channels' turns, by walking all segments in order of start."""
    events = sorted([(s.start, CALLER, s) for s in caller] + [(s.start, AGENT, s) for s in agent])
    turns: dict[str, list[Turn]] = {CALLER: [], AGENT: []}
    for _start, ch, seg in events:
        other = AGENT if ch == CALLER else CALLER
        mine = turns[ch]
        if mine:
            cur = mine[-1]
            other_started = bool(turns[other]) and turns[other][-1].start > cur.start
            if not other_started or seg.start - cur.end < opts.hold_gap:
                cur.segments.append(seg)
                continue
        mine.append(Turn(ch, [seg]))
    return turns[CALLER], turns[AGENT]


def _inside(t: float, segs: list[Segment], tol: float) -> Segment | None:
    """The segment that `t` falls inside, at least `tol` after its start and before its end."""
    for s in segs:
        if s.start + tol <= t <= s.end - tol:
            return s
    return None


def _runs(segs: list[Segment], gap: float) -> list[Segment]:
    out: list[Segment] = []
    for s in segs:
        if out and s.start - out[-1].end < gap:
            out[-1] = Segment(out[-1].start, max(out[-1].end, s.end))
        else:
            out.append(s)
    return out


def _union(segs: list[Segment]) -> list[Segment]:
    return _runs(sorted(segs, key=lambda s: s.start), 0.0)


def _intersections(a: list[Segment], b: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for x in a:
        for y in b:
            lo, hi = max(x.start, y.start), min(x.end, y.end)
            if hi > lo:
                out.append(Segment(round(lo, 3), round(hi, 3)))
    return sorted(out, key=lambda s: s.start)


def analyse(caller: list[Segment], agent: list[Segment], opts: TurnOptions) -> TurnTaking:
    caller_turns, agent_turns = build_turns(caller, agent, opts)
    responses: list[Response] = []
    for ci, ct in enumerate(caller_turns):
        ai = next((j for j, at in enumerate(agent_turns) if at.start > ct.start), None)
        if ai is None:
            continue
        a_start = agent_turns[ai].start
        before = [s for s in ct.segments if s.start < a_start]
        responses.append(
            Response(
                caller_turn=ci,
                agent_turn=ai,
                caller_start=ct.start,
                caller_end=max(s.end for s in before),
                agent_start=a_start,
            )
        )
    # one agent turn may follow several caller turns only if none of them was answered
    # before it: keep the latest caller turn per agent turn (the one it answers)
    latest: dict[int, Response] = {}
    for r in responses:
        latest[r.agent_turn] = r
    responses = sorted(latest.values(), key=lambda r: r.caller_turn)

    interruptions = []
    for at in agent_turns:
        seg = _inside(at.start, caller, opts.overlap_tolerance)
        if seg is not None:
            interruptions.append(AgentInterruption(at=at.start, caller_end=seg.end))
    agent_runs = _runs(agent, opts.hold_gap)
    barge_ins = []
    for ct in caller_turns:
        run = _inside(ct.start, agent_runs, opts.overlap_tolerance)
        if run is not None:
            barge_ins.append(
                BargeIn(at=ct.start, agent_stopped=run.end, yield_window=opts.yield_window)
            )
    return TurnTaking(
        caller_turns=caller_turns,
        agent_turns=agent_turns,
        responses=responses,
        agent_interruptions=interruptions,
        barge_ins=barge_ins,
        dead_air=_dead_air(caller, agent, opts.dead_air),
        overlaps=_intersections(caller, agent),
    )


def _dead_air(caller: list[Segment], agent: list[Segment], threshold: float) -> list[Gap]:
    tagged = sorted(
        [(s, CALLER) for s in caller] + [(s, AGENT) for s in agent], key=lambda x: x[0].start
    )
    gaps: list[Gap] = []
    end, last = None, CALLER
    for seg, ch in tagged:
        if end is not None and seg.start - end > threshold:
            gaps.append(
                Gap(round(end, 3), round(seg.start, 3), AGENT if last == CALLER else CALLER)
            )
        if end is None or seg.end >= end:
            end, last = seg.end, ch
    return gaps
