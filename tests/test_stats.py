"""Statistics and interval arithmetic."""

from __future__ import annotations

import math

import pytest

from profiler.runs.stats import Distribution, merge_intervals, percentile, split_wall_time, subtract_intervals


def test_percentile_interpolates_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 90) == pytest.approx(3.7)
    assert math.isnan(percentile([], 50))


def test_distribution_scales_and_handles_empty() -> None:
    stats = Distribution.of([0.001, 0.003], scale=1000)
    assert stats is not None
    assert stats.mean == pytest.approx(2.0) and stats.max == pytest.approx(3.0) and stats.count == 2
    assert Distribution.of([]) is None  # unknown, not 0
    assert Distribution.from_dict(stats.to_dict()) == stats


def test_merge_and_subtract_intervals() -> None:
    assert merge_intervals([(5, 6), (1, 3), (2, 4), (7, 7)]) == [(1, 4), (5, 6)]
    assert subtract_intervals([(0, 10)], [(2, 3), (5, 12)]) == [(0, 2), (3, 5)]
    assert subtract_intervals([(0, 2), (4, 6)], [(1, 5)]) == [(0, 1), (5, 6)]


def test_split_uses_union_of_concurrent_calls() -> None:
    # Two calls wait on the network at once (0-4 and 1-5), one backs off 5-7 and 6-8 overlaps a
    # network interval 7-8: back-off counts only outside network time.
    split = split_wall_time((0, 10), [(0, 4), (1, 5), (7, 8)], [(5, 7), (6, 8)], [(0, 8.5)])
    assert (split.network, split.backoff, split.local) == (6, 2, 2)
    # 8 → 8.5 a call was in flight but neither on the network nor backing off; 8.5 → 10 none was.
    assert (split.local_in_calls, split.local_between_calls) == (0.5, 1.5)


def test_split_clips_to_the_wall_interval() -> None:
    split = split_wall_time((1, 3), [(0, 2)], [], [(0, 2)])
    assert (split.network, split.backoff, split.local, split.local_between_calls) == (1, 0, 1, 1)
