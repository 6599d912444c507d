"""The offline brain's ordering policy: a rules layer around a small local model.

- `understanding`: the caller's words -> drinks with options and dialog acts (menu-driven)
- `policy`: what to do next (tool calls with their arguments, or the reply) per LLM step
- `llm`: `GuidedLLM`, an `llm.LLM` that runs the policy and defers the rest to the model

May import: `tools.coffee` (the menu), livekit. Part of the brain: never imports the worker,
the call assembly, the side channel or `evals`.
"""

from .llm import GuidedLLM
from .policy import OrderPolicy
from .understanding import CallerTurn, DrinkRequest, understand

__all__ = ["CallerTurn", "DrinkRequest", "GuidedLLM", "OrderPolicy", "understand"]
