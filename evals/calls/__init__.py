"""Evals against recorded calls: how the agent behaved, read off the audio alone.

- `audio`: decode a stereo call (0 = caller, 1 = agent) or a caller/agent pair (PyAV, any codec/rate)
- `vad`: speech segments per channel (Silero VAD, edges refined on energy)
- `transcribe`: words with timings per channel (the local faster-whisper engine)
- `turns`: turns, responses and latencies, interruptions both ways, dead air, overlap
- `report`: `report.json` (schema `evals.calls/report/v1`); `html`: the timelines
- `records`: tool calls from the call records beside a recording; `checks`: `--checks` YAML
- `summary`: across calls; `cli`: `python -m evals.calls score|replay|bench`
- `rerun`: `replay` (caller channel through the agent again, old vs new); `labelled`/`bench`:
  the labelled synthetic calls and the accuracy benchmark

May import: everything in `agents/`, `tools/` and `evals.replay`; nothing imports it.
"""

from .audio import CallAudio, CallInputError, load_pair, load_stereo
from .score import ScoreOptions, score_call, write_call
from .turns import TurnOptions, analyse

__all__ = [
    "CallAudio",
    "CallInputError",
    "ScoreOptions",
    "TurnOptions",
    "analyse",
    "load_pair",
    "load_stereo",
    "score_call",
    "write_call",
]
