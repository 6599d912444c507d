"""Replay: a caller recording played into the same call a live job builds, with no server.

- `recording`: decode any recording (PyAV) into mono PCM16 + what it was (`load_recording`)
- `io`: a real-time paced `AudioInput` from a recording and a real-time `AudioOutput` sink
- `run`: `agent.py replay` / `python -m evals.replay` (outputs staged, then moved into place)

May import: everything in `agents/` and `tools/`; nothing imports `evals`.
"""

from .recording import Recording, RecordingError, load_recording
from .run import (
    OUTPUT_FILES,
    ReplayError,
    ReplayResult,
    main,
    play_into_session,
    replay_call,
    run_replay,
)

__all__ = [
    "OUTPUT_FILES",
    "Recording",
    "RecordingError",
    "ReplayError",
    "ReplayResult",
    "load_recording",
    "main",
    "play_into_session",
    "replay_call",
    "run_replay",
]
