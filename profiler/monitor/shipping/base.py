"""`BatchingHTTPHandler`: a `logging.Handler` that ships records over HTTP in batches, never holding up
the caller.

In the caller's thread, emit() copies the record (`_snapshot`: a microsecond or
two) and appends it to a bounded queue: no formatting, no I/O, no waiting, no
exception. Two daemon threads per handler, started on the first record, do the
rest: the encoder formats the copies a burst at a time and applies the size
limits, the sender sends the encoded queue in batches with retries. Every record
emitted ends up counted exactly once, as sent or as dropped with a reason (see `stats`).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import ClassVar, TypedDict
from urllib.parse import urlsplit

import httpx2

from . import _lifecycle
from ._encoder import Encoder
from ._format import default_formatter
from ._ledger import Ledger
from ._quiet import in_sender_thread
from ._retry import RetryPolicy
from ._secrets import describe, where
from ._sender import Connection, Sender, VerifyTypes, tls_context
from ._snapshot import snapshot
from .stats import CLOSED, FORMAT_ERROR, SENDER_THREAD, SENDER_UNAVAILABLE, ShipperStats

__all__ = ["BadDestination", "BatchingHTTPHandler", "ShipperOptions"]


class BadDestination(ValueError):
    """A destination a handler cannot ship to; ``part`` says which: ``"url"`` or ``"token"`` (so that
    `handlers_from_env` can name the variable it came from, which the handler does not know)."""

    def __init__(self, message: str, part: str) -> None:
        super().__init__(message)
        self.part = part


class ShipperOptions(TypedDict, total=False):
    """Everything a shipper can be tuned with; each subclass fills in its service's limits."""

    level: int | str
    max_queue: int
    max_queue_bytes: int
    max_event_bytes: int
    max_batch_bytes: int
    max_batch_events: int
    flush_interval_s: float
    connect_timeout_s: float
    read_timeout_s: float
    max_retries: int
    backoff_base_s: float
    backoff_cap_s: float
    close_timeout_s: float
    verify: VerifyTypes
    transport: httpx2.BaseTransport | None


