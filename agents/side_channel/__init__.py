"""The side channel: what a call leaves behind, built from session events and history only,
never on the audio path (transcript rows, per-turn latency; records, guardrails and metrics
grow here).

- `transcript`: conversation items -> transcript rows (`transcript.jsonl`)
- `metrics`: per-turn latency and its stage breakdown (`summary.json`)

May import: `agents.config`, `agents.log`, livekit. Never imports the brain, the worker or
`evals`: the brain and the worker feed it, not the other way round.
"""

from .metrics import turn_latencies
from .transcript import transcript_items

__all__ = ["transcript_items", "turn_latencies"]
