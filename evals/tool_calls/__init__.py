"""Tool-call eval: replay Taskmaster-4 coffee dialogs against a brain's text LLM and score the
function calls per API (precision / recall of tool names, argument match).

    python -m evals.tool_calls [--limit N] [--brain NAME] [--split test] [--data DIR] [--json OUT]

The held-out dialogs are the ``test`` split of ``evals/splits.py``. Without the full dataset
beside the checkout the eval reads the slice shipped in ``data/taskmaster4/``.

May import: ``agents`` (the brain under test), ``tools`` (the runtime and the coffee domain,
whose ``taskmaster4`` module reads the dialogs) and ``evals.splits``; nothing imports it.

Data: Taskmaster-4 (Bill Byrne and Saravanan Ganesh, Google LLC), CC BY 4.0.
"""
