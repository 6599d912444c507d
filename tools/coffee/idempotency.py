"""Idempotent writes: a mutating call's key and result, stored with the change itself.

Owns: the `idempotency` table's rows (`idempotent(tx, owner, key, tool, body)`). It runs inside
the caller's write transaction and claims the key *first*
(`INSERT ... ON CONFLICT (owner, key) DO NOTHING`): the unique key is the guard. A duplicate
running at the same moment on another worker blocks on that key until the first transaction
ends; then it finds the key taken and returns the stored result, marked `"duplicate": true`,
and `body` does not run again. If the first transaction rolls back, its claim goes with it and
the duplicate runs the change itself. The result is written in the same transaction as the
change, so a key never exists without its change. A falsy key means "not idempotent".
Keys are per call (`owner`): the same key from another call is another request.
The keys themselves come from `tools.runtime.idempotency_key` (current user turn, tool,
arguments), built by the coffee tools.

May import: the standard library and `tools.coffee.db`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .db import Tx


async def idempotent(
    tx: Tx,
    owner: str,
    key: str | None,
    tool: str,
    body: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """The stored result for (`owner`, `key`) (+ `"duplicate": True`), else `await body()`,
    stored under that key in the same transaction."""
    if not key:
        return await body()
    claimed = await tx.execute(
        "INSERT INTO idempotency (owner, key, tool, result, created_at) VALUES (?,?,?,NULL,?) "
        "ON CONFLICT (owner, key) DO NOTHING",
        (owner, key, tool, time.time()),
    )
    if claimed == 0:
        row = await tx.fetchone(
            "SELECT result FROM idempotency WHERE owner = ? AND key = ?", (owner, key)
        )
        if row is not None and row["result"] is not None:
            out: dict[str, Any] = json.loads(row["result"])
            out["duplicate"] = True
            return out
        raise RuntimeError(f"idempotency key of {tool} claimed without a result")
    result = await body()
    await tx.execute(
        "UPDATE idempotency SET result = ? WHERE owner = ? AND key = ?",
        (json.dumps(result), owner, key),
    )
    return result
