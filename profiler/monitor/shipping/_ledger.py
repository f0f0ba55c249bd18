"""The bounded queues and their books, under one lock so that every count is exact.

A record moves emitted → waiting to be encoded → being encoded → queued → in flight
→ sent or dropped, and each move happens under the same lock as the counters it
changes. So a snapshot always balances, and no record is counted twice: once close()
has written off what was left, a late answer for a batch already written off, or a
late encoding, changes nothing.

Three parties take the lock: the caller's thread (`accept`, a few operations, and a
wake-up only for the first record of a burst), the encoder thread (`take_raw`, `admit`:
whole batches at a time, so it holds the lock for a queue swap, not per record) and
the sender thread (`take_batch`, `settle`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from .stats import CLOSED, DROP_REASONS, FORMAT_ERROR, QUEUE_FULL, SHUTDOWN, TOO_LARGE, ShipperStats

__all__ = ["ENCODE_BATCH", "Ledger"]

# The encoder takes at most about this many records at once before it hurries: a bound on what
# waits unencoded, and on how long one encoding run holds the GIL (~25 µs a record).
ENCODE_BATCH = 256


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
        # The callers' side takes the lock itself: a Condition's __enter__ and __exit__ are two Python
        # calls more on every log call.
        self._lock = lock = threading.Lock()
        self._ready = threading.Condition(lock)  # the sender waits on it
        self._raw_ready = threading.Condition(lock)  # the encoder waits on it
        self._raw: deque[Any] = deque()  # records copied in the caller's thread, not yet encoded
        self._encoding = 0  # taken by the encoder, not yet admitted
        self._encoder_idle = False  # waiting with nothing to do: the next record wakes it
        self._queue: deque[bytes] = deque()
        self._queue_bytes = 0
        self._first_queued_at = 0.0
        # The sender sends a partial batch at once while a flush waits or close has begun.
        self._hurry = 0
        self._draining = False
        self._closed = False
        # For flush(): records ever accepted for encoding, and how many of them are done with.
        self._accepted = 0
        self._finished = 0
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

    def _waiting(self) -> int:
        return len(self._raw) + self._encoding + len(self._queue)

    # In the caller's thread: short, never waits for the encoder or the sender.

    def accept(self, record: Any) -> None:
        """A copied record, to be encoded in the encoder thread."""
        with self._lock:
            self._emitted += 1
            if self._closed:
                self._dropped[CLOSED] += 1
                return
            raw = self._raw
            if len(raw) + self._encoding + len(self._queue) >= self._max_events:  # _waiting(), inline
                self._dropped[QUEUE_FULL] += 1
                return
            raw.append(record)
            self._accepted += 1
            # The encoder gathers a burst by itself once awake: only an idle one is woken, and one
            # that has a lot waiting is hurried (the copies hold tracebacks and extras alive).
            if self._encoder_idle or len(raw) == ENCODE_BATCH:
                self._encoder_idle = False
                self._raw_ready.notify()

    def refuse(self, reason: str, error: str | None = None) -> None:
        """A record emitted but never queued."""
        with self._lock:
            self._emitted += 1
            self._dropped[reason] += 1
            if error is not None:
                self._last_error = error

    # In the encoder thread.

    def take_raw(self, linger_s: float) -> list[Any] | None:
        """Wait for records to encode, gather more for up to `linger_s`, take them all; None once closed."""
        with self._ready:
            while not self._raw:
                if self._closed:
                    return None
                self._encoder_idle = True
                self._raw_ready.wait()
            self._encoder_idle = False
            deadline = time.monotonic() + linger_s
            while not (self._closed or self._hurry or self._draining or len(self._raw) >= ENCODE_BATCH):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._raw_ready.wait(remaining)
            if self._closed:
                return None
            taken, self._raw = list(self._raw), deque()
            self._encoding += len(taken)
            return taken

    def admit(self, events: Sequence[bytes], failures: Sequence[str], max_event_bytes: int) -> None:
        """Encoded records join the send queue; those that failed to encode or are too large are dropped."""
        sizes = [len(event) for event in events]
        fitting = [event for event, size in zip(events, sizes, strict=True) if size <= max_event_bytes]
        too_large = len(events) - len(fitting)
        total = sum(len(event) for event in fitting) if too_large else sum(sizes)
        with self._ready:
            self._encoding -= len(events) + len(failures)
            if self._closed:
                return  # close() counted them as dropped at shutdown
            self._dropped[FORMAT_ERROR] += len(failures)
            if failures:
                self._last_error = failures[-1]
            self._dropped[TOO_LARGE] += too_large
            dropped = len(failures) + too_large
            was_empty = not self._queue
            was_ready = not was_empty and self._batch_ready()
            if self._queue_bytes + total <= self._max_bytes:
                self._queue.extend(fitting)  # the usual case: one C call, the lock held briefly
                self._queue_bytes += total
            else:
                for event in fitting:
                    if self._queue_bytes + len(event) > self._max_bytes:
                        self._dropped[QUEUE_FULL] += 1
                        dropped += 1
                        continue
                    self._queue.append(event)
                    self._queue_bytes += len(event)
            self._finished += dropped
            if was_empty and self._queue:
                self._first_queued_at = time.monotonic()
            # Wake the sender only on the two changes it waits for.
            if (was_empty and self._queue) or (not was_ready and self._batch_ready()):
                self._ready.notify_all()
            elif dropped:
                self._ready.notify_all()  # a flush may be waiting for exactly these

    def write_off(self, count: int, reason: str) -> None:
        """Records taken for encoding that never will be (their handler is gone)."""
        with self._ready:
            self._encoding -= count
            if self._closed:
                return
            self._dropped[reason] += count
            self._finished += count
            self._ready.notify_all()

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
            self._finished += count
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
        """Wait until every record accepted before the call is sent or dropped; False at the deadline."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._ready:
            target = self._accepted
            self._hurry += 1
            self._ready.notify_all()
            self._raw_ready.notify_all()
            try:
                while self._finished < target and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._ready.wait(remaining)
                return self._finished >= target
            finally:
                self._hurry -= 1

    def begin_draining(self) -> None:
        """From now on nothing waits to fill a batch: close() has begun."""
        with self._ready:
            self._draining = True
            self._ready.notify_all()
            self._raw_ready.notify_all()

    def close_books(self) -> None:
        """Count whatever is still queued or in flight as dropped at shutdown; refuse all that comes later."""
        with self._ready:
            if self._closed:
                return
            self._dropped[SHUTDOWN] += self._waiting() + self._in_flight
            self._raw.clear()
            self._queue.clear()
            self._queue_bytes = 0
            self._in_flight = 0
            self._closed = True
            self._ready.notify_all()
            self._raw_ready.notify_all()

    def snapshot(self) -> ShipperStats:
        with self._ready:
            return ShipperStats(
                emitted=self._emitted,
                sent=self._sent,
                dropped=dict(self._dropped),
                retried=self._retried,
                queue_depth=self._waiting(),
                queue_bytes=self._queue_bytes,
                in_flight=self._in_flight,
                batches_sent=self._batches_sent,
                last_error=self._last_error,
            )
