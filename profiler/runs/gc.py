"""A run's garbage-collection figures: its collections, and the part of them that made its calls late.

The figures of ``summary.json``'s ``gc`` (``docs/metrics.md``), worked out once from the run's
`GcLog` and its calls' traces.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from profiler.trace.gc_pauses import GcLog
from profiler.trace.model import RequestTrace
from profiler.trace.phases import LOCAL_PHASES

__all__ = ["GcFigures", "gc_figures"]

_DIGITS = 3


@dataclass(frozen=True, slots=True)
class GcFigures:
    """The run's collections, and the calls' local time that fell inside one (``docs/metrics.md``)."""

    collections: dict[str, int]  # by generation: "0", "1", "2"
    pause_ms: float
    longest_ms: float | None
    calls_ms: float | None  # collections while a call was in flight, summed over the calls kept whole
    calls_local_ms: float | None  # ... inside their local phases; None if the pauses were not all kept
    calls_contention_ms: float | None
    calls_paused: int | None  # calls in flight during a collection
    of_calls: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "collections": dict(self.collections),
            "pause_ms": self.pause_ms,
            "longest_ms": self.longest_ms,
            "calls_ms": self.calls_ms,
            "calls_local_ms": self.calls_local_ms,
            "calls_contention_ms": self.calls_contention_ms,
            "calls_paused": self.calls_paused,
            "of_calls": self.of_calls,
        }

    @classmethod
    def from_dict(cls, data: Any) -> GcFigures | None:
        if not isinstance(data, dict):
            return None
        return cls(
            collections={str(k): int(v) for k, v in (data.get("collections") or {}).items()},
            pause_ms=float(data.get("pause_ms") or 0.0),
            longest_ms=data.get("longest_ms"),
            calls_ms=data.get("calls_ms"),
            calls_local_ms=data.get("calls_local_ms"),
            calls_contention_ms=data.get("calls_contention_ms"),
            calls_paused=data.get("calls_paused"),
            of_calls=int(data.get("of_calls") or 0),
        )


def gc_figures(log: GcLog, calls: Sequence[RequestTrace], origin: float) -> GcFigures:
    """The log's figures; ``calls``' segments are in seconds since ``origin`` (a perf_counter time)."""
    complete = sum(log.collections) == len(log.pauses)
    in_flight = local = contention = 0.0
    paused = 0
    if complete:  # past the cap the pauses' times are not all known: no per-call figure is made
        pauses = [(p.start - origin, p.end - origin) for p in log.pauses]
        starts = [start for start, _ in pauses]
        for call in calls:
            # The pause before the call's start may reach into it; none after its end can.
            first, last = max(bisect_left(starts, call.start) - 1, 0), bisect_left(starts, call.end)
            inside = [(s, e) for s, e in pauses[first:last] if e > call.start]
            if not inside:
                continue
            in_flight += sum(min(e, call.end) - max(s, call.start) for s, e in inside)
            call_local = call_contention = 0.0
            for segment in call.segments:
                if segment.phase not in LOCAL_PHASES:
                    continue
                overlap = sum(max(0.0, min(e, segment.end) - max(s, segment.start)) for s, e in inside)
                call_local += overlap
                if segment.phase == "contention":
                    call_contention += overlap
            local += call_local
            contention += call_contention
            paused += 1
    return GcFigures(
        collections={str(generation): count for generation, count in enumerate(log.collections)},
        pause_ms=round(log.pause_s * 1000, _DIGITS),
        longest_ms=round(log.longest_s * 1000, _DIGITS) if sum(log.collections) else None,
        calls_ms=round(in_flight * 1000, _DIGITS) if complete else None,
        calls_local_ms=round(local * 1000, _DIGITS) if complete else None,
        calls_contention_ms=round(contention * 1000, _DIGITS) if complete else None,
        calls_paused=paused if complete else None,
        of_calls=len(calls),
    )
