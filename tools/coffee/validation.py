"""The coffee domain's error type and input checks, shared by the menu and the orders.

Owns: `StoreError` (the domain's model-recoverable error, a `tools.runtime.RecoverableToolError`
so the runtime hands its message to the model), the input limits (`MAX_QUANTITY`, `MAX_TEXT`,
`MAX_NAME`, `MAX_CHOICES`), id normalisation (`slug`, `base_id`, `norm`) and the text and
quantity checks (`clean_text`, `check_quantity`). Pure functions: no SQL, no I/O.

May import: the standard library and `tools.runtime`; nothing else of `tools.coffee`, and never
`agents` or `evals`.
"""

from __future__ import annotations

import re
from typing import Any

from ..runtime import RecoverableToolError

MAX_QUANTITY = 20
MAX_TEXT = 200
MAX_NAME = 60
MAX_CHOICES = 10


class StoreError(RecoverableToolError):
    """A domain error the model can recover from (message is spoken-friendly)."""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def base_id(raw: str) -> str:
    """`latte-0371`, `Mocha-024`, `"latte"` -> `latte` (dataset ids carry a number suffix)."""
    s = slug(str(raw).strip().strip('"'))
    return re.sub(r"(-?\d+)+$", "", s).strip("-")


def norm(text: str) -> str:
    """Lower-case words and digits (and `%`), single-spaced: what names are compared by."""
    return " ".join(re.sub(r"[^a-z0-9% ]+", " ", text.lower()).split())


def clean_text(value: Any, *, field: str, limit: int = MAX_TEXT, required: bool = False) -> str:
    """Strip control characters and bound the length; the text itself is data, never SQL."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    text = "".join(ch for ch in value if ch.isprintable()).strip()
    if len(text) > limit:
        raise StoreError(f"{field} is too long ({len(text)} characters, at most {limit}).")
    if required and not text:
        raise StoreError(f"{field} must not be empty.")
    return text


def check_quantity(quantity: Any) -> int:
    try:
        q = int(str(quantity).strip()) if not isinstance(quantity, int) else quantity
    except (TypeError, ValueError):
        raise StoreError(f"quantity must be a whole number, got {quantity!r}.") from None
    if isinstance(quantity, float) and quantity != int(quantity):
        raise StoreError(f"quantity must be a whole number, got {quantity!r}.")
    if q < 1:
        raise StoreError(f"quantity must be at least 1, got {q}. To remove an item, say so.")
    if q > MAX_QUANTITY:
        raise StoreError(
            f"quantity {q} is more than we take in one phone order (at most {MAX_QUANTITY})."
        )
    return q
