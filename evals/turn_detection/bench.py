"""``python -m evals.turn_detection bench``: end-of-turn benchmark in livekit/eot-bench's method.

Data: (a) user turns of held-out Taskmaster-4 dialogs (CC BY 4.0, Google: Byrne & Ganesh),
spoken by two local voices with natural mid-turn pauses, heard at 16 kHz and through an 8 kHz
G.711 mu-law leg; (b) real single-utterance speech from Debian's pocketsphinx-testdata. Every
silence >= 100 ms after speech starts is a decision span (last = ``eot``, others = ``hold``);
each detector is scored causally on a grid inside each span (audio up to ``t``, words ended by
``t - lag``), then a threshold x action-delay x timeout policy sweep gives false cut-offs at
300/600 ms of latency and dead air at 5 %/10 % false cut-offs, plus the Pareto frontier.

Outputs: rich tables on stdout, ``<out>/results.json``, ``<out>/pareto_frontier.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import zlib
from collections.abc import Sequence

from evals.splits import resolve_data_dir
from tools.coffee.taskmaster4 import ATTRIBUTION, load_dialogs

from . import report
from .bench_dialogs import DEFAULT_N_DIALOGS, select_dialogs, user_turns
from .bench_scoring import Memo, score_set, time_detectors
from .detectors import DETECTORS, build_detectors, load_all
from .fusion_fit import fit_fusion_on_md_dev
from .md_speech import md_turns
from .pauses import plan_pauses
from .real_speech import POCKETSPHINX_ATTRIBUTION, build_real_turn, real_clips
from .render import VOICES, make_voice, render_turn, telephone_8k_mulaw
from .split_record import heldout_dialog_ids
from .sweep import DEFAULT_DELAYS, DEFAULT_TIMEOUTS, operating_points, sweep
from .turns import EOT, HOLD, Turn

SETS = ("synth-16k", "synth-8k", "real", "md-test", "md-test-8k")
DEFAULT_SETS = ("synth-16k", "synth-8k", "real")  # the md sets are opt-in (--sets md-test,...)


def _csv(kind: str, known: Sequence[str]):
    def parse(value: str) -> list[str]:
        items = [v.strip() for v in value.split(",") if v.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"empty {kind} list")
        if items == ["all"]:
            return list(known)
        bad = [v for v in items if v not in known]
        if bad:
            raise argparse.ArgumentTypeError(
                f"unknown {kind}: {', '.join(bad)} (choose from: {', '.join(known)}, or 'all')"
            )
        return list(dict.fromkeys(items))

    return parse


def _bounded(kind: type, lo: float, hi: float, name: str):
    def parse(value: str):
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a {kind.__name__}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be between {lo:g} and {hi:g}")
        return v

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.turn_detection bench",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--n-dialogs", type=_bounded(int, 1, 5000, "--n-dialogs"),
                   default=DEFAULT_N_DIALOGS,
                   help=f"held-out Taskmaster-4 dialogs for the synthetic sets (default {DEFAULT_N_DIALOGS})")  # fmt: skip
    p.add_argument("--lag-ms", type=_bounded(float, 0, 3000, "--lag-ms"), default=200.0,
                   help="transcript lag: words ending after t - lag are not visible (default 200)")  # fmt: skip
    p.add_argument("--sets", type=_csv("set", SETS), default=list(DEFAULT_SETS),
                   help=f"comma list of {', '.join(SETS)}, or all (default {','.join(DEFAULT_SETS)})")  # fmt: skip
    p.add_argument("--detectors", type=_csv("detector", DETECTORS), default=list(DETECTORS),
                   help=f"comma list of {', '.join(DETECTORS)} (default all)")  # fmt: skip
    p.add_argument("--voices", type=_csv("voice", VOICES), default=list(VOICES),
                   help=f"voices for the synthetic sets: {', '.join(VOICES)} (default both)")  # fmt: skip
    p.add_argument("--out", default="out/eot-bench", help="output dir (default out/eot-bench)")
    p.add_argument("--seed", type=int, default=0, help="dialog choice and pause plans (default 0)")
    p.add_argument("--cache-dir", default=".cache/eot-bench",
                   help="rendered audio + the pipecat wheel (default .cache/eot-bench)")  # fmt: skip
    p.add_argument("--taskmaster-dir", "--data", dest="taskmaster_dir", default=None,
                   help="Taskmaster-4 folder (default: $TASKMASTER4_DIR, else ../shared/data/"
                        "taskmaster4 beside the checkout, else the repo's data/taskmaster4 slice)")  # fmt: skip
    p.add_argument("--latency-stat", choices=("mean", "p50"), default="mean",
                   help="latency statistic over eot spans: eot-bench's mean (default) or the median")  # fmt: skip
    p.add_argument("--fine-grid", action="store_true",
                   help="score every 100 ms up to the longest timeout (default: every 100 ms "
                        "to 1 s, then every 250 ms)")  # fmt: skip
    p.add_argument("--timing-samples", type=_bounded(int, 0, 10000, "--timing-samples"),
                   default=30, help="views timed per detector for p50/p95 predict (default 30)")  # fmt: skip
    p.add_argument("--md-limit", type=_bounded(int, 1, 1000, "--md-limit"), default=None,
                   help="answer lines per multi-domain set (md-dev fit, md-test; default all)")  # fmt: skip
    p.add_argument("--fit-fusion", action="store_true",
                   help="fit the fusion weights on the spoken multi-domain dev set (md-dev) and "
                        "score them as 'ours-fusion' (default: the plugin's shipped weights)")  # fmt: skip
    p.add_argument("--transcript", choices=("reference", "whisper"), default="reference",
                   help="what text detectors read: the reference words (default) or Whisper "
                        "tiny.en on the audio each set plays (16 kHz or 8 kHz mu-law), per pause; "
                        "the transcripts go to <out>/transcripts.jsonl")  # fmt: skip
    p.add_argument("--asr-model", choices=("tiny", "base"), default="tiny",
                   help="Whisper for --transcript whisper: the bundled tiny.en (default) or base, "
                        "the phone STT of the telephony variant (scripts/install_models.py)")  # fmt: skip
    p.add_argument("--keep-punctuation", action="store_true",
                   help="show text detectors the written punctuation (an end-of-turn oracle)")  # fmt: skip
    return p


# --------------------------------------------------------------------------- data


def heldout_ids() -> tuple[list[str] | None, str]:
    """The semantic detector's held-out Taskmaster-4 dialogs (its test split)."""
    try:
        return heldout_dialog_ids(), "evals.turn_detection.split_record.heldout_dialog_ids()"
    except OSError as e:
        return None, f"no split record for the shipped model ({e})"


