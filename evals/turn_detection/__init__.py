"""End-of-turn detection evals: `python -m evals.turn_detection {score,train,bench}`."""
