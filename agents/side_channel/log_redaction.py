"""Logs never carry what the guardrails mask: `RedactingFilter` masks card, SSN-like and
phone numbers (`tools.sensitive.mask`) in a record's message, its arguments, its `extra`
fields, its traceback (`exc_info`, formatted and masked here, before any handler formats it)
and its `stack_info`, at every level (tool arguments are logged at DEBUG only, and masked
there too).

`install_log_redaction()` puts the filter on every handler of the root logger (LiveKit's
console/JSON handlers, pytest's capture) and on our own loggers; the worker calls it once
logging is set up in each process, replay calls it at start.

Owns: `RedactingFilter`. Imports: the standard library and `sensitive`.
"""

from __future__ import annotations

import logging
from typing import Any

from tools.sensitive import mask, mask_value

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_FORMATTER = logging.Formatter()
OUR_LOGGERS = ("voice_suite", "tools.runtime", "tools.call_control", "tools.coffee")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_voice_redacted", False):
            return True
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: _mask_arg(v) for k, v in record.args.items()}
            else:
                record.args = tuple(_mask_arg(a) for a in record.args)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not key.startswith("_"):
                setattr(record, key, mask_value(_plain(value)))
        if record.exc_info and not record.exc_text:
            # handlers format the traceback from exc_info, after every filter: format it now
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
            record.exc_info = None  # the masked text is what every formatter prints
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        record._voice_redacted = True
        return True


def _mask_arg(value: Any) -> Any:
    if isinstance(value, str | dict | list | tuple):
        return mask_value(value)
    if isinstance(value, int) and len(str(abs(value))) >= 9:
        return mask(str(value))
    return value


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value


_FILTER = RedactingFilter()


def install_log_redaction() -> RedactingFilter:
    """Idempotent: adds the filter wherever it is not yet."""
    targets: list[logging.Filterer] = list(logging.getLogger().handlers)
    targets += [logging.getLogger(name) for name in OUR_LOGGERS]
    for t in targets:
        if _FILTER not in t.filters:
            t.addFilter(_FILTER)
    return _FILTER
