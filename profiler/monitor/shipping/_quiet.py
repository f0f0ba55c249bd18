"""Records logged by a sender thread itself never reach a log.

The HTTP client logs every request at INFO ("HTTP Request: POST <url>") and,
for Loggly, the URL holds the customer token. Shipped, such a record would also
cause another request, which logs another record: a loop. So the sender threads
are marked, their records are filtered out of the client's logger, and emit()
refuses any that reach a handler by another path (counted, never shipped).
"""

from __future__ import annotations

import logging
import threading

__all__ = ["in_sender_thread", "mark_sender_thread", "silence_client_logs"]

_CLIENT_LOGGERS = ("httpx2",)
_marks = threading.local()


def mark_sender_thread() -> None:
    _marks.sender = True


def in_sender_thread() -> bool:
    return getattr(_marks, "sender", False)


class _NotFromSenders(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not in_sender_thread()


_FILTER = _NotFromSenders()


def silence_client_logs() -> None:
    """Idempotent: adding the same filter object twice is a no-op in `logging`."""
    for name in _CLIENT_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
