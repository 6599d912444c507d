"""What a scored call's files may show: every string masked (`tools.sensitive`: card, SSN-like
and phone numbers, expiry and security codes keep at most their last four digits), and the
caller's words masked as one stream, so a card number split over two turns is masked in both.

`report.json`, `report.html`, `summary.json` and `summary.html` are written from these.

Owns: `masked_report`, `masked_summary`. Imports: `tools.sensitive`, `.turns`.
"""

from __future__ import annotations

from typing import Any

from tools.sensitive import StreamMasker, mask_value

from .turns import CALLER


def _masked(value: dict[str, Any]) -> dict[str, Any]:
    out = mask_value(value)
    assert isinstance(out, dict)
    return out


def masked_report(report: dict[str, Any]) -> dict[str, Any]:
    """`report` (one call's) with its caller text masked turn by turn and every string masked."""
    out = dict(report)
    if isinstance(report.get("speech"), list):
        stream = StreamMasker()
        out["speech"] = [
            {**r, "text": stream.mask(r["text"])}
            if r.get("channel") == CALLER and isinstance(r.get("text"), str)
            else r
            for r in report["speech"]
        ]
    if isinstance(report.get("turns"), list):
        stream = StreamMasker()
        out["turns"] = [
            {**t, "caller_text": stream.mask(t["caller_text"])}
            if isinstance(t.get("caller_text"), str)
            else t
            for t in report["turns"]
        ]
    return _masked(out)


def masked_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The table across calls, every string masked."""
    return _masked(summary)
