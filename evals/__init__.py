"""Everything that measures, run as `python -m evals.<thing>` from the repository root.

- `replay`: a caller recording played into a real call, offline (`agent.py replay`)
- `turn_detection`: the semantic turn detector's data, training, scoring and benchmark
- `tool_calls`: tool choice and arguments on held-out Taskmaster-4 dialogs
- `latency`: the suite against a bare `AgentSession` with the same engines, in one run

May import everything (`agents`, `tools`, the plugins); nothing imports `evals`.
"""