def synthetic_turns(args, log) -> tuple[list[Turn], dict]:
    data_dir = resolve_data_dir(args.taskmaster_dir)
    dialogs = {d["conversation_id"]: d for d in load_dialogs(data_dir)}
    ids, source = heldout_ids()
    info: dict = {"attribution": ATTRIBUTION, "split_source": source, "data": str(data_dir)}
    if ids is None:
        info["heldout"] = False
        ids = list(dialogs)
        log(f"held-out split unavailable ({source}); choosing among all dialogs")
    else:
        info["heldout"] = True
    chosen = select_dialogs(ids, args.n_dialogs, args.seed, available=dialogs)
    if len(chosen) < args.n_dialogs:
        log(f"only {len(chosen)} held-out dialogs under {data_dir} (asked for {args.n_dialogs})")
    info["dialog_ids"] = chosen
    voices = [make_voice(v) for v in args.voices]
    tail = max(DEFAULT_TIMEOUTS) + 0.2
    turns: list[Turn] = []
    t0 = time.monotonic()
    for k, did in enumerate(chosen):
        for ut in user_turns(dialogs[did]):
            rng = random.Random(zlib.crc32(f"{args.seed}:{ut.id}".encode()))
            chunks = plan_pauses(ut.text, rng)
            for v in voices:
                turn = render_turn(ut.id, chunks, ut.context, v, cache_dir=args.cache_dir,
                                   tail_s=tail)  # fmt: skip
                if turn.spans and turn.spans[-1].label == EOT:
                    turns.append(turn)
        if (k + 1) % 5 == 0:
            log(f"rendered {k + 1}/{len(chosen)} dialogs ({time.monotonic() - t0:.0f}s)")
    return turns, info


