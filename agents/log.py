import logging

logger = logging.getLogger("voice_suite")
