"""End-of-turn detection evals: `python -m evals.turn_detection {score,train,bench}`.

Training the semantic turn model (the plugin ships inference only):
`train.py` (fitting) <- `examples.py` (examples from dialogs) <- `slot_dialogs.py` (synthetic
slot exchanges, text); `split_record.py` (which dialogs a model saw; the split is
`evals/splits.py`). Scoring cases: `cli_score.py`.

The audio bench: `bench.py` (command) <- `bench_dialogs.py` (held-out dialogs) -> `pauses.py`
(pause points in text) -> `render.py` (TTS audio) -> `turns.py` (turns, silences, decision
spans); `real_speech.py` (recorded clips); `detectors.py`; `bench_scoring.py` (causal scores);
`sweep.py` (policy sweep, operating points); `report.py` (tables, JSON, plot).

May import: the semantic-turn plugin (features, model, detectors), the other plugins and
engines it benchmarks, `tools.coffee.taskmaster4` and `evals.splits`; nothing imports it.
"""
