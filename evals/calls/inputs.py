"""What the command line names, as calls to score: stereo files, folders of them, or one
caller/agent pair."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .audio import AUDIO_EXTENSIONS, CallAudio, CallInputError, load_pair, load_stereo


@dataclass(frozen=True)
class CallInput:
    label: str
    """What the progress bar and error lines name (a path)."""
    records: Path
    """The file whose folder may hold call records (transcript.jsonl / events.jsonl)."""
    load: Callable[[], CallAudio]


def expand(paths: list[str]) -> list[Path]:
    """Files as given; a folder becomes the recordings inside it (recursively, sorted,
    hidden folders such as replay's staging skipped), or itself when it holds none (it is
    then reported as an input error)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [
                    Path(root) / f
                    for f in sorted(files)
                    if Path(f).suffix.lower() in AUDIO_EXTENSIONS and not f.startswith(".")
                ]
            out += found or [p]
        else:
            out.append(p)
    return out


def _load(p: Path) -> CallAudio:
    if p.is_dir():
        raise CallInputError(
            f"{p}: folder holds no recordings ({', '.join(sorted(AUDIO_EXTENSIONS))})"
        )
    return load_stereo(p)


def call_inputs(
    recordings: list[str], caller: str | None, agent: str | None, agent_offset: float = 0.0
) -> list[CallInput]:
    calls = [
        CallInput(label=str(p), records=p, load=lambda p=p: _load(p))  # type: ignore[misc]
        for p in expand(recordings)
    ]
    if caller and agent:
        c, a = Path(caller), Path(agent)
        calls.append(
            CallInput(
                label=f"{c} + {a}",
                records=c,
                load=lambda: load_pair(c, a, agent_offset=agent_offset),
            )
        )
    return calls


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`... when two recordings share a name."""
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}-{n}"
    taken.add(out)
    return out
