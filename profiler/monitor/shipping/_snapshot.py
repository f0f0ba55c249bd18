"""A copy of a log record that can be formatted later, in another thread, to the same text.

The caller's thread only copies the record's attributes (about a microsecond); the
formatter runs in the shipper's encoder thread. What could change between the call and
the formatting is fixed at the call:

- the message: rendered now when it has arguments (``msg`` becomes the text, ``args``
  None), as a formatter would render it; a dict message is copied like an extra;
- extra fields: immutable values are kept, containers are copied, dataclasses are deep
  copied, and any other object is replaced by its ``str()`` — which is what both a
  JSON formatter (python-json-logger's fallback) and ``%(field)s`` would have written;
- the exception: its traceback object is kept. The chain of frames it holds does not
  change once raised, so the formatted traceback is the one a formatter in the caller's
  thread would have printed (the frames stay alive until the record is formatted,
  normally within ``linger``: tens of milliseconds).

A plain `LogRecord` is copied to a dict of its attributes, and `revive` makes it a record
again in the encoder thread; a record of another class is copied to an object of that
class. Either way any formatter (JSON or text) formats the copy as it would the original,
and formatting it sets attributes on the copy, never on the caller's record.

Why a dict, and the message rendered at the call: an arguments tuple or a record object
kept alive is a container the garbage collector tracks. Thousands of them waiting to be
encoded made the collections that fall in the callers' threads longer, and made full
collections come sooner; a dict holding only immutable values is never tracked.
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
from typing import Any

__all__ = ["Snapshot", "revive", "snapshot"]

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

#: What `snapshot` returns: a plain record's attributes, or a copy of a record of another class.
Snapshot = dict[str, Any] | logging.LogRecord


def snapshot(record: logging.LogRecord) -> Snapshot:
    """A copy equal to ``record`` for every formatter, safe to format after the caller moved on.

    `revive` turns it back into a record. A plain `LogRecord` with immutable extras is copied
    to a bare dict of immutable values, which the garbage collector does not track: records
    waiting to be encoded neither lengthen the collections that happen in the callers'
    threads nor, outliving them, bring on full ones. Raises what ``record.getMessage()`` raises.
    """
    copied = {
        key: value if type(value) in _IMMUTABLE else _frozen_attribute(record, key, value)
        for key, value in record.__dict__.items()
    }
    if record.args and type(record.msg) is str:
        copied["msg"] = record.getMessage()  # its place in the order kept; `args` is None
    if type(record) is logging.LogRecord:
        return copied
    clone = object.__new__(type(record))
    clone.__dict__ = copied
    return clone


def revive(copied: Snapshot) -> logging.LogRecord:
    """The record a `snapshot` was taken of, as it was then, for a formatter to format."""
    if type(copied) is dict:
        record = object.__new__(logging.LogRecord)
        record.__dict__ = copied
        return record
    return copied


def _frozen_attribute(record: logging.LogRecord, key: str, value: Any) -> Any:
    if key == "msg":  # not a string
        return _frozen(value, 0) if isinstance(value, dict) else record.getMessage()
    if key == "args":
        # The message is rendered now: the arguments would be a container for the collector.
        return None if value else value
    if key in _RECORD_ATTRIBUTES:
        return value  # exc_info: its traceback's frames do not change once raised
    return _frozen(value, 0)


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
