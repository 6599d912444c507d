"""Self-contained HTML (inline CSS, no scripts, no network): a call's timeline and turn
table (`report.html`), and the table across calls (`summary.html`). Opens from disk."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

PX_PER_S = 48
"""Timeline scale: wide enough to read a 200 ms latency, scrolls sideways on long calls."""

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px} .sub{color:#666;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:18px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:110px}
.card b{display:block;font-size:18px}
.scroll{overflow-x:auto;border:1px solid #ddd;border-radius:6px;padding:8px 0}
.tl{position:relative;height:190px}
.lane{position:absolute;left:0;right:0;height:44px;border-top:1px dashed #eee}
.lane .name{position:sticky;left:0;font-size:11px;color:#888;padding-left:4px}
.bar{position:absolute;height:34px;top:10px;border-radius:4px;overflow:hidden;font-size:11px;
 white-space:nowrap;text-overflow:ellipsis;padding:2px 4px;box-sizing:border-box;color:#fff}
.caller .bar{background:#2b7bb9} .agent .bar{background:#3a9d5d}
.mark{position:absolute;top:66px;height:34px;font-size:11px;text-align:center;box-sizing:border-box}
.lat{border-top:2px solid #555;color:#333}
.lat.neg{border-top-color:#c0392b;color:#c0392b}
.int{position:absolute;width:0;border-left:2px solid #c0392b;top:8px;height:150px}
.barge{position:absolute;width:0;border-left:2px solid #e67e22;top:8px;height:150px}
.held{border-left-style:dotted}
.dead{position:absolute;top:8px;height:150px;background:repeating-linear-gradient(45deg,#f4f4f4,#f4f4f4 6px,#e6e6e6 6px,#e6e6e6 12px)}
.tick{position:absolute;top:168px;font-size:10px;color:#999;border-left:1px solid #ddd;height:14px;padding-left:2px}
table{border-collapse:collapse;margin-top:18px;width:100%}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#fafafa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#c0392b;font-weight:600} .ok{color:#27803f}
.legend span{margin-right:14px;font-size:12px}
.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px;border-radius:2px}
"""


def _x(t: float) -> str:
    return f"{t * PX_PER_S:.1f}px"


def _w(a: float, b: float) -> str:
    return f"{max(b - a, 0.02) * PX_PER_S:.1f}px"


def _fmt(v: float | None, unit: str = " s") -> str:
    return "-" if v is None else f"{v:.2f}{unit}"


def _card(label: str, value: str) -> str:
    return f'<div class="card">{escape(label)}<b>{escape(value)}</b></div>'


def _timeline(r: dict[str, Any]) -> str:
    width = (r["duration"] + 1) * PX_PER_S
    parts = [f'<div class="tl" style="width:{width:.0f}px">']
    for g in r["dead_air"]:
        parts.append(
            f'<div class="dead" style="left:{_x(g["start"])};width:{_w(g["start"], g["end"])}" '
            f'title="dead air {g["duration"]:.2f} s, waiting on the {g["waiting_on"]}"></div>'
        )
    for lane, top in (("caller", 8), ("agent", 110)):
        parts.append(
            f'<div class="lane {lane}" style="top:{top}px"><span class="name">{lane}</span>'
        )
        for s in r["speech"]:
            if s["channel"] != lane:
                continue
            tip = f"{lane} {s['start']:.2f}-{s['end']:.2f} s: {s['text'] or '(no words)'}"
            parts.append(
                f'<div class="bar" style="left:{_x(s["start"])};width:{_w(s["start"], s["end"])}" '
                f'title="{escape(tip)}">{escape(s["text"])}</div>'
            )
        parts.append("</div>")
    for i, t in enumerate(r["turns"], 1):
        a, b = sorted((t["caller_end"], t["agent_start"]))
        neg = " neg" if t["latency"] < 0 else ""
        parts.append(
            f'<div class="mark lat{neg}" style="left:{_x(a)};width:{_w(a, b)}" '
            f'title="turn {i}: latency {t["latency"]:.3f} s">{t["latency"]:.2f}</div>'
        )
    for it in r["agent_interruptions"]:
        parts.append(
            f'<div class="int" style="left:{_x(it["at"])}" '
            f'title="agent interrupted the caller at {it["at"]:.2f} s"></div>'
        )
    for b in r["barge_ins"]:
        held = "" if b["yielded"] else " held"
        what = (
            f"yielded after {b['yield_after']:.2f} s"
            if b["yielded"]
            else f"kept talking {b['yield_after']:.2f} s"
        )
        parts.append(
            f'<div class="barge{held}" style="left:{_x(b["at"])}" '
            f'title="caller barged in at {b["at"]:.2f} s; agent {what}"></div>'
        )
    step = 5 if r["duration"] > 20 else 1
    for s in range(0, int(r["duration"]) + 1, step):
        parts.append(f'<div class="tick" style="left:{_x(s)}">{s}s</div>')
    parts.append("</div>")
    return "".join(parts)


def _turn_rows(r: dict[str, Any]) -> str:
    rows = []
    for i, t in enumerate(r["turns"], 1):
        flag = '<span class="bad">agent interrupted</span>' if t["agent_interrupted"] else ""
        rows.append(
            f'<tr class="turn" id="turn-{i}" data-latency="{t["latency"]}"><td class="num">{i}</td>'
            f"<td>{escape(t['caller_text'] or '(no words)')}</td>"
            f'<td class="num">{t["caller_end"]:.2f}</td><td class="num">{t["agent_start"]:.2f}</td>'
            f'<td class="num">{t["latency"]:.2f}</td>'
            f"<td>{escape(t['agent_text'] or '(no words)')}</td><td>{flag}</td></tr>"
        )
    for u in r["unanswered"]:
        rows.append(
            f'<tr class="unanswered"><td class="num">-</td><td>{escape(u["caller_text"] or "(no words)")}</td>'
            f'<td class="num">{u["caller_end"]:.2f}</td><td>-</td><td>-</td><td>-</td>'
            f'<td><span class="bad">unanswered</span></td></tr>'
        )
    head = (
        "<tr><th>#</th><th>caller said</th><th>caller end (s)</th><th>agent start (s)</th>"
        "<th>latency (s)</th><th>agent said</th><th></th></tr>"
    )
    return f'<table class="turns">{head}{"".join(rows)}</table>'


