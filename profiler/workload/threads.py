"""The workload on the sync client, from worker threads sharing one client.

That is how most apps call the sync SDK (its connection pool is thread-safe),
and it keeps per-call CPU time measurable (``time.thread_time``), which the
asyncio client cannot give per call. Requests are handed out by a counter (a
closed loop) or by the arrival clock (an open loop), never queued up front:
memory does not grow with the number of requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from itertools import count
from typing import Any

import openai

from profiler.trace.instrument import scheduled_at
from profiler.workload.arrivals import offsets
from profiler.workload.prompt import WorkloadConfig, WorkloadResult, ask

ThreadContext = Callable[[], AbstractContextManager[Any]]


class _Tickets:
    """Hands each worker its next request and, in an open loop, waits until it is due."""

    def __init__(self, config: WorkloadConfig, stop: threading.Event) -> None:
        self.total, self.stop = config.requests, stop
        self._lock = threading.Lock()
        self._numbers = count()
        self._due: Iterator[float] | None = None
        if config.rate is not None:
            self._due = offsets(config.rate, config.arrival, config.seed)
        self.origin = time.perf_counter()

    def next(self) -> tuple[bool, float | None]:
        """(another request to make?, when it was due: perf_counter in an open loop, else None)."""
        with self._lock:
            number = next(self._numbers)
            due = self.origin + next(self._due) if self._due is not None else None
        if number >= self.total:
            return False, None
        while due is not None and (wait := due - time.perf_counter()) > 0:
            if self.stop.wait(min(wait, 0.1)):  # sleep in slices: Ctrl-C and stop stay prompt
                return False, None
        return True, due


def run_threads(
    client: openai.OpenAI,
    config: WorkloadConfig,
    *,
    on_done: Callable[[bool], None] | None = None,
    thread_context: ThreadContext = nullcontext,
    stop: threading.Event | None = None,
) -> WorkloadResult:
    result = WorkloadResult()
    stop = stop or threading.Event()
    lock = threading.Lock()
    wall_before, cpu_before = time.perf_counter(), time.process_time()
    tickets = _Tickets(config, stop)
    result.started = tickets.origin

    def work() -> None:
        with thread_context():
            while not stop.is_set():
                more, due = tickets.next()
                if not more:
                    return
                token = scheduled_at.set(due)
                try:
                    ok = _one(client, config, result, lock)
                finally:
                    scheduled_at.reset(token)
                if on_done is not None:
                    on_done(ok)

    try:
        if config.concurrency <= 1:
            work()
        else:
            workers = [threading.Thread(target=work, daemon=True) for _ in range(config.concurrency)]
            for worker in workers:
                worker.start()
            for worker in workers:  # join with a timeout so Ctrl-C reaches the main thread promptly
                while worker.is_alive():
                    worker.join(0.1)
    except KeyboardInterrupt:
        stop.set()
        result.interrupted = True
    finally:
        result.wall_s = time.perf_counter() - wall_before
        result.cpu_s = time.process_time() - cpu_before
    return result


def _one(client: openai.OpenAI, config: WorkloadConfig, result: WorkloadResult, lock: threading.Lock) -> bool:
    try:
        ask(client, config)
    except Exception:  # any failure: SDK errors, a body that is not JSON, a stream cut mid-way
        with lock:
            result.failures += 1
        return False
    return True
