"""Simulated callers and a task-success eval of ordering calls (`python -m evals.orders`).

A goal file (`goals`) says what a caller wants and how it talks; the caller (`caller_mind`
decides, `caller` times and speaks, `caller_io` is its microphone and ear, `voices` its
flite / espeak-ng voice) places the order with the same agent a live call gets (`run`), and
the call is scored from the order database and the transcript (`scoring`, `menu_words`,
`report`). Goal sets: `goals/tuned/` (to develop against) and `goals/heldout/` (set aside at
random with `python -m evals.orders.split`; never tuned on).

May import: everything in `agents/` and `tools/`, and `evals.replay`; nothing imports it.
"""
