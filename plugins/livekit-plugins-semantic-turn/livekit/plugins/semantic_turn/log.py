import logging

logger = logging.getLogger("livekit.plugins.semantic_turn")
