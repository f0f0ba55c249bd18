"""A copy of a log record that can be formatted later, in another thread, to the same text.

The caller's thread only copies the record's attributes (about a microsecond); the
formatter runs in the shipper's encoder thread. What could change between the call and
the formatting is fixed at the call:

- the message's arguments: kept as they are when every one is immutable (the usual
  ``"%s after %d ms"`` with strings and numbers), else the message is rendered now;
- extra fields: immutable values are kept, containers are copied, dataclasses are deep
  copied, and any other object is replaced by its ``str()`` — which is what both a
  JSON formatter (python-json-logger's fallback) and ``%(field)s`` would have written;
- the exception: its traceback object is kept. The chain of frames it holds does not
  change once raised, so the formatted traceback is the one a formatter in the caller's
  thread would have printed (the frames stay alive until the record is formatted,
  normally within ``linger``: tens of milliseconds).

The copy is of the record's own class, so any formatter (JSON or text) formats it as it
would the original; formatting it sets attributes on the copy, never on the caller's record.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import decimal
import enum
import logging
import pathlib
import uuid
from itertools import islice
from typing import Any

__all__ = ["snapshot"]

# Every attribute a plain LogRecord has, in the order LogRecord.__init__ sets them, plus the two
# that formatters add to it.
_PLAIN_RECORD = tuple(logging.makeLogRecord({}).__dict__)
_RECORD_ATTRIBUTES = frozenset(_PLAIN_RECORD) | {"message", "asctime"}
_IMMUTABLE: frozenset[type] = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        complex,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        datetime.timezone,
        decimal.Decimal,
        uuid.UUID,
        pathlib.PurePosixPath,
        pathlib.PosixPath,
    }
)
_MAX_DEPTH = 16


def snapshot(record: logging.LogRecord) -> logging.LogRecord:
    """A record equal to ``record`` for every formatter, safe to format after the caller moved on.

    Raises what ``record.getMessage()`` raises when the message has to be rendered now.
    """
    state = record.__dict__.copy()
    msg, args = record.msg, record.args
    if isinstance(msg, dict):
        state["msg"] = _frozen(msg, 0)  # JSON formatters merge a dict message into the fields
    elif type(msg) is not str or (args and not _all_immutable(args)):
        state["msg"], state["args"] = record.getMessage(), None
    # Extra fields come after the attributes LogRecord.__init__ set, in insertion order: only
    # those are looked at (a record whose first attribute is not LogRecord's own is scanned whole).
    start = len(_PLAIN_RECORD) if next(iter(state), None) == _PLAIN_RECORD[0] else 0
    for key in list(islice(state, start, None)):
        value = state[key]
        if type(value) not in _IMMUTABLE and key not in _RECORD_ATTRIBUTES:
            state[key] = _frozen(value, 0)
    clone = object.__new__(type(record))
    clone.__dict__ = state
    return clone


def _all_immutable(args: Any) -> bool:
    values = args.values() if isinstance(args, dict) else args
    return _IMMUTABLE.issuperset(map(type, values))


def _frozen(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE or isinstance(value, enum.Enum | BaseException | type):
        return value
    if depth >= _MAX_DEPTH:
        return str(value)
    if kind is dict:
        return {key: _frozen(item, depth + 1) for key, item in value.items()}
    if kind is list:
        return [_frozen(item, depth + 1) for item in value]
    if kind is tuple:
        return tuple(_frozen(item, depth + 1) for item in value)
    if kind in (set, frozenset):
        return kind(value)  # members are hashable, so immutable enough
    if kind is bytearray:
        return bytes(value)
    if dataclasses.is_dataclass(value):
        try:
            return copy.deepcopy(value)
        except Exception:
            return str(value)
    return str(value)
