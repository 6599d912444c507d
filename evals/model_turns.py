"""Model-answered turns end to end: `python -m evals.latency --model-turns`.

Callers who make small talk the ordering policy does not parse ("How is your day going so
far?", "Can I bring my dog inside?"), so the offline brain hands each turn to its fallback
model (Qwen2.5-Coder-0.5B through the llamacpp plugin). Each call is a recording built here:
the lines spoken by flite / espeak-ng voices (never Piper, the agent's own voice), levelled,
with a long pause after each so the agent's answer never overlaps the next line. It is
replayed in real time through the same path as `agent.py replay` (`open_call` +
`play_into_session`: the whole suite, local brain, guardrail gate, records) and timed from the
recording's end of speech to the agent's first audio (`agents.side_channel.turn_latencies`).

A turn counts as model-answered when the fallback model generated between the caller's end of
speech and the agent's first audio (`evals.orders.scoring.split_latencies`). Per turn the
latency is split into

- hearing: end of speech -> the turn is committed (`end_of_turn_delay`: Silero's silence,
  Whisper on the segment, the semantic end-of-turn check);
- model first token: the fallback's own time to first token (its `metrics_collected`); per
  variant, the prompt tokens its requests found already evaluated in llama.cpp's KV cache
  and those they evaluated (the plugin's `LLM.prompt_cache` counters, over each call);
- first audio: the rest, first token -> first audio frame (the first phrase written, the
  grounding check, the guardrail gate, Piper's first audio);
- words: end of speech -> the model's own first phrase passed to the TTS (with the
  acknowledgement on, the caller has been hearing "Hmm," since `ack_delay`).

Calls alternate, in one process so both see the same load, between (`--compare`)
- `ack` (default): the reply acknowledged when the model has written nothing `ack_delay`
  into its turn (`GuidedLLM.ack_delay`, as deployed) and not; the prompt prefilled in both;
- `prefill`: the fallback's prompt prefilled after every reply (`GuidedLLM.after_reply`, as
  deployed) and not; the acknowledgement as deployed in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.brain import choose_brain
from agents.brain.guided.llm import ACK_DELAY, GuidedLLM
from agents.brain.local_models import prewarm_local_models
from agents.call import open_call
from agents.config import ConfigError, Settings, load_env
from agents.side_channel import CallGuard, turn_latencies
from evals.orders.run import fallback_models
from evals.orders.scoring import split_latencies
from evals.orders.voices import Voice, VoiceError, parse_voice, speech_for
from evals.replay import play_into_session
from evals.replay.recording import Recording

RATE = 16000
SMALL_TALK = (
    "How is your day going so far?",
    "Is it busy in the shop today?",
    "Do you play any music in the shop?",
    "How long have you been working there?",
    "Do you like working there?",
    "My cat knocked my mug off the table this morning.",
    "Do you get many calls like this?",
    "Can I bring my dog inside?",
    "Is the shop easy to find?",
    "My friend told me about this place.",
    "It's been a really long week.",
    "How do you pronounce the name of the shop?",
)
"""Lines the ordering policy does not understand (checked by
`tests/test_model_turns.py::test_every_small_talk_line_goes_to_the_model`). "What time do you
close tonight?" was one until 2026-12-05, when hours questions got the policy's off-topic line;
the README's model-turn figures were measured with it."""
VOICES = ("flite:slt", "espeak:en-us+m3", "flite:awb", "espeak:en+f2", "flite:rms", "flite:kal16")
LEAD_S = 6.0
"""Silence before the first line: the greeting plays."""
PAUSE_S = 9.0
"""Silence after each line: the answer (one short sentence) and its latency fit in it."""
COMPARISONS: dict[str, tuple[str, str]] = {
    "ack": ("ack", "no ack"),
    "prefill": ("prefill", "no prefill"),
}
"""What `--compare` alternates: the variant with the feature on, then off."""
STAGES = ("latency", "hearing", "model_ttft", "first_audio", "words")


def call_recording(lines: list[str], voice: Voice, *, seed: int) -> tuple[Recording, list[float]]:
    """The caller's side of one call (int16, 16 kHz) and the end time of each line."""
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(LEAD_S * RATE), dtype=np.int16)]
    ends: list[float] = []
    t = LEAD_S
    for text in lines:
        pcm = speech_for(text, voice, RATE, noise_db=None, rng=rng)
        t += len(pcm) / RATE
        ends.append(t)
        parts += [pcm, np.zeros(int(PAUSE_S * RATE), dtype=np.int16)]
        t += PAUSE_S
    pcm = np.concatenate(parts)
    return Recording(Path(f"small-talk-{voice}.wav"), pcm, RATE, 1, "pcm_s16le"), ends


def guided_llm(model: object) -> GuidedLLM | None:
    todo = [model]
    while todo:
        m = todo.pop()
        if isinstance(m, GuidedLLM):
            return m
        todo += list(getattr(m, "_llm_instances", []))
    return None


