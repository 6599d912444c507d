"""Prices, and what a call's usage cost.

The price table is a versioned JSON file (`prices.json` beside this module: per provider and
model, each price with its source page and date); `PRICE_TABLE=path` names a file of the
user's own whose entries replace the shipped ones of the same provider and model and add
new ones. An engine the table does not price, or a unit of its usage the entry neither
prices nor lists as `not_billed`, is *unpriced*: reported as such, never as zero.

A price is `{"price": P, "per": N}`: P (in the table's currency) buys N units of a usage
unit (`UNITS`). Pricing is a sum of `amount / per * price` over disjoint units.

Providers are matched by the name LiveKit's metrics give (`metadata.model_provider`, case
ignored). LiveKit's OpenAI plugin reports its endpoint's host instead (`api.openai.com`, or
an OpenAI-compatible server's `host:port`): the table's `aliases` (`{"glob": "provider"}`)
map such names to a priced provider.

Owns: the price-table format and the cost arithmetic. Imports: the standard library.
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "voice-suite/prices/v1"
SHIPPED = Path(__file__).with_name("prices.json")

UNITS: dict[str, str] = {
    "audio_s": "seconds of audio (STT: heard; TTS: synthesized)",
    "characters": "characters synthesized (TTS)",
    "input_tokens": "(text) prompt tokens not served from the provider's cache (LLM, STT)",
    "cached_input_tokens": "prompt tokens served from the cache (LLM)",
    "output_tokens": "completion tokens (LLM, STT)",
    "text_input_tokens": "text input tokens not cached (realtime)",
    "cached_text_input_tokens": "cached text input tokens (realtime)",
    "audio_input_tokens": "audio input tokens not cached (realtime, transcription)",
    "cached_audio_input_tokens": "cached audio input tokens (realtime)",
    "text_output_tokens": "text output tokens (realtime)",
    "audio_output_tokens": "audio output tokens (realtime)",
    "cpu_s": "CPU seconds a local engine computed (local engines)",
}
"""Usage units: what `usage.UsageMeter` counts per engine and a price may be given for."""

KINDS = ("stt", "llm", "tts", "realtime", "local")


class PriceTableError(ValueError):
    """A price table that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Price:
    price: float
    per: float

    def of(self, amount: float) -> float:
        return amount / self.per * self.price


@dataclass(frozen=True)
class PriceEntry:
    provider: str
    model: str
    """Exact (case-insensitive) or a glob (`*` = every model of the provider)."""
    kind: str
    prices: Mapping[str, Price]
    not_billed: frozenset[str] = frozenset()
    source: str = ""
    as_of: str = ""
    note: str = ""
    origin: str = ""
    """The file this entry came from."""

    def matches(self, provider: str, model: str) -> bool:
        return self.provider == provider.lower() and fnmatch.fnmatchcase(model.lower(), self.model)


@dataclass(frozen=True)
class EngineCost:
    """One engine's usage, priced."""

    cost: float | None
    """None: unpriced (no entry, or a unit the entry does not price)."""
    unpriced_units: tuple[str, ...] = ()
    entry: PriceEntry | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cost": None if self.cost is None else round(self.cost, 8)}
        if self.cost is None:
            out["unpriced"] = (
                "no price for this engine"
                if self.entry is None
                else f"no price for {', '.join(self.unpriced_units)}"
            )
        if self.entry is not None:
            out["price_source"] = self.entry.source
            out["price_as_of"] = self.entry.as_of
        return out


@dataclass(frozen=True)
class PriceTable:
    currency: str
    version: str
    entries: tuple[PriceEntry, ...]
    files: tuple[str, ...] = field(default=())
    aliases: tuple[tuple[str, str], ...] = ()
    """(provider glob, provider priced as), a user file's first."""

    def canonical(self, provider: str) -> str:
        name = provider.lower()
        for pattern, target in self.aliases:
            if fnmatch.fnmatchcase(name, pattern):
                return target
        return name

    def entry(self, provider: str, model: str) -> PriceEntry | None:
        """The first matching entry: a user file's entries come first, exact models before
        globs."""
        provider = self.canonical(provider)
        hits = [e for e in self.entries if e.matches(provider, model)]
        hits.sort(key=lambda e: "*" in e.model or "?" in e.model)
        return hits[0] if hits else None

    def price(self, provider: str, model: str, usage: Mapping[str, float]) -> EngineCost:
        entry = self.entry(provider, model)
        if entry is None:
            return EngineCost(None)
        total = 0.0
        billed = False
        missing: list[str] = []
        for unit, amount in usage.items():
            if not amount:
                continue
            if unit in entry.prices:
                total += entry.prices[unit].of(amount)
                billed = True
            elif unit not in entry.not_billed:
                missing.append(unit)
        if not billed and any(usage.values()) and not missing:
            # usage only in units the entry does not bill (an OpenAI-compatible TTS that
            # reported characters but not the tokens the entry prices): not free, unpriced
            missing = sorted(u for u, a in usage.items() if a)
        if missing:
            return EngineCost(None, tuple(sorted(missing)), entry)
        return EngineCost(total, (), entry)

    def describe(self) -> str:
        return f"price table {self.version} ({self.currency}; {', '.join(self.files)})"


