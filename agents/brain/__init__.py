"""The brain: which engines answer a call (cascade, native, hybrid, local), chosen per call.

- `profiles`: brains as data (`BrainProfile`, `PROFILES`, stage names, telephony variant)
- `credentials`: the provider keys each profile needs
- `factories`: engine name -> plugin object (plugins imported lazily)
- `assembly`: a profile -> `Brain`, the keyword arguments of `AgentSession`
- `selection`: dispatch metadata / participant attribute / `BRAIN` / automatic -> a profile
- `hybrid`: the realtime model's hand-off to a text reasoner (`consult_expert`)
- `local_models`: loading the offline engines once per process (prewarm)
- `second_listen`: the offline wideband ears' second Whisper, on turns the policy cannot place

May import: `agents.config`, `agents.log`, `tools` (the tool runtime and domain), livekit and
its plugins. Never imports the worker, the side channel or `evals`.
"""

from .assembly import Brain, build_brain, describe
from .credentials import PROVIDER_KEY, PROVIDER_READY, missing_keys
from .factories import LLM_FACTORIES, STT_FACTORIES, TTS_FACTORIES, build_text_llm
from .profiles import (
    AUTO_ORDER,
    PROFILES,
    TURN_DETECTORS,
    BrainProfile,
    Endpointing,
    TurnDetectorName,
    get_profile,
)
from .selection import BrainChoice, Caller, choose_brain

__all__ = [
    "AUTO_ORDER",
    "PROFILES",
    "PROVIDER_KEY",
    "PROVIDER_READY",
    "TURN_DETECTORS",
    "LLM_FACTORIES",
    "STT_FACTORIES",
    "TTS_FACTORIES",
    "Brain",
    "BrainChoice",
    "BrainProfile",
    "Caller",
    "Endpointing",
    "TurnDetectorName",
    "build_brain",
    "build_text_llm",
    "choose_brain",
    "describe",
    "get_profile",
    "missing_keys",
]