@dataclasses.dataclass
class ModelTurn:
    variant: str
    call: int
    text: str
    latency: float
    hearing: float | None
    model_ttft: float | None
    first_audio: float | None
    words: float | None = None
    acked: bool = False

    def value(self, stage: str) -> float | None:
        v = getattr(self, stage)
        return None if v is None else float(v)


async def one_call(
    settings: Settings,
    recording: Recording,
    out: Path,
    *,
    on: bool,
    index: int,
    compare: str = "prefill",
) -> tuple[list[ModelTurn], int, int, dict[str, int]]:
    """One replayed call with `compare`'s feature `on` or off; returns its model turns, all
    answered turns, the policy's, and what the fallback's prompt cache counted during it."""
    variant = COMPARISONS[compare][0 if on else 1]
    choice = choose_brain(settings)
    call = await open_call(settings, choice, caller_kind="replay")
    guided = guided_llm(call.brain.llm)
    if guided is None:
        raise RuntimeError("the local brain has no GuidedLLM: nothing answers with the model")
    if compare == "prefill":
        guided.prefill_after_reply = on
    else:
        deployed = settings.local_model_ack_delay
        guided.ack_delay = (ACK_DELAY if deployed is None else deployed) if on else None
    generations: list[dict[str, Any]] = []

    def on_metrics(m: Any) -> None:
        generations.append(
            {
                "start": m.timestamp - m.duration,
                "end": m.timestamp,
                "ttft": m.ttft,
            }
        )

    models = fallback_models(call.brain.llm)
    for m in models:
        m.on("metrics_collected", on_metrics)
    before = [_cache_counts(m) for m in models]
    try:
        t0 = await play_into_session(call.session, call.agent, recording, ogg_path=out)
    finally:
        for m in models:
            m.off("metrics_collected", on_metrics)
        if call.record is not None:
            call.record.save_audio(out)
        await call.aclose()
    cache: dict[str, int] = {}
    for m, b in zip(models, before, strict=True):
        for k, v in _cache_counts(m).items():
            cache[k] = cache.get(k, 0) + v - b.get(k, 0)
    rows = turn_latencies(call.session.history, t0)
    windows = [(g["start"], g["end"]) for g in generations]
    split = split_latencies(rows, windows, t0)
    turns: list[ModelTurn] = []
    for row, s in zip(rows, split, strict=True):
        if not s.model or s.latency is None:
            continue
        lo, hi = t0 + row["user_end"] - 1.0, t0 + row["agent_start"]
        gen = next((g for g in generations if g["start"] <= hi and g["end"] >= lo), None)
        ttft = gen["ttft"] if gen is not None and gen["ttft"] >= 0 else None
        hearing = row.get("eou_delay")
        first_audio = None
        if hearing is not None and ttft is not None:
            first_audio = s.latency - hearing - ttft
        timing = next((t for t in guided.model_timings if lo <= t.start <= hi), None)
        words = None
        if timing is not None and timing.words is not None:
            words = timing.words - (t0 + row["user_end"])
        turns.append(
            ModelTurn(
                variant=variant,
                call=index,
                text=row.get("user_text") or "",
                latency=s.latency,
                hearing=hearing,
                model_ttft=ttft,
                first_audio=first_audio,
                words=words,
                acked=timing is not None and timing.ack is not None,
            )
        )
    policy = sum(1 for s in split if not s.model and s.latency is not None)
    return turns, len(rows), policy, cache


def _cache_counts(model: object) -> dict[str, int]:
    """The llamacpp plugin's prompt-cache counters (requests, prompt, reused and evaluated
    tokens, prefills), or nothing for another model."""
    stats = getattr(model, "prompt_cache", None)
    if stats is None or not dataclasses.is_dataclass(stats) or isinstance(stats, type):
        return {}
    return {k: int(v) for k, v in dataclasses.asdict(stats).items()}


@dataclasses.dataclass
class Run:
    variants: tuple[str, str]
    """The feature on, then off (`COMPARISONS`)."""
    turns: list[ModelTurn]
    answered: dict[str, int]
    policy_turns: dict[str, int]
    cache: dict[str, dict[str, int]]
    """Per variant: the fallback's prompt-cache counters summed over its calls."""
    load: list[tuple[float, float, float]]
    calls: list[Path]


