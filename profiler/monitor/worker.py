"""A daemon thread that does the bookkeeping of finished calls after the request that made them.

Deriving a call's phases and observing its metrics costs about a hundred
microseconds; a request that waits for it is that much slower for its client.
Here the request hands the call over (an append) and the worker does the rest a
burst at a time, in the time the process would otherwise wait for the network.

The worker does not wake for every item: it is woken by the first item of a burst,
then gathers for up to ``linger_s``, so a busy service pays one wake-up per burst.
Nothing is lost or left behind: past ``max_pending`` waiting items the caller does the
work itself (back-pressure, not a drop); `drain()` does whatever waits in the calling
thread (a ``/metrics`` scrape calls it, so a scrape never misses a call that has
ended); at exit, and in a forked child, what waits is done or handed on.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Worker"]

log = logging.getLogger("profiler.monitor")
_live: weakref.WeakSet[Worker] = weakref.WeakSet()


class Worker:
    def __init__(
        self,
        process: Callable[[Iterable[Any]], None],
        *,
        linger_s: float = 0.05,
        high_water: int = 64,
        max_pending: int = 10_000,
        name: str = "profiler-monitor",
    ) -> None:
        self._process = process
        self._linger_s = linger_s
        self._high_water = high_water
        self._max_pending = max_pending
        self._name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._pending: deque[Any] = deque()
        self._busy = 0  # items taken by the worker, not yet processed
        self._idle = True  # the first submit starts the thread
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failures = 0  # items whose processing raised (each logged once, then counted)
        _live.add(self)

    def submit(self, item: Any) -> None:
        """Hand over one item; never blocks on the worker, never raises.

        No lock on this path (it runs twice in every monitored request): the append is atomic,
        and the lock is taken only to wake an idle worker. The worker marks itself idle before
        it looks at the queue a last time, so an item appended after that look sees it idle."""
        try:
            pending = self._pending
            if len(pending) < self._max_pending:
                pending.append(item)
                if self._idle or len(pending) == self._high_water:
                    self._wake_worker()
                return
            self._run_batch([item])  # over the bound: the caller does it, nothing is dropped
        except Exception:
            self._failed()

    def drain(self, timeout_s: float = 2.0) -> bool:
        """Process what is waiting now, in this thread, and wait for the worker's batch in hand."""
        with self._lock:
            items = _take_all(self._pending)
        self._run_batch(items)
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._done.wait(remaining)
        return True

    def close(self) -> None:
        """Process what waits, then stop the thread; later items are processed by their caller."""
        self.drain()
        with self._lock:
            self._closed = True
            self._max_pending = 0
            self._wake.notify_all()
        _live.discard(self)

    def _wake_worker(self) -> None:
        with self._lock:
            if not self._closed:
                if self._thread is None:
                    self._start()
                self._idle = False
                self._wake.notify()
                return
            # Appended while close() ran: the thread is gone, so the caller does what is left.
            items = _take_all(self._pending)
        self._run_batch(items)

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        thread.start()
        self._thread = thread

    def _run(self) -> None:
        while (items := self._take()) is not None:
            self._run_batch(items)
            with self._lock:
                self._busy -= len(items)
                self._done.notify_all()
            del items

    def _take(self) -> list[Any] | None:
        with self._lock:
            while True:
                self._idle = True  # before the last look: a submit after it will wake us
                if self._pending:
                    break
                if self._closed:
                    return None
                self._wake.wait()
            self._idle = False
            deadline = time.monotonic() + self._linger_s
            while len(self._pending) < self._high_water:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            items = _take_all(self._pending)
            self._busy += len(items)
            return items

    def _run_batch(self, items: list[Any]) -> None:
        if not items:
            return
        try:
            self._process(items)
        except Exception:
            self._failed()

    def _failed(self) -> None:
        self.failures += 1
        if self.failures == 1:  # once: a broken exporter must not flood the log it may feed
            log.warning("profiler.monitor: recording a call's telemetry failed", exc_info=True)

    def _after_fork(self) -> None:
        # The thread did not survive the fork; what the parent had waiting is the parent's.
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._pending = deque()
        self._busy = 0
        self._idle = True
        self._thread = None


def _take_all(pending: deque[Any]) -> list[Any]:
    """Everything in ``pending`` now, taken one by one: a submit may be appending to it meanwhile."""
    items = []
    while pending:
        items.append(pending.popleft())
    return items


def _drain_all() -> None:
    for worker in list(_live):
        worker.drain(timeout_s=1.0)


def _forked() -> None:
    for worker in list(_live):
        worker._after_fork()


atexit.register(_drain_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
