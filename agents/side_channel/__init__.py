"""The side channel: what a call leaves behind and what watches it, built from session
events and history only, never on the audio path (the cascade's sentence gate is the one
place it touches the agent's words, and only as text, before the TTS).

- `transcript`: conversation items -> transcript rows (`transcript.jsonl`)
- `metrics`: per-turn latency and its stage breakdown (`summary.json`)
- `records`: the durable record of every call (`CALL_RECORDS_DIR/<call id>/`)
- `retention`: old records deleted at worker start
- (`tools.sensitive`: card, SSN-like and phone numbers, digits or number words, masked;
  it lives in `tools/` because the order store masks free text with it too)
- `guardrails`, `gate`, `guard`: the `Guardrail` interface, the shipped guardrails, the
  cascade's sentence gate and the after-the-fact checks of realtime voices
- `call_metrics`: our Prometheus metrics
- `usage`, `cost`: what each call used per brain and engine (LiveKit's usage metrics) and
  what that cost (`prices.json`, `PRICE_TABLE`), priced when the session closes
- `log_redaction`: a logging filter masking what the guardrails mask

May import: `agents.config`, `agents.log`, `tools.sensitive`, livekit, prometheus_client. Never
imports the brain, the worker or `evals`: the brain and the worker feed it, not the other way
round.
"""

from .guard import CallGuard
from .guardrails import (
    Finding,
    Guardrail,
    Guardrails,
    PersonalNumbers,
    PhrasePolicy,
    default_guardrails,
)
from .log_redaction import RedactingFilter, install_log_redaction
from .metrics import turn_latencies
from .records import CallRecord, record_for
from .retention import prune_records
from .transcript import masked_rows, transcript_items

__all__ = [
    "CallGuard",
    "CallRecord",
    "Finding",
    "Guardrail",
    "Guardrails",
    "PersonalNumbers",
    "PhrasePolicy",
    "RedactingFilter",
    "default_guardrails",
    "install_log_redaction",
    "masked_rows",
    "prune_records",
    "record_for",
    "transcript_items",
    "turn_latencies",
]
