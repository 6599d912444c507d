"""Loopback servers speaking the providers' wire protocols, for offline tests of the real plugins.

Each server is an async context manager bound to 127.0.0.1 on a free port; point the real
LiveKit plugin at ``server.base_url``.
"""

from .cartesia import CartesiaServer
from .deepgram import DeepgramServer
from .faults import FAULT_KINDS, Fault, FaultKind
from .openai_chat import OpenAIChatServer
from .openai_realtime import OpenAIRealtimeServer
from .script import (
    Fail,
    Reply,
    ToolCall,
    echo,
    last_is_tool_result,
    last_user_text,
    sequence,
    text,
    tool_then_text,
)

__all__ = [
    "CartesiaServer",
    "DeepgramServer",
    "FAULT_KINDS",
    "Fault",
    "FaultKind",
    "OpenAIChatServer",
    "OpenAIRealtimeServer",
    "Fail",
    "Reply",
    "ToolCall",
    "echo",
    "last_is_tool_result",
    "last_user_text",
    "sequence",
    "text",
    "tool_then_text",
]
