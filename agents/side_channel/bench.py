"""`python -m agents.side_channel.bench`: what the side channel costs, as a table.

- screening one sentence (every fast guardrail: personal numbers + one policy regex), against
  a bare `str.split` of the same sentence as the baseline measured in the same run;
- one record line on the event loop (JSON + masking + the hand-off to the writer thread);
- the writer thread's write + flush + fsync per line (off the event loop);
- the TTS sentence gate over a whole reply of N sentences ending in prices, streamed in
  4-character chunks (`gate.SentenceGate`, linear in the reply).
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable

from .gate import SentenceGate
from .guardrails import default_guardrails
from .records import CallRecord

SENTENCES = (
    "Got it, one large oat milk latte and a blueberry muffin. ",
    "Your order number is 48213, anything else? ",
    "Your card 4111 1111 1111 1111 is on file. ",
)


def _per_call(fn: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main() -> None:
    g = default_guardrails(block_regex="free (coffee|drinks?)")
    n = 5000
    print(f"{'what':58} {'us':>9} {'x baseline':>11}")
    for s in SENTENCES:
        base = _per_call(functools.partial(s.split), n)
        cost = _per_call(functools.partial(g.screen, s), n)
        print(f"{'screen ' + repr(s[:44]):58} {cost * 1e6:9.1f} {cost / base:11.0f}")
    with tempfile.TemporaryDirectory() as d:
        rec = CallRecord.create(d, brain="bench")
        row = {"role": "assistant", "text": SENTENCES[0], "start": 1.0, "end": 2.0, "id": "x"}
        lines = 500
        enqueue = _per_call(lambda: rec.item(row), lines)
        t = time.perf_counter()
        rec.close()
        drained = (time.perf_counter() - t) / lines
    print(f"{'record line, on the event loop':58} {enqueue * 1e6:9.1f} {'':>11}")
    print(f"{'record line, writer thread (write+fsync, off the loop)':58} {drained * 1e6:9.1f}")
    for sentences in (60, 150, 1000):
        text = "".join(f"Drink {i} is {i % 9 + 1}.{i % 10}5. " for i in range(sentences))
        chunks = [text[i : i + 4] for i in range(0, len(text), 4)]
        t = time.process_time()
        gate = SentenceGate(g)
        for c in chunks:
            gate.feed(c)
        gate.flush()
        took = time.process_time() - t
        print(
            f"{f'TTS gate, a {sentences}-sentence reply of prices (whole reply)':58} {took * 1e6:9.0f}"
        )


if __name__ == "__main__":
    main()
