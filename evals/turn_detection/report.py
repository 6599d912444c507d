"""Bench outputs: the rich tables on stdout, ``results.json``, and ``pareto_frontier.png``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

SET_TITLES = {
    "synth-16k": "synthetic 16 kHz",
    "synth-8k": "synthetic 8 kHz mu-law",
    "real": "real (pocketsphinx)",
}
OURS = ("ours-text", "ours-fusion")


def _get(ops: dict | None, key: str, field: str):
    if not ops or not ops.get(key):
        return None
    return ops[key][field]


def fmt_pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def fmt_ms(x) -> str:
    return "–" if x is None else f"{1000 * x:.0f}"


def targets(results: dict, primary: str = "synth-16k", phone: str = "synth-8k") -> list[dict]:
    """The project's targets, evaluated on the figures as measured (met or not)."""
    dets = results["detectors"]
    rows: list[dict] = []

    def ops(name: str, s: str) -> dict | None:
        d = dets.get(name)
        return None if not d or not d.get("available") else d["sets"].get(s)

    mini300 = _get(ops("livekit-v1-mini", primary), "cutoff_at_300ms", "cutoff_rate")
    for name in OURS:
        if name not in dets:
            continue
        label = dets[name]["label"]
        if not dets[name].get("available"):
            rows.append({"detector": label, "target": "all targets", "measured": "n/a",
                         "met": None, "set": primary})  # fmt: skip
            continue
        o = ops(name, primary)
        fc = _get(o, "cutoff_at_300ms", "cutoff_rate")
        rows.append({"detector": label, "set": primary, "target": "false cut-offs @300 ms <= 5%",
                     "measured": fmt_pct(fc), "met": fc is not None and fc <= 0.05 + 1e-9})  # fmt: skip
        da = _get(o, "latency_at_5pct", "latency_s")
        rows.append({"detector": label, "set": primary, "target": "dead air @5% cut-offs <= 300 ms",
                     "measured": "–" if da is None else f"{fmt_ms(da)} ms",
                     "met": da is not None and da <= 0.3 + 1e-9})  # fmt: skip
        if mini300 is None or fc is None:
            ratio_txt, met = "–", False
        else:
            ratio = float("inf") if fc == 0 else mini300 / fc
            ratio_txt = f"{ratio:.1f}x ({fmt_pct(mini300)} vs {fmt_pct(fc)})"
            met = ratio >= 2.0
        rows.append({"detector": label, "set": primary,
                     "target": ">= 2x fewer false cut-offs than v1-mini @300 ms",
                     "measured": ratio_txt, "met": met if "livekit-v1-mini" in dets else None})  # fmt: skip
        if phone in results["sets"]:
            f8 = _get(ops(name, phone), "cutoff_at_300ms", "cutoff_rate")
            if f8 is None or fc is None:
                rows.append({"detector": label, "set": phone, "target": "8 kHz within 1 pt of 16 kHz (FC @300 ms)",
                             "measured": "–", "met": False})  # fmt: skip
            else:
                diff = 100 * (f8 - fc)
                rows.append({"detector": label, "set": phone,
                             "target": "8 kHz within 1 pt of 16 kHz (FC @300 ms)",
                             "measured": f"{diff:+.1f} pt ({fmt_pct(f8)} vs {fmt_pct(fc)})",
                             "met": abs(diff) <= 1.0 + 1e-9})  # fmt: skip
        t = dets[name].get("timing")
        p95 = t.get("p95_ms") if t else None
        fused = name == "ours-fusion"  # includes the v1-mini audio model: target is for text
        rows.append({"detector": label, "set": "-", "target": "p95 predict <= 5 ms",
                     "measured": ("–" if p95 is None else f"{p95:.2f} ms")
                     + (" (incl. v1-mini)" if fused else ""),
                     "met": None if fused else (p95 is not None and p95 <= 5.0)})  # fmt: skip
    return rows


