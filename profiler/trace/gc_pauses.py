"""Garbage collections while the measured code runs: when each ran, and how long it took.

A collection stops every Python thread of the process (it holds the GIL), so a call whose bytes
arrive meanwhile reads them late: ``contention``, the process's own, never network or server.
`GcLog` notes each collection through ``gc.callbacks``, two Python calls per collection (0.8 µs
the pair): cheap next to the collection itself. `profiler.runs.gc.gc_figures` says how much of
it fell while calls were in flight, and how much in their local time."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_PAUSES", "GcLog", "GcPause"]

# Pauses kept with their times; past this many only their counts and durations are summed.
MAX_PAUSES = 200_000


@dataclass(frozen=True, slots=True)
class GcPause:
    start: float  # perf_counter seconds
    end: float
    generation: int


class GcLog:
    """Every collection while attached (any thread): its times, generation and duration."""

    def __init__(self, max_pauses: int = MAX_PAUSES) -> None:
        self.pauses: list[GcPause] = []
        self.collections = [0, 0, 0]
        self.pause_s = 0.0
        self.longest_s = 0.0
        self.max_pauses = max_pauses
        self._started: float | None = None

    def within(self, start: float, end: float) -> GcLog:
        """The collections that overlap ``start``..``end`` (perf_counter): the measured window, without
        what ran before it (the instrumentation's set-up) or after it. When past ``max_pauses`` the
        times are not all known, every collection is kept."""
        if sum(self.collections) != len(self.pauses):
            return self
        window = GcLog(self.max_pauses)
        for pause in self.pauses:
            if pause.end > start and pause.start < end:
                window._note(pause.start, pause.end, pause.generation)
        return window

    @contextmanager
    def attached(self) -> Iterator[GcLog]:
        gc.callbacks.append(self._callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        # Collections never overlap: the one that runs holds the GIL, whichever thread it is in.
        now = time.perf_counter()
        if phase == "start":
            self._started = now
            return
        started, self._started = self._started, None
        if started is None:  # attached mid-collection
            return
        self._note(started, now, int(info.get("generation", 0)))

    def _note(self, start: float, end: float, generation: int) -> None:
        self.collections[min(generation, 2)] += 1
        took = end - start
        self.pause_s += took
        self.longest_s = max(self.longest_s, took)
        if len(self.pauses) < self.max_pauses:
            self.pauses.append(GcPause(start, end, generation))