def run_bench(
    settings: Settings,
    calls: int,
    lines_per_call: int,
    out_dir: Path,
    log: Any = print,
    compare: str = "ack",
) -> Run:
    prewarm_local_models(settings)  # as the worker's prewarm: loads happen before any call
    variants = COMPARISONS[compare]
    run = Run(
        variants,
        [],
        dict.fromkeys(variants, 0),
        dict.fromkeys(variants, 0),
        {v: {} for v in variants},
        [os.getloadavg()],
        [],
    )
    for i in range(calls):
        # pairs of calls with the same lines and voice; which goes first alternates
        pair, first_on = divmod(i, 2)
        on = (first_on == 0) == (pair % 2 == 0)
        start = (pair * lines_per_call) % len(SMALL_TALK)
        lines = [SMALL_TALK[(start + k) % len(SMALL_TALK)] for k in range(lines_per_call)]
        voice = parse_voice(VOICES[pair % len(VOICES)])
        recording, _ends = call_recording(lines, voice, seed=pair)
        out = out_dir / f"call-{i:02d}-{'on' if on else 'off'}.ogg"
        log(f"call {i + 1}/{calls}: {voice}, {compare} {'on' if on else 'off'}...")
        turns, answered, policy, cache = asyncio.run(
            one_call(settings, recording, out, on=on, index=i, compare=compare)
        )
        variant = variants[0 if on else 1]
        run.turns += turns
        run.answered[variant] += answered
        run.policy_turns[variant] += policy
        for k, v in cache.items():
            run.cache[variant][k] = run.cache[variant].get(k, 0) + v
        run.calls.append(out)
        run.load.append(os.getloadavg())
    return run


def _ms(values: list[float]) -> str:
    if not values:
        return "| 0 | n/a | n/a |"
    q = np.percentile(values, [50, 25, 75, 95])
    return (
        f"| {len(values)} | {q[0] * 1000:.0f} [{q[1] * 1000:.0f}-{q[2] * 1000:.0f}] "
        f"| {q[3] * 1000:.0f} |"
    )


def render(run: Run, title: str) -> str:
    out = [title, "", "| variant | stage | n | median [IQR] ms | p95 ms |", "|---|---|---|---|---|"]
    for variant in run.variants:
        mine = [t for t in run.turns if t.variant == variant]
        for stage in STAGES:
            vals = [v for t in mine if (v := t.value(stage)) is not None]
            out.append(f"| {variant} | {stage} {_ms(vals)}")
    out.append("")
    for variant in run.variants:
        mine = [t for t in run.turns if t.variant == variant]
        under = sum(1 for t in mine if t.latency <= 1.5)
        acked = sum(1 for t in mine if t.acked)
        c = run.cache[variant]
        requests = c.get("requests", 0)
        if requests:
            prompt, reused = c.get("prompt_tokens", 0), c.get("reused_tokens", 0)
            tokens = (
                f"{requests} model requests: prompt {prompt / requests:.0f} tokens each, "
                f"{reused / requests:.0f} found evaluated ({100 * reused / max(prompt, 1):.0f} "
                f"%), {(prompt - reused) / requests:.0f} evaluated; {c.get('prefills', 0)} "
                f"prefills ({c.get('preempted_prefills', 0)} stopped by a request)"
            )
        else:
            tokens = "no prompt-cache counters"
        out.append(
            f"{variant}: {len(mine)} model turns of {run.answered[variant]} answered "
            f"({run.policy_turns[variant]} by the policy); {tokens}; acknowledged "
            f"{acked}/{len(mine)}; first audio <= 1.5 s on {under}/{len(mine)}"
        )
    loads = ", ".join(f"{a:.2f}" for a, _, _ in run.load)
    out.append(f"load average (1 min) before the first call and after each: {loads}")
    return "\n".join(out)


def _median(xs: list[int]) -> str:
    return f"{float(np.median(xs)):.0f}" if xs else "n/a"


def main(args: Any) -> int:
    load_env()
    try:
        settings = dataclasses.replace(Settings.from_env(), brain="local")
        for v in VOICES:
            parse_voice(v)
    except (ConfigError, VoiceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    lines = args.lines or 6
    CallGuard.stream_words = args.gate == "words"
    with contextlib.ExitStack() as stack:
        keep = args.keep
        out_dir = Path(keep) if keep else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        out_dir.mkdir(parents=True, exist_ok=True)
        settings = dataclasses.replace(
            settings,
            orders_db=str(out_dir / "orders.sqlite"),
            call_records_dir=str(out_dir / "records"),
        )
        started = time.time()
        compare = getattr(args, "compare", None) or "ack"
        run = run_bench(
            settings,
            args.runs,
            lines,
            out_dir,
            log=lambda m: print(m, file=sys.stderr),
            compare=compare,
        )
        a, b = run.variants
        title = (
            f"Model-answered turns, {args.runs} call(s) of {lines} small-talk lines, {a} / {b} "
            f"alternating, guardrail gate: {args.gate}, "
            f"LOCAL_LLM_THREADS={settings.local_llm_threads} "
            f"({time.time() - started:.0f} s; caller stops -> first agent audio)"
        )
        print(render(run, title))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "variants": run.variants,
                        "turns": [dataclasses.asdict(t) for t in run.turns],
                        "answered": run.answered,
                        "policy_turns": run.policy_turns,
                        "prompt_cache": run.cache,
                        "load": run.load,
                        "calls": [str(c) for c in run.calls],
                    },
                    indent=2,
                )
            )
    return 0
