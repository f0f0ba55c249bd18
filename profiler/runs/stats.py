"""Statistics and interval arithmetic: pure functions over plain numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Interval = tuple[float, float]
DIGITS = 3  # milliseconds to the microsecond
SECONDS_DIGITS = 6  # seconds and fractions to the microsecond


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation (numpy's default method)."""
    if not sorted_values:
        return math.nan
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Distribution:
    """count, mean, min, p50, p90, p99, max of some values (already in their unit)."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float
    min: float

    STATS = ("mean", "p50", "p90", "p99", "max", "min")

    @classmethod
    def of(cls, values: Iterable[float], scale: float = 1.0) -> Distribution | None:
        """The distribution of ``values × scale``; None when there are none (unknown, not 0)."""
        ordered = sorted(v * scale for v in values)
        if not ordered:
            return None
        # Rounded here, once, to what summary.json keeps: a run in memory and loaded back are equal.
        return cls(
            count=len(ordered),
            mean=round(sum(ordered) / len(ordered), DIGITS),
            p50=round(percentile(ordered, 50), DIGITS),
            p90=round(percentile(ordered, 90), DIGITS),
            p99=round(percentile(ordered, 99), DIGITS),
            max=round(ordered[-1], DIGITS),
            min=round(ordered[0], DIGITS),
        )

    def to_dict(self) -> dict[str, float]:
        return {"count": self.count, **{name: getattr(self, name) for name in self.STATS}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Distribution | None:
        if not data:
            return None
        return cls(count=int(data.get("count", 0)), **{name: float(data[name]) for name in cls.STATS})


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of intervals as sorted, disjoint intervals."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def total_length(intervals: Iterable[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def subtract_intervals(intervals: list[Interval], cut: list[Interval]) -> list[Interval]:
    """Parts of the (merged, sorted) ``intervals`` not covered by the (merged, sorted) ``cut``."""
    result: list[Interval] = []
    j = 0
    for start, end in intervals:
        cursor = start
        while j < len(cut) and cut[j][1] <= cursor:
            j += 1
        k = j
        while k < len(cut) and cut[k][0] < end:
            if cut[k][0] > cursor:
                result.append((cursor, cut[k][0]))
            cursor = max(cursor, cut[k][1])
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def clip_intervals(intervals: Iterable[Interval], start: float, end: float) -> list[Interval]:
    return [(max(a, start), min(b, end)) for a, b in intervals if b > start and a < end]


@dataclass(frozen=True, slots=True)
class WallSplit:
    """The run's wall time cut by what was going on (DESIGN: ``split_s``), in seconds.

    At each moment: some call waiting on the network → ``network``; else some
    call in back-off → ``backoff``; else ``local``, which is either inside a call
    (the SDK's own work, queueing, the caller between chunks: ``local_in_calls``)
    or between calls, when no call was in flight at all: the program's own code
    (``local_between_calls``).
    """

    network: float
    backoff: float
    local: float
    local_in_calls: float
    local_between_calls: float

    def to_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WallSplit:
        local = float(data["local"])
        return cls(
            network=float(data["network"]),
            backoff=float(data["backoff"]),
            local=local,
            local_in_calls=float(data.get("local_in_calls", local)),
            local_between_calls=float(data.get("local_between_calls", 0.0)),
        )


def split_wall_time(
    wall: Interval,
    network: Iterable[Interval],
    backoff: Iterable[Interval],
    calls: Iterable[Interval] = (),
) -> WallSplit:
    """Cut the run's wall time by priority: network, then back-off, then local in or between calls."""
    start, end = wall
    net = merge_intervals(clip_intervals(network, start, end))
    back = subtract_intervals(merge_intervals(clip_intervals(backoff, start, end)), net)
    busy = merge_intervals([*net, *back])
    in_calls = subtract_intervals(merge_intervals(clip_intervals(calls, start, end)), busy)
    network_s, backoff_s, in_calls_s = total_length(net), total_length(back), total_length(in_calls)
    local_s = max(0.0, (end - start) - network_s - backoff_s)
    in_calls_s = min(in_calls_s, local_s)
    return WallSplit(
        network=round(network_s, SECONDS_DIGITS),
        backoff=round(backoff_s, SECONDS_DIGITS),
        local=round(local_s, SECONDS_DIGITS),
        local_in_calls=round(in_calls_s, SECONDS_DIGITS),
        local_between_calls=round(local_s - in_calls_s, SECONDS_DIGITS),
    )