def _fail(origin: str, what: str) -> PriceTableError:
    return PriceTableError(f"price table {origin}: {what}")


def _number(origin: str, where: str, v: Any, *, positive: bool) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _fail(origin, f"{where} must be a number, not {v!r}")
    if v < 0 or (positive and v == 0):
        raise _fail(origin, f"{where} must be {'> 0' if positive else '>= 0'}, not {v!r}")
    return float(v)


def _string(origin: str, where: str, v: Any, *, required: bool = True) -> str:
    if v is None and not required:
        return ""
    if not isinstance(v, str) or (required and not v.strip()):
        raise _fail(origin, f"{where} must be a non-empty string")
    return v.strip()


def _entry(origin: str, i: int, raw: Any) -> PriceEntry:
    where = f"engines[{i}]"
    if not isinstance(raw, dict):
        raise _fail(origin, f"{where} must be an object")
    unknown = set(raw) - {"provider", "model", "kind", "prices", "not_billed", "source",
                          "as_of", "note"}  # fmt: skip
    if unknown:
        raise _fail(origin, f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    kind = _string(origin, f"{where}.kind", raw.get("kind"))
    if kind not in KINDS:
        raise _fail(origin, f"{where}.kind {kind!r} is not one of: {', '.join(KINDS)}")
    prices_raw = raw.get("prices")
    if not isinstance(prices_raw, dict) or not prices_raw:
        raise _fail(origin, f"{where}.prices must be a non-empty object of unit: {{price, per}}")
    prices: dict[str, Price] = {}
    for unit, p in prices_raw.items():
        w = f"{where}.prices.{unit}"
        if unit not in UNITS:
            raise _fail(origin, f"{w}: unknown unit (known: {', '.join(UNITS)})")
        if not isinstance(p, dict) or set(p) != {"price", "per"}:
            raise _fail(origin, f'{w} must be {{"price": number, "per": number}}')
        prices[unit] = Price(
            _number(origin, f"{w}.price", p["price"], positive=False),
            _number(origin, f"{w}.per", p["per"], positive=True),
        )
    not_billed = raw.get("not_billed", [])
    if not isinstance(not_billed, list) or any(u not in UNITS for u in not_billed):
        raise _fail(origin, f"{where}.not_billed must be a list of units")
    as_of = _string(origin, f"{where}.as_of", raw.get("as_of"))
    source = _string(origin, f"{where}.source", raw.get("source"))
    return PriceEntry(
        provider=_string(origin, f"{where}.provider", raw.get("provider")).lower(),
        model=_string(origin, f"{where}.model", raw.get("model")).lower(),
        kind=kind,
        prices=prices,
        not_billed=frozenset(not_billed),
        source=source,
        as_of=as_of,
        note=_string(origin, f"{where}.note", raw.get("note"), required=False),
        origin=origin,
    )


def parse_table(text: str, origin: str) -> PriceTable:
    """A price table from its JSON text; raises PriceTableError (one line) when unusable."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise _fail(
            origin, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise _fail(origin, "must be a JSON object")
    if raw.get("schema") != SCHEMA:
        raise _fail(origin, f"schema must be {SCHEMA!r}, not {raw.get('schema')!r}")
    currency = _string(origin, "currency", raw.get("currency"))
    version = _string(origin, "version", raw.get("version"))
    engines = raw.get("engines")
    if not isinstance(engines, list):
        raise _fail(origin, "engines must be a list")
    aliases_raw = raw.get("aliases", {})
    if not isinstance(aliases_raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in aliases_raw.items()
    ):
        raise _fail(origin, 'aliases must be an object of "provider glob": "provider"')
    entries = tuple(_entry(origin, i, e) for i, e in enumerate(engines))
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        if (entry.provider, entry.model) in seen:
            raise _fail(origin, f"{entry.provider}/{entry.model} is priced twice")
        seen.add((entry.provider, entry.model))
    aliases = tuple((k.lower(), v.lower()) for k, v in aliases_raw.items())
    return PriceTable(currency, version, entries, (origin,), aliases)


def read_table(path: str | Path) -> PriceTable:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(str(p), "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(str(p), f"cannot be read ({type(e).__name__})") from None
    return parse_table(text, str(p))


def merge(base: PriceTable, user: PriceTable) -> PriceTable:
    """`user`'s entries first (they replace `base`'s of the same provider and model)."""
    if user.currency != base.currency:
        raise _fail(
            user.files[0],
            f"currency {user.currency!r} differs from the shipped table's {base.currency!r}",
        )
    keys = {(e.provider, e.model) for e in user.entries}
    kept = tuple(e for e in base.entries if (e.provider, e.model) not in keys)
    return PriceTable(
        base.currency,
        f"{base.version}+{user.version}",
        user.entries + kept,
        user.files + base.files,
        user.aliases + base.aliases,
    )


@functools.cache
def load_prices(user_file: str = "") -> PriceTable:
    """The shipped table, overridden by `user_file` (`PRICE_TABLE`) when given. Cached per
    path: the worker checks it at start (`check_startup`), every call reuses it."""
    table = read_table(SHIPPED)
    if user_file.strip():
        table = merge(table, read_table(user_file.strip()))
    return table
