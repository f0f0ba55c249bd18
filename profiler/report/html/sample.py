"""Which calls the waterfall draws: all of them up to a limit, else a sample that keeps the story.

A browser stays responsive with a few thousand bars; 10,000 calls of up to three
attempts each would be ten times that. The sample keeps the calls a reader looks
for first (the slowest, the failed) and spreads the rest evenly over the run, so
the shape of the run (ramp-up, a burst of retries) still shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from profiler.trace.model import RequestTrace

WATERFALL_LIMIT = 500
SLOWEST = 200
FAILED = 100


@dataclass(frozen=True, slots=True)
class Sample:
    calls: list[RequestTrace]  # in start order
    total: int

    @property
    def sampled(self) -> bool:
        return len(self.calls) < self.total


def _evenly(items: Sequence[int], count: int) -> list[int]:
    """``count`` items spread evenly over ``items``, both ends included."""
    if count <= 0 or not items:
        return []
    if count >= len(items):
        return list(items)
    if count == 1:
        return [items[len(items) // 2]]
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def sample_calls(
    calls: Sequence[RequestTrace], limit: int = WATERFALL_LIMIT, slowest: int = SLOWEST, failed: int = FAILED
) -> Sample:
    """The calls to draw, in start order: everything, or the slowest + failed + an even spread."""
    drawable = sorted(calls, key=lambda c: (c.start, c.call_id))
    if len(drawable) <= limit:
        return Sample(drawable, len(drawable))
    by_latency = sorted(range(len(drawable)), key=lambda i: drawable[i].e2e, reverse=True)
    chosen = set(by_latency[:slowest])
    failures = [i for i in range(len(drawable)) if not drawable[i].ok and i not in chosen]
    chosen.update(_evenly(failures, failed))
    rest = [i for i in range(len(drawable)) if i not in chosen]
    chosen.update(_evenly(rest, limit - len(chosen)))
    return Sample([drawable[i] for i in sorted(chosen)], len(drawable))
