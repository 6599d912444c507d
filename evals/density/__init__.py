"""Density: how many concurrent calls one worker process carries in real time.

- `timing`: lateness of the replay's real-time input and output (subclasses of
  `evals.replay.io`)
- `providers`: the loopback Deepgram / OpenAI chat / Cartesia servers in a process of their own
- `calls`: one call as LiveKit's thread executor runs a job (own thread, own event loop)
- `worker`: a fresh worker process carrying N calls, measured (CPU, RSS)
- `report`, `cli`: `python -m evals.density --sessions 1,5,10,25,50`

May import: `agents`, `tools`, `evals.replay`, `tests.loopback`; nothing imports it.
"""
