"""What a model-answered turn pays before its first token: `python -m evals.llm_prefill`.

Runs the offline brain's fallback model (Qwen2.5-Coder-0.5B through the llama.cpp plugin) on
prompts built the way the guided brain builds them (`GuidedLLM.fallback_context`: the fixed
system prompt with the menu, then the last six said items, then the caller's new words) and
measures, for each thread count, alternating in one process (same machine, same load):

- `cold`: nothing cached, the whole prompt evaluated (the first turn without a warm-up);
- `system`: the system prompt cached, the history and the new words evaluated (what a turn
  pays when the history window has slid since the last model turn);
- `history`: everything but the caller's new words cached (what a turn pays when the prefix
  was prefilled while the caller spoke, `LLM.prefill`);
- decode speed (tokens/s) of a spoken reply.

Time to first token is measured by the plugin's own stream (the first text chunk), so it
includes the plugin's prompt rendering and the prefix match. The tokens reused and evaluated
come from the plugin's cache counters (`LLM.prompt_cache`), so each row also shows that the
prefix it claims was in fact reused. Prints a table (median [IQR] and p95 over the rounds) and
the load average before and after; `--json` writes every sample.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from livekit.agents import llm

HISTORY = (
    ("user", "Hi, can I get a latte with oat milk?"),
    ("assistant", "One latte with oat milk. Anything else?"),
    ("user", "Yes, and a hot chocolate please."),
    ("assistant", "One hot chocolate. Anything else?"),
    ("user", "Do you have anything without caffeine?"),
    ("assistant", "We have hot chocolate and herbal tea. Would you like one of those?"),
)
NEW_WORDS = (
    "What do you think goes well with a cortado?",
    "Is it busy in the shop today?",
    "Can you tell me a bit about the chai?",
    "How long have you been open?",
)


def _context(system: str, history: tuple[tuple[str, str], ...], words: str) -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="system", content=system)
    for role, text in history:
        ctx.add_message(role=role, content=text)  # type: ignore[arg-type]
    if words:
        ctx.add_message(role="user", content=words)
    return ctx


async def _ttft(model: Any, ctx: llm.ChatContext, max_tokens: int) -> tuple[float, int, float]:
    """(seconds to the first text chunk, tokens of the reply, decode tokens/s after it)."""
    started = time.perf_counter()
    first: float | None = None
    usage: llm.CompletionUsage | None = None
    async with model.chat(chat_ctx=ctx, extra_kwargs={"max_tokens": max_tokens}) as stream:
        async for chunk in stream:
            if first is None and chunk.delta is not None and chunk.delta.content:
                first = time.perf_counter()
            if chunk.usage is not None:
                usage = chunk.usage
    ended = time.perf_counter()
    first = first if first is not None else ended
    n = usage.completion_tokens if usage is not None else 0
    rate = (n - 1) / (ended - first) if n > 1 and ended > first else float("nan")
    return first - started, n, rate


async def _round(model: Any, system: str, words: str, sample: dict[str, list[float]]) -> None:
    full = _context(system, HISTORY, words)
    # cold: nothing cached
    model.clear_prompt_cache()
    before = model.prompt_cache.evaluated_tokens
    ttft, _, _ = await _ttft(model, full, 1)
    sample["cold"].append(ttft)
    sample["cold_evaluated"].append(model.prompt_cache.evaluated_tokens - before)
    # system prompt cached: evaluate it alone first (the warm-up does this)
    model.clear_prompt_cache()
    await model.prefill(_context(system, (), ""))
    before = model.prompt_cache.evaluated_tokens
    ttft, _, _ = await _ttft(model, full, 1)
    sample["system"].append(ttft)
    sample["system_evaluated"].append(model.prompt_cache.evaluated_tokens - before)
    # history cached: prefilled while the caller spoke
    model.clear_prompt_cache()
    await model.prefill(_context(system, HISTORY, ""))
    before = model.prompt_cache.evaluated_tokens
    ttft, n, rate = await _ttft(model, full, 32)
    sample["history"].append(ttft)
    sample["history_evaluated"].append(model.prompt_cache.evaluated_tokens - before)
    if n > 1:
        sample["decode_tps"].append(rate)


def _fmt(values: list[float], scale: float = 1000.0, digits: int = 0) -> str:
    if not values:
        return "n/a"
    q50, q25, q75, q95 = np.percentile(values, [50, 25, 75, 95])
    f = f"{{:.{digits}f}}"
    return (
        f"{f.format(q50 * scale)} [{f.format(q25 * scale)}-{f.format(q75 * scale)}] "
        f"p95 {f.format(q95 * scale)}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.llm_prefill", description=__doc__)
    p.add_argument("--threads", default="1,2", help="thread counts to compare (default 1,2)")
    p.add_argument("--rounds", type=int, default=8, help="rounds per thread count (default 8)")
    p.add_argument("--model", type=Path, help="GGUF (default: the installed Qwen2.5-Coder-0.5B)")
    p.add_argument("--json", type=Path, help="also write every sample here")
    args = p.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    if not threads or min(threads) < 1 or args.rounds < 1:
        p.error("--threads must list positive integers and --rounds must be >= 1")

    from livekit.plugins import llamacpp

    from agents.brain.guided.llm import fallback_instructions
    from agents.brain.guided.policy import OrderPolicy
    from agents.brain.model_files import LOCAL_LLM_FILE, installed_model
    from agents.config import Settings, load_env

    load_env()
    model_path = args.model or installed_model(Settings.from_env().models_dir, LOCAL_LLM_FILE)
    if model_path is None:
        print(
            "error: Qwen2.5-Coder-0.5B is not installed (scripts/install_models.py)",
            file=sys.stderr,
        )
        return 2
    system = fallback_instructions(OrderPolicy())
    models = {n: llamacpp.LLM(model_path=model_path, n_threads=n) for n in threads}
    for m in models.values():
        m.load()
    samples: dict[int, dict[str, list[float]]] = {
        n: {k: [] for k in ("cold", "system", "history", "decode_tps", "cold_evaluated",
                            "system_evaluated", "history_evaluated")}
        for n in threads
    }  # fmt: skip
    load_before = os.getloadavg()

    async def run() -> None:
        for i in range(args.rounds):
            words = NEW_WORDS[i % len(NEW_WORDS)]
            order = threads if i % 2 == 0 else threads[::-1]  # alternate who goes first
            for n in order:
                await _round(models[n], system, words, samples[n])

    asyncio.run(run())
    load_after = os.getloadavg()
    print(
        f"Fallback model first token by what is cached ({model_path.name}, {args.rounds} "
        "rounds per thread count, alternating; ms, median [IQR] p95)\n"
    )
    print("| threads | cold (tokens evaluated) | system cached | system + history cached "
          "| decode tokens/s |")  # fmt: skip
    print("|---|---|---|---|---|")
    for n in threads:
        s = samples[n]
        ev = {k: int(np.median(s[f"{k}_evaluated"])) for k in ("cold", "system", "history")}
        print(
            f"| {n} | {_fmt(s['cold'])} ({ev['cold']}) | {_fmt(s['system'])} ({ev['system']}) "
            f"| {_fmt(s['history'])} ({ev['history']}) | {_fmt(s['decode_tps'], 1.0, 1)} |"
        )
    print(
        f"\nload average before {load_before[0]:.2f} {load_before[1]:.2f}, after "
        f"{load_after[0]:.2f} {load_after[1]:.2f} (1 and 5 min; {os.cpu_count()} CPUs)"
    )
    if args.json:
        args.json.write_text(json.dumps({"samples": samples, "load": [load_before, load_after]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