def _check_rows(r: dict[str, Any]) -> str:
    if not r["checks"]:
        return ""
    rows = "".join(
        f'<tr class="check"><td class="{"ok" if c["passed"] else "bad"}">{"pass" if c["passed"] else "FAIL"}</td>'
        f"<td>{escape(c['check'])}</td><td>{escape(c['detail'])}</td></tr>"
        for c in r["checks"]
    )
    return f"<h2>Checks</h2><table><tr><th></th><th>check</th><th>detail</th></tr>{rows}</table>"


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def render_call(r: dict[str, Any]) -> str:
    m = r["metrics"]
    lat = m["latency"]
    src = ", ".join(f"{s['codec']} {s['sample_rate']} Hz x{s['channels']}" for s in r["sources"])
    cards = "".join(
        [
            _card("turns answered", f"{m['answered_turns']}/{m['caller_turns']}"),
            _card("latency p50", _fmt(lat["p50"])),
            _card("latency p95", _fmt(lat["p95"])),
            _card("agent interruptions", str(r["interruptions"]["agent"])),
            _card(
                "caller barge-ins (yielded)",
                f"{r['interruptions']['caller']} ({m['barge_ins_yielded']})",
            ),
            _card(
                "dead air (longest)", f"{m['dead_air']['count']} ({m['dead_air']['longest']:.1f} s)"
            ),
            _card("overlap", f"{m['overlap']['total']:.1f} s"),
            _card("agent talk share", _fmt(m["talk"]["agent_share"], "")),
        ]
    )
    legend = (
        '<div class="legend"><span><i class="sw" style="background:#2b7bb9"></i>caller</span>'
        '<span><i class="sw" style="background:#3a9d5d"></i>agent</span>'
        '<span><i class="sw" style="background:#555"></i>latency (s)</span>'
        '<span><i class="sw" style="background:#c0392b"></i>agent interrupts</span>'
        '<span><i class="sw" style="background:#e67e22"></i>caller barges in (dotted: agent kept talking)</span>'
        '<span><i class="sw" style="background:#e6e6e6"></i>dead air</span></div>'
    )
    verdict = (
        ""
        if not r["checks"]
        else (
            '<span class="ok">all checks pass</span>'
            if r["passed"]
            else '<span class="bad">checks FAILED</span>'
        )
    )
    body = (
        f'<h1>{escape(r["name"])}</h1><div class="sub">{r["duration"]:.1f} s · {escape(src)} {verdict}</div>'
        f'<div class="cards">{cards}</div>{legend}<div class="scroll">{_timeline(r)}</div>'
        f"<h2>Turns</h2>{_turn_rows(r)}{_check_rows(r)}"
    )
    return _page(f"call {r['name']}", body)


def _href(name: str) -> str:
    """The relative link to a call's report: `./` first and the name percent-encoded, so no
    name (even one that is not a `safe_name`) can become a `javascript:` or other URL."""
    return escape("./" + quote(name, safe="") + "/report.html")


def render_summary(summary: dict[str, Any]) -> str:
    rows = []
    for c in summary["calls"]:
        if "error" in c:
            rows.append(
                f'<tr class="call"><td>{escape(c["name"])}</td><td colspan="8" class="bad">{escape(c["error"])}</td></tr>'
            )
            continue
        m = c["metrics"]
        verdict = (
            ""
            if c["checks"] == 0
            else (
                '<span class="ok">pass</span>' if c["passed"] else '<span class="bad">FAIL</span>'
            )
        )
        rows.append(
            f'<tr class="call"><td><a href="{_href(c["name"])}">{escape(c["name"])}</a></td>'
            f'<td class="num">{c["duration"]:.1f}</td>'
            f'<td class="num">{m["answered_turns"]}/{m["caller_turns"]}</td>'
            f'<td class="num">{_fmt(m["latency"]["p50"], "")}</td><td class="num">{_fmt(m["latency"]["p95"], "")}</td>'
            f'<td class="num">{m["agent_interruptions"]}</td>'
            f'<td class="num">{m["caller_barge_ins"]} ({m["barge_ins_yielded"]})</td>'
            f'<td class="num">{m["dead_air"]["longest"]:.1f}</td><td>{verdict}</td></tr>'
        )
    a = summary["across"]
    head = (
        "<tr><th>call</th><th>duration (s)</th><th>answered</th><th>latency p50 (s)</th>"
        "<th>p95 (s)</th><th>agent interruptions</th><th>barge-ins (yielded)</th>"
        "<th>longest dead air (s)</th><th>checks</th></tr>"
    )
    cards = "".join(
        [
            _card("calls scored", f"{a['calls']}"),
            _card("latency p50", _fmt(a["latency"]["p50"])),
            _card("latency p95", _fmt(a["latency"]["p95"])),
            _card("agent interruptions", str(a["agent_interruptions"])),
            _card(
                "caller barge-ins (yielded)", f"{a['caller_barge_ins']} ({a['barge_ins_yielded']})"
            ),
            _card("checks failed", str(a["checks_failed"])),
        ]
    )
    body = f'<h1>Recorded calls</h1><div class="cards">{cards}</div><table>{head}{"".join(rows)}</table>'
    return _page("recorded calls", body)