def real_turns(args) -> tuple[list[Turn], dict]:
    clips = real_clips()
    turns = []
    for c in clips:
        t = build_real_turn(c, tail_s=max(DEFAULT_TIMEOUTS) + 0.2, seed=args.seed)
        if t.spans and t.spans[-1].label == EOT:
            turns.append(t)
    info = {"attribution": POCKETSPHINX_ATTRIBUTION, "clips": [t.id for t in turns],
            "word_times": "estimated: characters over VAD speech"}  # fmt: skip
    return turns, info


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t_start = time.monotonic()

    def log(msg: str) -> None:
        print(f"[eot-bench] {msg}", file=sys.stderr, flush=True)

    memo = Memo()
    detectors = build_detectors(args.detectors, cache_dir=args.cache_dir, memo=memo)
    log(f"loading detectors: {', '.join(detectors)}")
    unavailable = load_all(detectors)
    for n, r in unavailable.items():
        log(f"{n}: n/a: {r}")

    sets: dict[str, list[Turn]] = {}
    set_info: dict[str, dict] = {}
    if any(s.startswith("synth") for s in args.sets):
        syn, info = synthetic_turns(args, log)
        if not info["heldout"]:
            for n in ("ours-text", "ours-fusion"):
                if n in detectors and n not in unavailable:
                    unavailable[n] = "no held-out split recorded for the shipped model (leakage)"
        for s in ("synth-16k", "synth-8k"):
            if s in args.sets:
                sets[s], set_info[s] = syn, dict(info)
    if "real" in args.sets:
        sets["real"], set_info["real"] = real_turns(args)
    if any(s.startswith("md-test") for s in args.sets):
        voices = [make_voice(v) for v in args.voices]
        md = md_turns("test", voices, cache_dir=args.cache_dir, tail_s=max(DEFAULT_TIMEOUTS) + 0.2,
                      seed=args.seed, limit=args.md_limit, log=log)  # fmt: skip
        info = {"source": "evals/turn_detection/resources/multidomain_test_v1.txt (hand-written, "
                "10 domains), synthesised per piece, 0.3-1.2 s pauses at each cut"}  # fmt: skip
        for s in ("md-test", "md-test-8k"):
            if s in args.sets:
                sets[s], set_info[s] = md, dict(info)
    log(f"data ready in {time.monotonic() - t_start:.0f}s: "
        + ", ".join(f"{s}={len(t)} turns" for s, t in sets.items()))  # fmt: skip

    active = {n: d for n, d in detectors.items() if n not in unavailable}
    fusion_fit: dict | None = None
    if args.fit_fusion and "ours-fusion" in active:
        fusion, fusion_fit = fit_fusion_on_md_dev(
            active["ours-fusion"], memo, voices=[make_voice(v) for v in args.voices],
            cache_dir=args.cache_dir, seed=args.seed, limit=args.md_limit, lag_s=args.lag_ms / 1000.0,
            log=log, rows_out=os.path.join(args.out, "fusion_rows.npz"),
        )  # fmt: skip
        active["ours-fusion"].set_fusion(fusion)  # type: ignore[attr-defined]
    grid = (
        {"step": 0.1, "coarse_after": max(DEFAULT_TIMEOUTS), "coarse_step": 0.25}
        if args.fine_grid
        else {"step": 0.1, "coarse_after": 1.0, "coarse_step": 0.25}
    )
    lag_s = args.lag_ms / 1000.0
    max_t = max(DEFAULT_TIMEOUTS)
    mulaw_cache: dict[str, object] = {}

    def audio_for(set_name: str):
        if not set_name.endswith("8k"):
            return lambda turn: turn.audio

        def fn(turn):
            if turn.id not in mulaw_cache:
                mulaw_cache.clear()  # one turn at a time: keep memory flat
                mulaw_cache[turn.id] = telephone_8k_mulaw(turn.audio)
            return mulaw_cache[turn.id]

        return fn

    asr = None
    if args.transcript == "whisper":
        from .asr import WhisperTranscriber, whisper_model_path

        try:
            asr = WhisperTranscriber(model=whisper_model_path(args.asr_model))
            asr.load()
        except (OSError, ValueError) as e:
            print(f"error: --asr-model {args.asr_model}: {e}", file=sys.stderr)
            return 2
    rng = random.Random(args.seed)
    sample_views: list = []
    per_set: dict[str, dict] = {}
    for s, turns in sets.items():
        t0 = time.monotonic()
        scores = score_set(
            turns, active, memo, audio_fn=audio_for(s), lag_s=lag_s, max_t=max_t, grid=grid,
            keep_punctuation=args.keep_punctuation, progress=s,
            sample_views=sample_views if s == next(iter(sets)) else None, rng=rng,
            text_fn=asr.text_fn("8k" if s.endswith("8k") else "16k") if asr else None,
        )  # fmt: skip
        per_set[s] = scores
        n_hold = sum(1 for t in turns for sp in t.spans if sp.label == HOLD)
        set_info[s].update(n_turns=len(turns), n_hold=n_hold, n_eot=len(turns),
                           score_seconds=round(time.monotonic() - t0, 1))  # fmt: skip
        log(f"{s}: scored {len(turns)} turns in {time.monotonic() - t0:.0f}s")

    timing = {}
    if args.timing_samples and sample_views and active:
        views = random.Random(args.seed + 1).sample(
            sample_views, min(args.timing_samples, len(sample_views))
        )
        timing = time_detectors(active, views)

    results: dict = {
        "benchmark": "eot-bench style end-of-turn benchmark (livekit/eot-bench methodology)",
        "config": {
            "n_dialogs": args.n_dialogs,
            "lag_ms": args.lag_ms,
            "sets": list(sets),
            "voices": args.voices,
            "seed": args.seed,
            "latency_stat": args.latency_stat,
            "min_silence_s": 0.1,
            "grid": grid,
            "thresholds": "0.00..1.00 by 0.01 + score quantiles",
            "action_delays_s": list(DEFAULT_DELAYS),
            "timeouts_s": list(DEFAULT_TIMEOUTS),
            "keep_punctuation": args.keep_punctuation,
            "transcript": (
                "reference words (no ASR): text detectors see the same words at 16 and 8 kHz"
                if args.transcript == "reference"
                else f"Whisper {'tiny.en' if args.asr_model == 'tiny' else 'base'} (int8, beam 1) "
                "on each set's audio up to each pause"
            ),
            "fusion": "fitted on md-dev in this run"
            if fusion_fit
            else "the plugin's shipped weights",
            "threads": "onnxruntime and llama.cpp: 1 thread; predict timed one call at a time",
            "host": platform.node(),
            "cpus": os.cpu_count(),
        },  # fmt: skip
        "sets": set_info,
        "detectors": {},
    }
    for n, det in detectors.items():
        entry: dict = {"label": det.label, "kind": det.kind, "available": n not in unavailable}
        if n in unavailable:
            entry["reason"] = unavailable[n]
        else:
            entry["info"] = det.info()
            entry["timing"] = timing.get(n)
            entry["sets"] = {}
            for s, scores in per_set.items():
                sw = sweep(scores[n], delays=DEFAULT_DELAYS, timeouts=DEFAULT_TIMEOUTS)
                entry["sets"][s] = operating_points(sw, args.latency_stat)
        results["detectors"][n] = entry
    if fusion_fit is not None:
        results["fusion_fit"] = fusion_fit
    primary = next((s for s in ("synth-16k", "md-test", "real") if s in sets), "synth-16k")
    phone = {"synth-16k": "synth-8k", "md-test": "md-test-8k"}.get(primary, "synth-8k")
    results["targets"] = report.targets(results, primary=primary, phone=phone)
    results["memo"] = {"calls": memo.calls, "model_calls": memo.misses}
    results["elapsed_s"] = round(time.monotonic() - t_start, 1)

    report.print_tables(results)
    js = report.write_json(results, args.out)
    if fusion_fit is not None:
        with open(os.path.join(args.out, "fusion_fit.json"), "w", encoding="utf-8") as fh:
            json.dump(fusion_fit, fh, indent=1, sort_keys=True)
            fh.write("\n")
    png = report.plot_frontiers(results, args.out)
    if asr is not None:
        tpath = os.path.join(args.out, "transcripts.jsonl")
        print(f"transcripts: {tpath} ({asr.dump(tpath)})")
    print(f"results: {js}\nfrontier: {png}\n({results['elapsed_s']:.0f}s)")
    return 0 if active else 1


if __name__ == "__main__":
    raise SystemExit(main())