def print_tables(results: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=max(160, Console().width))
    sets: Sequence[str] = list(results["sets"])
    dets = results["detectors"]
    stat = results["config"]["latency_stat"]
    primary = sets[0]

    def order_key(name: str):
        d = dets[name]
        if not d.get("available"):
            return (2, 0.0, name)
        v = _get(d["sets"].get(primary), "latency_at_5pct", "latency_s")
        return (0 if v is not None else 1, v if v is not None else 0.0, name)

    title = (
        "End-of-turn bench (eot-bench method): false cut-offs (FC) at a latency budget, "
        f"dead air (DA, {stat} ms) at a cut-off budget"
    )
    table = Table(title=title, show_lines=False, header_style="bold")
    table.add_column("detector", no_wrap=True)
    for s in sets:
        info = results["sets"][s]
        short = {"synth-16k": "16k", "synth-8k": "8k µ", "real": "real"}.get(s, s)
        for head in ("FC@300", "FC@600", "DA@5%", "DA@10%"):
            table.add_column(f"{short}\n{head}", justify="right")
        del info
    table.add_column("p50\nms", justify="right")
    table.add_column("p95\nms", justify="right")
    for name in sorted(dets, key=order_key):
        d = dets[name]
        if not d.get("available"):
            cells = ["n/a"] + [""] * (4 * len(sets) - 1) + ["", ""]
            table.add_row(d["label"], *cells, style="dim")
            continue
        cells = []
        for s in sets:
            o = d["sets"].get(s)
            cells += [
                fmt_pct(_get(o, "cutoff_at_300ms", "cutoff_rate")),
                fmt_pct(_get(o, "cutoff_at_600ms", "cutoff_rate")),
                fmt_ms(_get(o, "latency_at_5pct", "latency_s")),
                fmt_ms(_get(o, "latency_at_10pct", "latency_s")),
            ]
        t = d.get("timing") or {}
        cells += [
            "–" if "p50_ms" not in t else f"{t['p50_ms']:.2f}",
            "–" if "p95_ms" not in t else f"{t['p95_ms']:.2f}",
        ]
        style = "bold" if name in OURS else None
        table.add_row(d["label"], *cells, style=style)
    console.print(table)
    sizes = ", ".join(
        f"{SET_TITLES.get(s, s)}: {v['n_turns']} turns, {v['n_hold']} hold / {v['n_eot']} eot spans"
        for s, v in results["sets"].items()
    )
    console.print(f"[dim]{sizes}. '–' = no swept policy reaches that budget.[/dim]")
    for d in dets.values():
        if not d.get("available"):
            console.print(f"[dim]{d['label']}: n/a: {d.get('reason', '')}[/dim]")

    tt = Table(title="Targets (figures as measured)", header_style="bold")
    for c in ("detector", "set", "target", "measured", "target met?"):
        tt.add_column(c)
    for r in results.get("targets", []):
        met = "n/a" if r["met"] is None else ("yes" if r["met"] else "NO")
        tt.add_row(r["detector"], r["set"], r["target"], r["measured"], met)
    console.print(tt)


def write_json(results: dict, out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "results.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    os.replace(path + ".tmp", path)
    return path


def plot_frontiers(results: dict, out_dir: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results["sets"])
    stat = results["config"]["latency_stat"]
    fig, axes = plt.subplots(1, len(sets), figsize=(5.2 * len(sets), 4.4), squeeze=False)
    for ax, s in zip(axes[0], sets, strict=True):
        for name, d in results["detectors"].items():
            o = d.get("sets", {}).get(s) if d.get("available") else None
            if not o or not o.get("frontier"):
                continue
            lat = [1000 * p[0] for p in o["frontier"]]
            fc = [100 * p[1] for p in o["frontier"]]
            ls = "--" if name == "vad-baseline" else "-"
            lw = 2.4 if name in OURS else 1.4
            ax.step(lat, fc, where="post", ls=ls, lw=lw, label=d["label"])
        for x in (300, 600):
            ax.axvline(x, color="grey", lw=0.6, ls=":")
        for y in (5, 10):
            ax.axhline(y, color="grey", lw=0.6, ls=":")
        info = results["sets"][s]
        ax.set_title(
            f"{SET_TITLES.get(s, s)}\n{info['n_hold']} hold / {info['n_eot']} eot spans",
            fontsize=10,
        )
        ax.set_xlabel(f"{stat} latency after end of turn (ms)")
        ax.set_ylabel("false cut-off rate (%)")
        ax.set_xlim(0, 1000 * max(results["config"]["timeouts_s"]) + 100)
        ax.set_ylim(0, None)
        ax.grid(alpha=0.25)
    axes[0][0].legend(fontsize=8, loc="upper right")
    fig.suptitle("End-of-turn Pareto frontiers (lower-left is better)", fontsize=11)
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "pareto_frontier.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
