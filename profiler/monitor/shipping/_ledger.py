"""The bounded queue and its books, under one lock so that every count is exact.

A record moves emitted → queued → in flight → sent or dropped, and each move
happens under the same lock as the counters it changes. So a snapshot always
balances, and no record is counted twice: once close() has written off what
was left, a late answer for a batch already written off changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

from .stats import CLOSED, DROP_REASONS, QUEUE_FULL, SHUTDOWN, ShipperStats

__all__ = ["Ledger"]


class Ledger:
    def __init__(
        self,
        *,
        max_events: int,
        max_bytes: int,
        batch_events: int,
        batch_bytes: int,
        separator_bytes: int,
    ) -> None:
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._batch_events = batch_events
        self._batch_bytes = batch_bytes
        self._separator_bytes = separator_bytes
        self._ready = threading.Condition(threading.Lock())
        self._queue: deque[bytes] = deque()
        self._queue_bytes = 0
        self._first_queued_at = 0.0
        # The sender sends a partial batch at once while a flush waits or close has begun.
        self._hurry = 0
        self._draining = False
        self._closed = False
        # For flush(): events ever taken into flight, and how many of them are settled.
        self._taken = 0
        self._settled = 0
        self._emitted = 0
        self._sent = 0
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._retried = 0
        self._in_flight = 0
        self._batches_sent = 0
        self._last_error: str | None = None

    def _batch_ready(self) -> bool:
        count = len(self._queue)
        return count >= self._batch_events or (
            count > 0 and self._queue_bytes + self._separator_bytes * (count - 1) >= self._batch_bytes
        )

    # In the caller's thread: short, never waits for the sender.

    def enqueue(self, event: bytes) -> None:
        size = len(event)
        with self._ready:
            self._emitted += 1
            if self._closed:
                self._dropped[CLOSED] += 1
                return
            if len(self._queue) >= self._max_events or self._queue_bytes + size > self._max_bytes:
                self._dropped[QUEUE_FULL] += 1
                return
            was_empty = not self._queue
            was_ready = not was_empty and self._batch_ready()
            self._queue.append(event)
            self._queue_bytes += size
            if was_empty:
                self._first_queued_at = time.monotonic()
            # Wake the sender only on the two changes it waits for, so most calls pay no notify.
            if was_empty or (not was_ready and self._batch_ready()):
                self._ready.notify_all()

    def refuse(self, reason: str, error: str | None = None) -> None:
        """A record emitted but never queued."""
        with self._ready:
            self._emitted += 1
            self._dropped[reason] += 1
            if error is not None:
                self._last_error = error

    # In the sender thread.

    def take_batch(self, interval_s: float) -> Sequence[bytes] | None:
        """Wait for a batch, then move it into flight; None once closed.

        A batch goes when it is full, when `interval_s` has passed since its first
        event was queued, or at once while someone flushes or closes.
        """
        with self._ready:
            while not self._queue:
                if self._closed:
                    return None
                self._ready.wait()
            deadline = self._first_queued_at + interval_s
            while not (self._closed or self._hurry or self._draining or self._batch_ready()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
            if self._closed:
                return None
            count = len(self._queue)
            if count <= self._batch_events and (
                self._queue_bytes + self._separator_bytes * (count - 1) <= self._batch_bytes
            ):
                # The usual case, all of it: swap the queue rather than pop it one by one while
                # the caller's emit() may be waiting for this lock.
                taken, self._queue = self._queue, deque()
                self._queue_bytes = 0
                self._in_flight += count
                self._taken += count
                return taken
            batch: list[bytes] = []
            size = 0
            while self._queue and len(batch) < self._batch_events:
                grown = size + len(self._queue[0]) + (self._separator_bytes if batch else 0)
                if batch and grown > self._batch_bytes:
                    break
                event = self._queue.popleft()
                batch.append(event)
                self._queue_bytes -= len(event)
                size = grown
            # Whatever is left is at least as old as the batch just taken: keep its deadline.
            self._in_flight += len(batch)
            self._taken += len(batch)
            return batch

    def settle(self, count: int, outcome: str | None, error: str | None = None) -> None:
        """A batch in flight is done: `outcome` None means delivered, else the drop reason."""
        with self._ready:
            if error is not None:
                self._last_error = error
            if self._closed:
                # close() already counted this batch as dropped at shutdown.
                return
            self._in_flight -= count
            self._settled += count
            if outcome is None:
                self._sent += count
                self._batches_sent += 1
            else:
                self._dropped[outcome] += count
            self._ready.notify_all()

    def count_retry(self, error: str | None = None) -> None:
        with self._ready:
            self._retried += 1
            if error is not None:
                self._last_error = error

    def note_error(self, error: str) -> None:
        with self._ready:
            self._last_error = error

    # In flush() and close().

    def wait_drained(self, timeout_s: float) -> bool:
        """Wait until everything queued or in flight at the call is settled; False at the deadline."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._ready:
            target = self._taken + len(self._queue)
            self._hurry += 1
            self._ready.notify_all()
            try:
                while self._settled < target and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._ready.wait(remaining)
                return self._settled >= target
            finally:
                self._hurry -= 1

    def begin_draining(self) -> None:
        """From now on nothing waits to fill a batch: close() has begun."""
        with self._ready:
            self._draining = True
            self._ready.notify_all()

    def close_books(self) -> None:
        """Count whatever is still queued or in flight as dropped at shutdown; refuse all that comes later."""
        with self._ready:
            if self._closed:
                return
            self._dropped[SHUTDOWN] += len(self._queue) + self._in_flight
            self._queue.clear()
            self._queue_bytes = 0
            self._in_flight = 0
            self._closed = True
            self._ready.notify_all()

    def snapshot(self) -> ShipperStats:
        with self._ready:
            return ShipperStats(
                emitted=self._emitted,
                sent=self._sent,
                dropped=dict(self._dropped),
                retried=self._retried,
                queue_depth=len(self._queue),
                queue_bytes=self._queue_bytes,
                in_flight=self._in_flight,
                batches_sent=self._batches_sent,
                last_error=self._last_error,
            )
