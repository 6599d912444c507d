"""Idempotent writes: a mutating call's key and result, stored with the change itself.

Owns: the `idempotency` table's rows (`idempotent(conn, key, tool, body)`). It runs inside the
caller's write transaction, so the key and the result are committed together with the change:
a retried or duplicated call with the same key gets the first call's result back, marked
`"duplicate": true`, and `body` does not run again. A falsy key means "not idempotent".
The keys themselves come from `tools.runtime.idempotency_key` (current user turn, tool,
arguments), built by the coffee tools.

May import: the standard library only.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any


def idempotent(
    conn: sqlite3.Connection,
    key: str | None,
    tool: str,
    body: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """The stored result for `key` (+ `"duplicate": True`), else `body()`, stored under `key`."""
    if key:
        row = conn.execute("SELECT result FROM idempotency WHERE key = ?", (key,)).fetchone()
        if row is not None:
            out = json.loads(row["result"])
            out["duplicate"] = True
            return out
    result = body()
    if key:
        conn.execute(
            "INSERT INTO idempotency (key, tool, result, created_at) VALUES (?,?,?,?)",
            (key, tool, json.dumps(result), time.time()),
        )
    return result
