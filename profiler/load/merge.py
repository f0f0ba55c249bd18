"""The master's half of a distributed run, pure: the workers' payloads merged into one :class:`Run`.

Each worker times its calls on its own clock (seconds since its collector's
origin) and says when that origin was in unix time; the master puts every call
on its own clock by the difference (across machines, that is as good as their
clocks' agreement: NTP keeps it to milliseconds). Calls are kept whole up to
``keep`` in all, on the master as on the workers; every later one feeds a
:class:`FigureAccumulator`, and the workers' own roll-ups merge into it, so the
figures cover every call either way (exact up to 20,000 values, then DDSketch
within 1%).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from profiler.runs import MEASURED_TRACE_ONLY, Passes, Run, RunConfig, TargetInfo
from profiler.runs.accumulate import FigureAccumulator, WallSplitter
from profiler.runs.records import call_from_record
from profiler.trace.model import RequestTrace

CALLS = "profiler:calls"  # worker -> master: {"worker", "started_at", "records": [call_record, …]}
DONE = "profiler:done"  # worker -> master: the worker's totals and roll-up (WorkerTotals.to_dict)
WANT = "profiler:want"  # worker -> master: {"n": tickets wanted}
GRANT = "profiler:grant"  # master -> worker: {"n": tickets granted; 0: none left}


@dataclass(frozen=True, slots=True)
class WorkerTotals:
    """What a worker sends last: how much it did, and its calls past the whole-kept ones."""

    worker: str
    started_at: float  # unix time of its clock's origin
    iterations: int  # tasks it ran to the end
    calls: int  # SDK calls it recorded
    cpu_s: float  # its process's CPU time over the test
    rolled_up: dict[str, Any] | None = None  # FigureAccumulator.to_dict() of the calls not sent whole

    def to_dict(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "started_at": self.started_at,
            "iterations": self.iterations,
            "calls": self.calls,
            "cpu_s": self.cpu_s,
            "rolled_up": self.rolled_up,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerTotals:
        return cls(
            str(data["worker"]),
            float(data["started_at"]),
            int(data["iterations"]),
            int(data["calls"]),
            float(data["cpu_s"]),
            data.get("rolled_up"),
        )


def shifted_record(record: Mapping[str, Any], shift_s: float, worker: str) -> dict[str, Any]:
    """A worker's ``requests.jsonl`` line on the master's clock, naming its worker."""
    moved = dict(record)
    for key in ("offset_ms", "scheduled_ms"):
        if moved.get(key) is not None:
            moved[key] = round(moved[key] + shift_s * 1000.0, 3)
    moved["worker"] = worker
    return moved


def shift_wall(wall: WallSplitter, shift_s: float) -> None:
    """Move a worker's wall-time intervals onto the master's clock, in place."""

    def moved(items: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(a + shift_s, b + shift_s) for a, b in items]

    wall.network, wall.backoff, wall.calls = moved(wall.network), moved(wall.backoff), moved(wall.calls)
    if wall.folded_to is not None:
        wall.folded_to += shift_s
    wall.latest_end += shift_s


@dataclass(slots=True)
class MergedCalls:
    """Every worker's calls, on the master's clock (``started_at``: its origin, unix time)."""

    started_at: float
    keep: int = 20_000
    calls: list[RequestTrace] = field(default_factory=list)
    rolled_up: FigureAccumulator = field(default_factory=FigureAccumulator)
    totals: dict[str, WorkerTotals] = field(default_factory=dict)

    def add_records(self, worker: str, origin: float, records: Iterable[Mapping[str, Any]]) -> None:
        """A batch of a worker's call records (``origin``: its clock's, in unix time)."""
        shift = origin - self.started_at
        for record in records:
            trace = call_from_record(shifted_record(record, shift, worker))
            if len(self.calls) < self.keep:
                self.calls.append(trace)
            else:
                self.rolled_up.add(trace)

    def add_totals(self, totals: WorkerTotals) -> None:
        self.totals[totals.worker] = totals
        if totals.rolled_up:
            accumulator = FigureAccumulator.from_dict(totals.rolled_up)
            shift_wall(accumulator.wall, totals.started_at - self.started_at)
            self.rolled_up.merge(accumulator)

    @property
    def iterations(self) -> int:
        return sum(t.iterations for t in self.totals.values())

    @property
    def cpu_s(self) -> float:
        return sum(t.cpu_s for t in self.totals.values())

    def ordered_calls(self) -> list[RequestTrace]:
        """The kept calls by start time, numbered 1, 2, … across the workers."""
        ordered = sorted(self.calls, key=lambda call: (call.start, call.worker or ""))
        for number, call in enumerate(ordered, 1):
            call.call_id = number
        return ordered

    def run(self, *, wall_s: float, config: RunConfig, target: TargetInfo, interrupted: bool = False) -> Run:
        """The merged run: ``wall_s`` is the master's, CPU the workers' together."""
        return Run.build(
            self.ordered_calls(),
            rolled_up=self.rolled_up,
            wall=(0.0, wall_s),
            cpu_s=self.cpu_s,
            started_at=self.started_at,
            config=config,
            target=target,
            passes=Passes(MEASURED_TRACE_ONLY, ()),
            interrupted=interrupted,
        )
