"""`--checks FILE`: YAML assertions about each scored call; any failure makes the run exit 1.

checks:                       # applied to every call
  - agent_says: "what can I get"          # regex (case-insensitive), somewhere in the call
  - agent_never_says: "credit card|social security"
  - caller_says: "mocha"
  - max_latency: 2.0                      # every answered caller turn within 2.0 s
  - all_turns_answered: true              # every caller turn got an answer
  - max_dead_air: 4.0                     # no silence on both sides above 4.0 s
  - max_dead_air: {seconds: 3.0, waiting_on: agent}   # only while the caller waits
  - max_agent_interruptions: 0
  - barge_ins_yielded: true               # the agent yielded to every caller barge-in
  - tool_called: finish_order             # needs call records beside the recording
  - tool_not_called: transfer_to_human
calls:                        # more checks for calls whose name matches a glob
  "order_*":
    - tool_called: add_order_item
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class CheckFileError(ValueError):
    """The checks file is unusable; the message is one line."""


@dataclass(frozen=True)
class Check:
    kind: str
    arg: Any

    @property
    def label(self) -> str:
        return f"{self.kind}: {self.arg}"


Result = tuple[bool, str]


def _said(report: dict[str, Any], channel: str) -> str:
    return " ".join(s["text"] for s in report["speech"] if s["channel"] == channel and s["text"])


def _regex(pattern: Any) -> re.Pattern[str]:
    return re.compile(str(pattern), re.IGNORECASE)


def _says(channel: str) -> Callable[[dict[str, Any], Any], Result]:
    def run(report: dict[str, Any], arg: Any) -> Result:
        m = _regex(arg).search(_said(report, channel))
        return (True, f"said {m.group(0)!r}") if m else (False, f"the {channel} never said /{arg}/")

    return run


def _never_says(report: dict[str, Any], arg: Any) -> Result:
    m = _regex(arg).search(_said(report, "agent"))
    return (False, f"the agent said {m.group(0)!r}") if m else (True, "never said")


def _max_latency(report: dict[str, Any], arg: Any) -> Result:
    slow = [t for t in report["turns"] if t["latency"] > float(arg)]
    if slow:
        worst = max(slow, key=lambda t: t["latency"])
        return (
            False,
            f"{len(slow)} turn(s) over {arg} s (worst {worst['latency']:.2f} s at {worst['caller_end']:.1f} s)",
        )
    return True, f"max {report['metrics']['latency']['max'] or 0:.2f} s"


def _all_answered(report: dict[str, Any], arg: Any) -> Result:
    left = report["unanswered"]
    if bool(arg) and left:
        return (
            False,
            f"{len(left)} caller turn(s) unanswered (first at {left[0]['caller_start']:.1f} s)",
        )
    return True, f"{len(report['turns'])} answered"


def _max_dead_air(report: dict[str, Any], arg: Any) -> Result:
    if isinstance(arg, dict):
        limit, who = float(arg["seconds"]), arg.get("waiting_on")
    else:
        limit, who = float(arg), None
    gaps = [
        g
        for g in report["dead_air"]
        if g["duration"] > limit and (who is None or g["waiting_on"] == who)
    ]
    if gaps:
        g = max(gaps, key=lambda g: g["duration"])
        return (
            False,
            f"{g['duration']:.1f} s of dead air at {g['start']:.1f} s (waiting on the {g['waiting_on']})",
        )
    return True, "none"


def _max_interruptions(report: dict[str, Any], arg: Any) -> Result:
    n = report["interruptions"]["agent"]
    return n <= int(arg), f"{n} agent interruption(s)"


def _yielded(report: dict[str, Any], arg: Any) -> Result:
    held = [b for b in report["barge_ins"] if not b["yielded"]]
    if bool(arg) and held:
        return (
            False,
            f"kept talking {held[0]['yield_after']:.2f} s over the caller at {held[0]['at']:.1f} s",
        )
    return True, f"{len(report['barge_ins'])} barge-in(s), all yielded"


def _tools(report: dict[str, Any]) -> list[str] | None:
    tools = report.get("tools")
    return None if tools is None else [c["name"] for c in tools["calls"]]


def _tool_called(report: dict[str, Any], arg: Any) -> Result:
    names = _tools(report)
    if names is None:
        return False, "no call records beside the recording (transcript.jsonl / events.jsonl)"
    return (str(arg) in names), f"called: {', '.join(sorted(set(names))) or 'nothing'}"


def _tool_not_called(report: dict[str, Any], arg: Any) -> Result:
    names = _tools(report)
    if names is None:
        return False, "no call records beside the recording (transcript.jsonl / events.jsonl)"
    n = names.count(str(arg))
    return n == 0, f"called {n} time(s)"


CHECKS: dict[str, Callable[[dict[str, Any], Any], Result]] = {
    "agent_says": _says("agent"),
    "caller_says": _says("caller"),
    "agent_never_says": _never_says,
    "max_latency": _max_latency,
    "all_turns_answered": _all_answered,
    "max_dead_air": _max_dead_air,
    "max_agent_interruptions": _max_interruptions,
    "barge_ins_yielded": _yielded,
    "tool_called": _tool_called,
    "tool_not_called": _tool_not_called,
}


@dataclass(frozen=True)
class CheckSet:
    common: list[Check]
    per_call: dict[str, list[Check]]

    def for_call(self, name: str) -> list[Check]:
        extra = [c for pat, cs in self.per_call.items() if fnmatch.fnmatch(name, pat) for c in cs]
        return self.common + extra


MAX_FILE_BYTES = 1 << 20
"""A checks file is a few lines; anything above 1 MiB is refused unread."""
WAITING_ON = ("agent", "caller")


def _short(value: Any, limit: int = 60) -> str:
    """`repr(value)` cut to `limit` characters: error messages stay one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_list(raw: Any, where: str) -> list[Check]:
    if not isinstance(raw, list):
        raise CheckFileError(f"{where}: expected a list of checks")
    out = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or len(item) != 1:
            raise CheckFileError(
                f"{where}, check {i}: expected one `kind: value` pair, got {_short(item)}"
            )
        ((kind, arg),) = item.items()
        if kind not in CHECKS:
            raise CheckFileError(
                f"{where}, check {i}: unknown check {_short(kind)}; known: {', '.join(CHECKS)}"
            )
        _validate(kind, arg, f"{where}, check {i}")
        out.append(Check(str(kind), arg))
    return out


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and x == x and x >= 0


