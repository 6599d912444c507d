"""Evaluations: `python -m evals.<thing>`."""
