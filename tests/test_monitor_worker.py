"""The monitor's worker: every item handed over is processed exactly once, whoever hands it over,
whenever the worker sleeps, drains or closes (real threads, no clock faked)."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator

import pytest

from profiler.monitor.worker import Worker


class Tally:
    """A process function that counts what it was given, and in which thread."""

    def __init__(self, cost_s: float = 0.0) -> None:
        self.seen: Counter[object] = Counter()
        self.threads: set[str] = set()
        self.cost_s = cost_s
        self._lock = threading.Lock()

    def __call__(self, items: Iterable[object]) -> None:
        for item in items:
            if self.cost_s:
                time.sleep(self.cost_s)
            with self._lock:
                self.seen[item] += 1
                self.threads.add(threading.current_thread().name)


@pytest.fixture
def eager_switching() -> Iterator[None]:
    """Threads switched every microsecond rather than every 5 ms: a race between two lines shows."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def test_submits_from_many_threads_with_drains_between_are_each_processed_once(eager_switching: None) -> None:
    tally = Tally()
    worker = Worker(tally, linger_s=0.001, high_water=8, name="tally-worker")
    submitters, per_thread = 6, 3000

    def submit_all(first: int) -> None:
        for number in range(first, first + per_thread):
            worker.submit(number)
            if number % 500 == 0:
                time.sleep(0.002)  # let the worker go idle, so that submits have to wake it

    threads = [threading.Thread(target=submit_all, args=(i * per_thread,)) for i in range(submitters)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        assert worker.drain(timeout_s=5.0)  # drains race the submits and the worker
    for thread in threads:
        thread.join()
    assert worker.drain(timeout_s=5.0)
    assert len(tally.seen) == submitters * per_thread
    assert set(tally.seen.values()) == {1}
    assert "tally-worker" in tally.threads  # not everything was done by drain()
    worker.close()


def test_an_idle_worker_wakes_for_one_item_without_a_drain(eager_switching: None) -> None:
    tally = Tally()
    worker = Worker(tally, linger_s=0.01)
    for round_number in range(20):
        worker.submit(round_number)
        deadline = time.monotonic() + 2.0
        while tally.seen[round_number] == 0 and time.monotonic() < deadline:
            time.sleep(0.005)  # long enough for the worker to be idle again before the next submit
        assert tally.seen[round_number] == 1, round_number
    worker.close()


def test_drain_waits_for_the_batch_the_worker_holds() -> None:
    tally = Tally(cost_s=0.01)
    worker = Worker(tally, linger_s=0.0)
    for number in range(10):
        worker.submit(number)
    time.sleep(0.02)  # the worker has taken a batch and is processing it
    assert worker.drain(timeout_s=5.0)
    assert sum(tally.seen.values()) == 10


def test_after_close_the_caller_processes_what_it_submits() -> None:
    tally = Tally()
    worker = Worker(tally)
    worker.submit("before")
    worker.close()
    assert tally.seen["before"] == 1
    worker.submit("after")
    assert tally.seen["after"] == 1
    assert threading.current_thread().name in tally.threads


def test_past_the_bound_the_caller_does_the_work_instead_of_dropping_it() -> None:
    tally = Tally(cost_s=0.002)
    worker = Worker(tally, linger_s=0.5, high_water=1000, max_pending=5)
    for number in range(20):
        worker.submit(number)
    assert worker.drain(timeout_s=5.0)
    assert set(tally.seen) == set(range(20)) and set(tally.seen.values()) == {1}
    assert threading.current_thread().name in tally.threads
    worker.close()
