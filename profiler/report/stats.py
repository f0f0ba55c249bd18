"""Statistics and interval arithmetic: pure functions over plain numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Interval = tuple[float, float]


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


def distribution(values: Iterable[float], scale: float = 1.0) -> dict[str, float] | None:
    """mean/p50/p90/p99/max/min of the values times ``scale``; None when there are none."""
    ordered = sorted(v * scale for v in values)
    if not ordered:
        return None
    return {
        "count": len(ordered),
        "mean": sum(ordered) / len(ordered),
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "max": ordered[-1],
        "min": ordered[0],
    }


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


def split_wall_time(
    wall: Interval, network: Iterable[Interval], backoff: Iterable[Interval]
) -> dict[str, float]:
    """Cut the run's wall time three ways (DESIGN: ``split_s``).

    network: the union of every call's network intervals; backoff: the union
    of back-off intervals outside those; local: the rest, when no call waited.
    """
    start, end = wall
    net = merge_intervals(clip_intervals(network, start, end))
    back = subtract_intervals(merge_intervals(clip_intervals(backoff, start, end)), net)
    network_s, backoff_s = total_length(net), total_length(back)
    return {
        "network": network_s,
        "backoff": backoff_s,
        "local": max(0.0, (end - start) - network_s - backoff_s),
    }
