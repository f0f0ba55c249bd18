"""Garbage collections noted while measuring, and the calls' local time that fell inside them."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest

from profiler.runs.gc import GcFigures, gc_figures
from profiler.trace.gc_pauses import GcLog, GcPause
from profiler.trace.model import RequestTrace, Segment
from tests.synthetic import call

ORIGIN = 1000.0  # perf_counter seconds at the run's origin; the calls' times are relative to it


def _log(*pauses_ms: tuple[float, float], generation: int = 0) -> GcLog:
    """A log of pauses given in ms since the origin."""
    log = GcLog()
    for start_ms, end_ms in pauses_ms:
        log.pauses.append(GcPause(ORIGIN + start_ms / 1000, ORIGIN + end_ms / 1000, generation))
        log.collections[generation] += 1
        log.pause_s += (end_ms - start_ms) / 1000
        log.longest_s = max(log.longest_s, (end_ms - start_ms) / 1000)
    return log


def _streamed(offset_ms: float) -> RequestTrace:
    """A call: 2 ms building, 50 ms server, 20 ms of chunks, 10 ms of them read late, 3 ms parsing."""
    cuts = [("local_pre", 2), ("server_wait", 50), ("download", 10), ("contention", 10), ("local_post", 3)]
    segments, cursor = [], offset_ms / 1000
    for phase, length_ms in cuts:
        segments.append(Segment(phase, cursor, cursor + length_ms / 1000, 0))
        cursor += length_ms / 1000
    return replace(call(1, offset_ms, 75.0), segments=segments, start=offset_ms / 1000, end=cursor)


def test_only_local_time_inside_a_collection_counts_and_contention_is_told_apart() -> None:
    calls = [_streamed(100.0)]  # local_pre 100–102, server 102–152, download 152–162, contention 162–172
    figures = gc_figures(_log((101.0, 103.0), (120.0, 130.0), (160.0, 165.0)), calls, ORIGIN)
    # In flight for all 17 ms; 1 ms of local_pre, none of the server's wait, 3 ms of contention (162–165).
    assert figures.calls_ms == 17.0
    assert figures.calls_local_ms == 4.0
    assert figures.calls_contention_ms == 3.0
    assert figures.calls_paused == 1 and figures.of_calls == 1
    assert figures.pause_ms == 17.0 and figures.longest_ms == 10.0
    assert figures.collections == {"0": 3, "1": 0, "2": 0}


def test_a_collection_that_began_before_a_call_counts_where_it_reaches_into_it() -> None:
    calls = [_streamed(100.0), _streamed(300.0)]
    figures = gc_figures(_log((99.0, 101.5), (200.0, 210.0)), calls, ORIGIN)
    assert figures.calls_ms == figures.calls_local_ms == 1.5  # 100–101.5 of the first call's local_pre
    assert figures.calls_paused == 1


def test_no_collection_is_nothing_known_not_zero() -> None:
    figures = gc_figures(GcLog(), [_streamed(0.0)], ORIGIN)
    assert figures.longest_ms is None
    assert figures.calls_ms == figures.calls_local_ms == 0.0 and figures.calls_paused == 0


def test_the_measured_window_keeps_the_collections_that_overlap_it_only() -> None:
    log = _log((0, 1), (9, 11), (50, 52), (99, 101), (150, 151))
    window = log.within(ORIGIN + 0.010, ORIGIN + 0.100)  # 10 ms .. 100 ms
    kept_ms = [round((p.start - ORIGIN) * 1000) for p in window.pauses]
    assert kept_ms == [9, 50, 99]  # ending inside, inside, beginning inside
    assert window.collections == [3, 0, 0]
    assert window.pause_s == pytest.approx(0.006) and window.longest_s == pytest.approx(0.002)
    assert log.collections == [5, 0, 0]  # the whole log is left as it was
    past_the_cap = GcLog(max_pauses=1)
    past_the_cap.collections[0], past_the_cap.pause_s = 2, 0.004
    assert past_the_cap.within(ORIGIN, ORIGIN + 1) is past_the_cap  # times unknown: all of it kept


def test_pauses_past_the_limit_are_counted_and_leave_the_calls_unknown() -> None:
    log = GcLog(max_pauses=1)
    with log.attached():
        gc.collect()
        gc.collect()
    assert log.collections[2] == 2 and len(log.pauses) == 1
    figures = gc_figures(log, [], ORIGIN)
    assert figures.calls_ms is None and figures.calls_local_ms is None and figures.calls_contention_ms is None
    assert figures.collections["2"] == 2 and figures.pause_ms > 0


def test_the_log_notes_real_collections_while_attached_only() -> None:
    log = GcLog()
    with log.attached():
        gc.collect(1)
    gc.collect()
    assert log.collections[1:] == [1, 0]  # a young collection may have run too, never an old one
    (pause,) = [p for p in log.pauses if p.generation == 1]
    assert pause.start < pause.end
    assert log.longest_s >= pause.end - pause.start


def test_figures_round_trip_through_summary_json() -> None:
    figures = gc_figures(_log((101.0, 103.0)), [_streamed(100.0)], ORIGIN)
    assert GcFigures.from_dict(figures.to_dict()) == figures
    assert GcFigures.from_dict(None) is None
