"""Scoring one call: VAD per channel, words per channel, turns, metrics, tool records,
checks; then `report.json` + `report.html` in the call's folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .audio import CallAudio, safe_name
from .checks import Check, run_checks
from .cost import cost_beside
from .html import render_call
from .privacy import masked_report
from .records import tool_calls_beside
from .report import build_report
from .transcribe import SttOptions, Word, attach_words, model_label, transcribe
from .turns import AGENT, CALLER, TurnOptions, analyse
from .vad import Segment, VadOptions, speech_segments


@dataclass(frozen=True)
class ScoreOptions:
    vad: VadOptions = field(default_factory=VadOptions)
    turns: TurnOptions = field(default_factory=TurnOptions)
    stt: SttOptions | None = field(default_factory=SttOptions)
    """None: no transcripts (timing only; fast)."""
    narrowband_stt_model: str | None = None
    """Whisper folder used instead for <= 8 kHz recordings (e.g. the installed Whisper base)."""

    def stt_for(self, call: CallAudio) -> SttOptions | None:
        if self.stt is None:
            return None
        if call.narrowband and self.narrowband_stt_model and self.stt.model is None:
            return SttOptions(
                model=self.narrowband_stt_model,
                beam_size=self.stt.beam_size,
                prompt=self.stt.prompt,
                cpu_threads=self.stt.cpu_threads,
            )
        return self.stt


def score_call(
    call: CallAudio,
    opts: ScoreOptions,
    *,
    records_beside: Path | None = None,
    checks: list[Check] | None = None,
) -> dict[str, Any]:
    """The report dict for one call (see `report.SCHEMA`)."""
    audio = {CALLER: call.caller, AGENT: call.agent}
    segments: dict[str, list[Segment]] = {
        ch: speech_segments(x, opts.vad) for ch, x in audio.items()
    }
    stt = opts.stt_for(call)
    words: dict[str, list[Word]] = {
        ch: transcribe(audio[ch], segments[ch], stt) if stt else [] for ch in audio
    }
    texts = {ch: attach_words(segments[ch], words[ch]) for ch in audio}
    tt = analyse(segments[CALLER], segments[AGENT], opts.turns)
    tools, tools_source = tool_calls_beside(records_beside) if records_beside else (None, None)
    report = build_report(
        call,
        segments,
        words,
        texts,
        tt,
        options={
            "vad": asdict(opts.vad),
            "turns": asdict(opts.turns),
            "stt": None if stt is None else {**asdict(stt), "model": model_label(stt)},
        },
        tools=tools,
        tools_source=tools_source,
    )
    report["cost"] = cost_beside(records_beside) if records_beside else None
    run_checks(report, checks or [])
    return report


def plain(value: Any) -> Any:
    """JSON for the numpy scalars a report may carry."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_call(report: dict[str, Any], out_dir: Path) -> Path:
    """`out_dir/<name>/report.json` and `report.html`; returns the folder. The name must be a
    `safe_name` (one folder inside `out_dir`)."""
    if safe_name(report["name"]) != report["name"]:
        raise ValueError(f"call name {report['name']!r} is not a plain folder name")
    folder = out_dir / report["name"]
    folder.mkdir(parents=True, exist_ok=True)
    report = masked_report(report)  # what the files may show (evals.calls.privacy)
    (folder / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False, default=plain) + "\n"
    )
    (folder / "report.html").write_text(render_call(report), encoding="utf-8")
    return folder
