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

__all__ = ["in_sender_thread", "mark_sender_thread", "silence_client_logs", "unmark_sender_thread"]

_CLIENT_LOGGERS = ("httpx2",)
# Thread idents of the shippers' threads: a set lookup is what every log call pays (a
# threading.local attribute that is missing costs several times more, an exception inside).
_marked: set[int] = set()


def mark_sender_thread() -> None:
    """Mark the calling thread for as long as it runs; call `unmark_sender_thread` as it ends."""
    _marked.add(threading.get_ident())


def unmark_sender_thread() -> None:
    _marked.discard(threading.get_ident())  # idents are reused once a thread has ended


def in_sender_thread() -> bool:
    return threading.get_ident() in _marked


class _NotFromSenders(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not in_sender_thread()


_FILTER = _NotFromSenders()


def silence_client_logs() -> None:
    """Idempotent: adding the same filter object twice is a no-op in `logging`."""
    for name in _CLIENT_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
