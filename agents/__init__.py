"""The voice-agent worker suite: brains as data, the coffee-shop agent, the worker and replay."""
