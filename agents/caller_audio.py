"""Nothing the caller says is lost: whether LiveKit's echo warm-up may mute the caller.

`AgentSession(aec_warmup_duration=...)` (3 s by default in livekit-agents 1.8) replaces the
caller's audio with silence on its way to the STT while the agent speaks in the first
seconds of a session, and ignores barge-in then. It exists for one transport: a browser,
whose acoustic echo canceller needs a moment to converge on the agent's voice coming out
of the user's own speakers. Elsewhere it only drops words, measured here: a caller who
starts an order 0.8 s into the greeting was transcribed as "Please." and the order was lost
(`../shared/LIVEKIT-NOTES.md`; `tests/test_caller_audio.py` replays that call).

- a phone caller (the SIP bridge; carriers cancel line echo before it reaches us),
  a replayed or simulated caller (synthesized audio, no echo path), the console: no
  warm-up. Speech over the greeting reaches the STT and the transcript, and may barge in
  (the greeting stops; what was played is what the transcript keeps).
- a WebRTC participant (the playground, a browser): LiveKit's warm-up is kept. Browser
  echo cannot be measured on this machine (no browser audio path), so the default the
  LiveKit team chose for it stands; `AEC_WARMUP=0` turns it off for a headset user.

`AEC_WARMUP` (seconds, or `auto`) overrides the choice for every transport.

Owns: `aec_warmup`. Imports: stdlib.
"""

from __future__ import annotations

BROWSER_WARMUP_S = 3.0
"""LiveKit 1.8's own default (`agent_session._DEFAULT_AEC_WARMUP_DURATION`)."""
ECHO_FREE = frozenset(
    {"sip", "replay", "replay-sip", "simulated", "simulated-sip", "console", "local"}
)
"""Caller kinds (`agents.call.open_call`'s `caller_kind`) with no acoustic echo of the agent."""


def aec_warmup(setting: str, caller_kind: str) -> float | None:
    """Seconds of echo warm-up for this caller (None: none). `setting`: `AEC_WARMUP`,
    `auto` (by transport) or seconds, as `Settings` checked it."""
    if setting != "auto":
        return float(setting) or None
    return None if caller_kind in ECHO_FREE else BROWSER_WARMUP_S