def _expected(kind: str, arg: Any) -> str | None:
    """What `kind` takes, when `arg` is not that; None when it is. Types are strict: the
    string "false" is not a boolean, `true` is not a number."""
    if kind in {"agent_says", "caller_says", "agent_never_says"}:
        return None if isinstance(arg, str) and arg else "a non-empty regex string"
    if kind == "max_latency":
        return None if _is_number(arg) else "a number of seconds >= 0"
    if kind in {"all_turns_answered", "barge_ins_yielded"}:
        return None if isinstance(arg, bool) else "true or false, unquoted"
    if kind == "max_dead_air":
        if _is_number(arg):
            return None
        expected = "seconds >= 0, or {seconds: N, waiting_on: agent|caller}"
        if not isinstance(arg, dict) or not _is_number(arg.get("seconds")):
            return expected
        if set(arg) - {"seconds", "waiting_on"}:
            return expected
        if "waiting_on" in arg and arg["waiting_on"] not in WAITING_ON:
            return expected
        return None
    if kind == "max_agent_interruptions":
        ok = isinstance(arg, int) and not isinstance(arg, bool) and arg >= 0
        return None if ok else "a whole number >= 0"
    # tool_called, tool_not_called
    return None if isinstance(arg, str) and arg else "a tool name"


def _validate(kind: str, arg: Any, where: str) -> None:
    expected = _expected(kind, arg)
    if expected is not None:
        raise CheckFileError(f"{where}: bad value {_short(arg)} for {kind} (expected {expected})")
    if kind in {"agent_says", "caller_says", "agent_never_says"}:
        try:
            _regex(arg)
        except re.error as e:
            raise CheckFileError(f"{where}: bad regex {_short(arg)} ({e})") from None


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without aliases: a few aliases can stand for an exponentially large
    document (a "billion laughs" bomb), and no checks file needs one."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a checks file", mark
            )
        return super().compose_node(parent, index)


def load_checks(path: str | Path) -> CheckSet:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise CheckFileError(f"{p}: larger than {MAX_FILE_BYTES >> 20} MiB; not a checks file")
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_NoAliasLoader)  # noqa: S506
    except OSError as e:
        raise CheckFileError(f"{p}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise CheckFileError(f"{p}: not UTF-8 text") from None
    except yaml.YAMLError as e:
        raise CheckFileError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if isinstance(data, list):
        data = {"checks": data}
    if not isinstance(data, dict) or not (set(data) <= {"checks", "calls"}) or not data:
        raise CheckFileError(f"{p}: expected a mapping with `checks:` (and optional `calls:`)")
    common = _parse_list(data.get("checks") or [], f"{p}: checks")
    calls = data.get("calls") or {}
    if not isinstance(calls, dict):
        raise CheckFileError(f"{p}: calls: expected a mapping of call-name glob -> checks")
    per_call = {
        str(k): _parse_list(v, f"{p}: calls.{_short(str(k), 40)}") for k, v in calls.items()
    }
    return CheckSet(common, per_call)


def run_checks(report: dict[str, Any], checks: list[Check]) -> list[dict[str, Any]]:
    """Each check's verdict; sets `report["passed"]`."""
    results = []
    for c in checks:
        passed, detail = CHECKS[c.kind](report, c.arg)
        results.append({"check": c.label, "passed": bool(passed), "detail": detail})
    report["checks"] = results
    report["passed"] = all(r["passed"] for r in results)
    return results
