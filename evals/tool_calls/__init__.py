"""Tool-call eval: replay Taskmaster-4 coffee dialogs against a brain's text LLM and score the
function calls per API (precision / recall of tool names, argument match).

    python -m evals.tool_calls [--limit N] [--brain NAME] [--split test] [--json OUT]

Data: Taskmaster-4 (Bill Byrne and Saravanan Ganesh, Google LLC), CC BY 4.0.
"""