class BatchingHTTPHandler(logging.Handler):
    """Ships formatted records to `url` in batches. Subclasses supply the wire format.

    Hooks: `encode_event(record) -> bytes` (in the encoder thread, on a copy of the
    record; the size limit applies to its result), `encode_batch(events) -> bytes` (a
    classmethod: the sender thread holds no reference to the handler) and `headers()`.
    """

    #: The longest the encoder waits to gather a burst before formatting it (at most flush_interval_s).
    encode_linger_s: ClassVar[float] = 0.05

    #: Between two events of a batch; the batch size limit counts it.
    separator: ClassVar[bytes] = b"\n"

    def __init__(
        self,
        url: str,
        *,
        secrets: Sequence[str] = (),
        level: int | str = logging.NOTSET,
        max_queue: int = 10_000,
        max_queue_bytes: int = 32_000_000,
        max_event_bytes: int = 1_000_000,
        max_batch_bytes: int = 1_000_000,
        max_batch_events: int = 1_000,
        flush_interval_s: float = 2.0,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 10.0,
        max_retries: int = 5,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        close_timeout_s: float = 5.0,
        verify: VerifyTypes = True,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        name = type(self).__name__
        _check_url(name, url)
        _check_positive(
            name,
            max_queue=max_queue,
            max_queue_bytes=max_queue_bytes,
            max_event_bytes=max_event_bytes,
            max_batch_bytes=max_batch_bytes,
            max_batch_events=max_batch_events,
            flush_interval_s=flush_interval_s,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            backoff_base_s=backoff_base_s,
            backoff_cap_s=backoff_cap_s,
            close_timeout_s=close_timeout_s,
        )
        if max_retries < 0:
            raise ValueError(f"{name}: max_retries must be 0 or more, got {max_retries}")
        if max_event_bytes > min(max_batch_bytes, max_queue_bytes):
            raise ValueError(
                f"{name}: max_event_bytes ({max_event_bytes}) must fit in max_batch_bytes "
                f"({max_batch_bytes}) and max_queue_bytes ({max_queue_bytes})"
            )
        try:
            tls = tls_context(verify) if transport is None else None
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"{name}: verify={verify!r} cannot be loaded ({type(exc).__name__})") from None
        super().__init__(level)
        self.setFormatter(default_formatter())
        self._url = url
        self._secrets = tuple(s for s in secrets if s)
        self.max_event_bytes = max_event_bytes
        self.close_timeout_s = close_timeout_s
        self._queue_limits = (max_queue, max_queue_bytes, max_batch_events, max_batch_bytes)
        self._flush_interval_s = flush_interval_s
        self._policy = RetryPolicy(max_retries=max_retries, base_s=backoff_base_s, cap_s=backoff_cap_s)
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._tls = tls
        self._transport = transport
        self._fresh_state()
        self._shut = False
        _lifecycle.track(self)

    def _fresh_state(self) -> None:
        max_queue, max_queue_bytes, max_batch_events, max_batch_bytes = self._queue_limits
        self._ledger = Ledger(
            max_events=max_queue,
            max_bytes=max_queue_bytes,
            batch_events=max_batch_events,
            batch_bytes=max_batch_bytes,
            separator_bytes=len(self.separator),
        )
        self._sender: Sender | None = None
        self._encoder: Encoder | None = None
        self._start_lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {where(self._url)} ({logging.getLevelName(self.level)})>"

    # The wire format: subclasses override these.

    def encode_event(self, record: logging.LogRecord) -> bytes:
        return self.format(record).encode("utf-8", "replace")

    @classmethod
    def encode_batch(cls, events: Sequence[bytes]) -> bytes:
        return cls.separator.join(events)

    def headers(self) -> Mapping[str, str]:
        return {"content-type": "text/plain"}

    # The caller's side.

    def handle(self, record: logging.LogRecord) -> logging.LogRecord | bool:  # type: ignore[override]
        """As `logging.Handler.handle`, without the handler's lock: emit() is thread-safe on its own,
        and a lock every log call takes is a wait for the caller whenever two threads log at once."""
        if not self.filters:  # the usual handler: no filter to ask
            self.emit(record)
            return True
        rv = self.filter(record)
        if isinstance(rv, logging.LogRecord):
            record = rv
        if rv:
            self.emit(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        ledger = self._ledger
        try:
            if in_sender_thread():
                ledger.refuse(SENDER_THREAD)
                return
            if self._shut:
                ledger.refuse(CLOSED)
                return
            try:
                copied = snapshot(record)
            except Exception as exc:  # the message cannot be rendered: the formatter would fail too
                ledger.refuse(FORMAT_ERROR, self._describe(exc))
                return
            if self._sender is None and not self._start_sender():
                ledger.refuse(CLOSED if self._shut else SENDER_UNAVAILABLE)
                return
            ledger.accept(copied)
        except Exception as exc:  # a log call must never raise into the app
            with contextlib.suppress(Exception):
                ledger.refuse(SENDER_UNAVAILABLE, self._describe(exc))

    def handleError(self, record: logging.LogRecord) -> None:
        """Never print: a traceback per record to stderr is its own outage. emit() counts failures instead."""

    def _start_sender(self) -> bool:
        with self._start_lock:
            if self._shut:
                return False
            if self._sender is not None:
                return True
            try:
                sender = Sender(
                    connection=Connection(
                        url=self._url,
                        headers=dict(self.headers()),
                        connect_timeout_s=self._timeouts[0],
                        read_timeout_s=self._timeouts[1],
                        tls=self._tls,
                        transport=self._transport,
                        secrets=self._secrets,
                    ),
                    ledger=self._ledger,
                    encode_batch=type(self).encode_batch,
                    policy=self._policy,
                    flush_interval_s=self._flush_interval_s,
                    name=f"{type(self).__name__}-sender",
                )
                encoder = Encoder(
                    encode=weakref.WeakMethod(self.encode_event),
                    ledger=self._ledger,
                    max_event_bytes=self.max_event_bytes,
                    linger_s=min(self.encode_linger_s, self._flush_interval_s),
                    secrets=self._secrets,
                    name=f"{type(self).__name__}-encoder",
                )
                sender.start()
                encoder.start()
            except Exception as exc:  # e.g. "can't start new thread" at interpreter shutdown
                # A sender started before the encoder failed is left idle, waiting on an empty queue.
                self._ledger.note_error(self._describe(exc))
                return False
            self._sender, self._encoder = sender, encoder
            # If the handler is dropped unclosed, its threads must not outlive it.
            self._finalizer = weakref.finalize(self, _abandon, self._ledger, sender)
            self._finalizer.atexit = False
            return True

    def _describe(self, exc: BaseException) -> str:
        return describe(exc, self._secrets)

    # Reading and ending.

    def stats(self) -> ShipperStats:
        return self._ledger.snapshot()

    def flush(self, timeout_s: float | None = None) -> bool:  # type: ignore[override]
        """Wait, at most `timeout_s` (default `close_timeout_s`), until every record emitted so far is
        sent or dropped. True if it is; False at the deadline. Never raises."""
        try:
            return self._ledger.wait_drained(self.close_timeout_s if timeout_s is None else timeout_s)
        except Exception:
            return False

    def close(self) -> None:
        """Flush for at most `close_timeout_s`, then count what is left as dropped (`shutdown`) and stop."""
        self._close_by(time.monotonic() + self.close_timeout_s)

    def _begin_draining(self) -> None:
        self._ledger.begin_draining()

    def _close_by(self, deadline: float) -> None:
        with self._start_lock:
            if self._shut:
                return
            self._shut = True
        try:
            self._ledger.begin_draining()
            self._ledger.wait_drained(deadline - time.monotonic())
        finally:
            self._ledger.close_books()
            if self._sender is not None:
                self._sender.stop()
            _lifecycle.forget(self)
            super().close()

    def _reset_after_fork(self) -> None:
        """In a forked child: the sender thread did not survive the fork, and what the parent had
        queued is the parent's to send. The child starts with an empty queue and its own books."""
        if self._finalizer is not None:
            self._finalizer.detach()
        self._fresh_state()
        if self._shut:
            self._ledger.close_books()


def _abandon(ledger: Ledger, sender: Sender) -> None:
    ledger.close_books()
    sender.stop()


def _check_url(name: str, url: str) -> None:
    # The URL itself is never repeated in the message: it may hold a token.
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise BadDestination(f"{name}: the URL must look like https://host[:port]/path", "url")


def _check_positive(name: str, **values: float) -> None:
    for key, value in values.items():
        if not value > 0:
            raise ValueError(f"{name}: {key} must be more than 0, got {value}")
