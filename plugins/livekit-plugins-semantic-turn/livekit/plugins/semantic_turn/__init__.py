"""Semantic end-of-turn detection for LiveKit Agents (English).

``SemanticTurnDetector`` is a livekit-agents text turn detector: it scores the user's
transcript-so-far given the agent's previous turn (so "two" ends the turn after "How many?" but
not after "What's your phone number?"), with a hashed-feature logistic model trained on
Taskmaster-4 (CC BY 4.0) and run in pure numpy (~0.1 ms per call).

``FusedTurnDetector`` + ``TurnFusion`` fold in LiveKit's local audio end-of-turn model
(``livekit.local_inference.EOT``, optional) and the silence so far; ``AudioTap`` is where the
session's audio comes from. See README.md.

Inference only: training, its data and the dialog split live in the repo's
``evals/turn_detection/`` (``python -m evals.turn_detection train``).
"""

from .detector import SemanticTurnDetector, predict_text, turn_from_chat_ctx
from .fusion import AudioTap, FusedScores, FusedTurnDetector, TurnFusion, load_audio_eot
from .model import TurnModel, default_model_path
from .version import __version__

__all__ = [
    "SemanticTurnDetector",
    "FusedTurnDetector",
    "TurnFusion",
    "FusedScores",
    "AudioTap",
    "TurnModel",
    "predict_text",
    "turn_from_chat_ctx",
    "load_audio_eot",
    "default_model_path",
    "__version__",
]

from livekit.agents import Plugin

from .log import logger


class SemanticTurnPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(SemanticTurnPlugin())

# Cleanup docs of unexported modules
_module = dir()
NOT_IN_ALL = [m for m in _module if m not in __all__]

__pdoc__ = {}

for n in NOT_IN_ALL:
    __pdoc__[n] = False
