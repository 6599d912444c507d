"""Fault injection for the loopback provider servers: what an outage looks like on the wire.

Every server takes `fault=Fault(kind, ...)`; each request (chat completion, TTS context,
realtime response) or connection (STT stream) asks `fault.take()` whether it is hit:

- `http_5xx`: the provider answers HTTP 500 (chat) or refuses the WebSocket upgrade with 500;
- `drop`: the connection is cut mid-stream, after the first piece of the answer;
- `stall`: the connection stays open and nothing more ever comes;
- `malformed`: a frame that is not the protocol (invalid JSON) where the answer should be;
- `slow_first_byte`: the answer starts only after `delay` seconds.

`skip` requests are served normally first (the greeting), then `times` are hit (None: every
one after, a provider that is down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["http_5xx", "drop", "stall", "malformed", "slow_first_byte"]
FAULT_KINDS: tuple[FaultKind, ...] = ("http_5xx", "drop", "stall", "malformed", "slow_first_byte")
MALFORMED = "{this is not json"
STALL_S = 120.0
"""A stall lasts longer than any test: the client must give up on its own."""


@dataclass
class Fault:
    kind: FaultKind
    skip: int = 0
    times: int | None = None
    delay: float = 4.0
    """Seconds before the first byte, for `slow_first_byte`."""
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(FAULT_KINDS)}")

    def take(self) -> bool:
        """True when this request/connection is hit (counts it)."""
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times is not None:
            if self.times <= 0:
                return False
            self.times -= 1
        self.hits += 1
        return True


def hit(fault: Fault | None) -> FaultKind | None:
    """The fault's kind when it hits this request/connection, else None."""
    return fault.kind if fault is not None and fault.take() else None
