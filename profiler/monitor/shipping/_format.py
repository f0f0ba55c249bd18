"""The default event format: one JSON object per record, made cheaply enough to run in the caller's thread."""

from __future__ import annotations

import logging
import time
from typing import Any

from pythonjsonlogger.core import BaseJsonFormatter
from pythonjsonlogger.json import JsonEncoder, JsonFormatter

__all__ = ["ShippingJsonFormatter", "default_formatter", "is_json_formatter"]


class ShippingJsonFormatter(JsonFormatter):
    """``{"level", "logger", "message", ...extras, "exc_info"?, "timestamp"}``, compact.

    The same output as a `JsonFormatter` with ``timestamp=True``, at two thirds of
    the cost: the encoder is built once rather than per record, and the timestamp
    is written as text (ISO 8601, UTC, microseconds) instead of going through a
    datetime and the encoder's fallback. Loggly takes `timestamp` as the event time.
    """

    def __init__(self) -> None:
        encoder = JsonEncoder(ensure_ascii=True, separators=(",", ":"))
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            json_serializer=lambda data, **_: encoder.encode(data),
        )
        self._second = -1
        self._second_text = ""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["timestamp"] = self._iso_utc(record.created)

    def _iso_utc(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            # Once a second; a race between threads here only recomputes the same text.
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1e6):06d}+00:00"


def default_formatter() -> logging.Formatter:
    return ShippingJsonFormatter()


def is_json_formatter(formatter: logging.Formatter | None) -> bool:
    """Whether a formatter's output is a JSON object, so it can be embedded as one rather than as a string."""
    return isinstance(formatter, BaseJsonFormatter) and not formatter.prefix
