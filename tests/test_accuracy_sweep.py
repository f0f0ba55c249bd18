"""The proof: measured phases against the simulator's ground truth, over a sweep.

Server delay 0/50/200/1000 ms, streamed and not, concurrency 1 and 16, local
work 0/20/100 ms, with and without rate-limit faults. Each request is joined
to the simulator's log by x-request-id. Allowances are the loopback ones
measured on the 2-core CI machine (docs/performance.md): the client and the
simulator share those cores, so at concurrency 16 a thread can see an event
late when it waits for the GIL; it can never see it early. At concurrency 16 the
simulator's log is corrected by its own read lag where a packet capture is
allowed (``profiler.simulator.wire_truth``, as test_wire_capture does).
"""

from __future__ import annotations

import dataclasses
import statistics
from itertools import pairwise
from pathlib import Path

import pytest

from profiler.accuracy import Measurement, compare_run, measure_against_simulator
from profiler.simulator import Scenario, load_scenario
from profiler.simulator.wire_truth import capture_wire_truth
from profiler.trace.derive import trace_call
from profiler.trace.phases import Group
from profiler.workload import WorkloadConfig

# Loopback allowances in ms (measured − truth), from benchmarks/accuracy.py on this 2-core machine
# (docs/performance.md): serial errors stayed within −1.1 … +5.9 ms; with 16 concurrent calls the
# client's threads wait for the GIL and see events up to ~130 ms off, median within ±11 ms.
EARLY_MS = 3.0  # measured down to −2.1 ms while the simulator stamped its writes after the send
LATE_MS_SERIAL = 8.0
ITL_MS_SERIAL = 10.0
MEDIAN_MS_CONCURRENT = 25.0
MAX_MS_CONCURRENT = 250.0
# Against the log corrected by the simulator's read lag (a packet capture: CI runs as root), over 15
# runs of 16 concurrent streams the 119 first contents stamped exactly were −1.7 … +1.2 ms off (median
# −0.16 ms; +2.4 ms once in 15 runs more); the server waits' medians +0.3 … +11 ms (the uncorrected log:
# up to 26.9 ms). A call can look early by as much as test_wire_capture measured when the simulator is
# preempted between its send and its stamp of it (−4.8 ms; −5.0 ms seen here once).
EARLY_MS_WIRE = 8.0
LATE_MS_EXACT = 3.0
MEDIAN_MS_EXACT = 1.0


def _scenario(delay_ms: float, stream: bool, rate_limit: float = 0.0) -> Scenario:
    return dataclasses.replace(
        load_scenario("instant"),
        name=f"sweep-{delay_ms}",
        ttft_ms=delay_ms,
        token_ms=10.0 if stream else 0.0,
        jitter_ms=0.0,
        output_tokens=6,
        faults={"rate_limit": rate_limit} if rate_limit else {},
        retry_after_s=0.05,
    )


def _measure(tmp_path: Path, scenario: Scenario, config: WorkloadConfig) -> Measurement:
    measurement = measure_against_simulator(scenario, config, tmp_path / "ground_truth.jsonl")
    assert measurement.result.failures == 0
    return measurement


def _all_but_one_within(values: list[float], bound: float, worst_bound: float) -> bool:
    """Every value within ``bound`` but the worst, which may reach ``worst_bound``: on 2 shared cores
    one process preempted for a few ms at the wrong moment is the machine, not the measurement."""
    ordered = sorted(values)
    return ordered[-1] <= worst_bound and (len(ordered) < 2 or ordered[-2] <= bound)


def _check_errors(errors: list[float], concurrency: int, late_ms: float = LATE_MS_SERIAL) -> None:
    assert errors
    # Never early, whatever the load: a client cannot see an answer before the server sent it, so a
    # measured 0 ms for a 100 ms server fails here however loose the upper bounds are.
    assert min(errors) >= -EARLY_MS, errors
    if concurrency == 1:
        # The log stamps the request when the simulator's loop has read it: preempted then, it logs
        # a shorter wait than the client saw (once +12.8 ms in CI); one such call of the run is allowed.
        assert _all_but_one_within(errors, late_ms, MEDIAN_MS_CONCURRENT), errors
    else:
        assert statistics.median(errors) <= MEDIAN_MS_CONCURRENT, errors
        assert max(errors) <= MAX_MS_CONCURRENT, errors


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("delay_ms", [0, 50, 200, 1000])
def test_phases_match_ground_truth_serial(tmp_path: Path, delay_ms: int, stream: bool) -> None:
    measured = _measure(tmp_path, _scenario(delay_ms, stream), WorkloadConfig(requests=4, stream=stream))
    recordings, truth = measured.recordings, measured.truth
    comparisons = compare_run(recordings, truth)
    assert len(truth) == len(recordings) == 4
    for comparison in comparisons:
        assert comparison.attempts_matched == comparison.attempts_measured == 1
        assert comparison.statuses_equal and comparison.processing_equal
    _check_errors([e for c in comparisons for e in c.server_wait_ms], 1)
    traces = [trace_call(recording) for recording in recordings]
    for trace in traces:
        assert trace.phases["server_wait"] * 1000 >= delay_ms - EARLY_MS
        # The server's own figure (whole ms) is a part of the wait the client saw.
        assert trace.phases["server_wait"] * 1000 >= trace.phases["server_processing"] * 1000 - 1.0
    if stream:
        ttft_errors = [c.ttft_ms for c in comparisons if c.ttft_ms is not None]
        assert len(ttft_errors) == 4
        _check_errors(ttft_errors, 1)
        itl_errors = [e for c in comparisons for e in c.itl_ms]
        # 4 calls, 3 choices, 6 tokens -> 5 gaps each. Every gap is measured or counted unknown, never
        # guessed: a chunk whose skb absorbed a later write (the reader was behind while they arrived)
        # has only an upper bound. The three choices' chunks of a round leave the server 0.02–0.08 ms
        # apart, so a reader that takes longer than that over a chunk (the cold first call everywhere;
        # on a slower 2-core machine, every round) loses one or two gaps a round. The known ones are
        # compared in place, so most gaps of every call must still be measured and match the truth.
        accounted = [(len(t.itl_s), t.itl_unknown) for t in traces]
        assert all(known + unknown == 15 for known, unknown in accounted), accounted
        assert len(itl_errors) == sum(known for known, _ in accounted) >= 30, accounted
        assert abs(statistics.median(itl_errors)) <= 1.0
        # ITL is what the caller saw: the process's first call pays one-off SDK costs (building
        # the chunk models) while later chunks queue, so only warm calls are held to the bound.
        warm = [e for c in comparisons if c.call_id > 1 for e in c.itl_ms]
        assert all(abs(e) <= ITL_MS_SERIAL for e in warm), warm
        # Between the first and the last token the server was sending: waiting for those chunks is
        # download (network), not the process's own contention, when nothing else runs.
        for trace in traces:
            record = truth[trace.attempts[-1].x_request_id or ""]
            sending_ms = sum(record["token_delays_ms"])
            if trace.call_id == 1:
                continue  # the cold call builds the SDK's chunk models while chunks queue
            # Measured on the loaded 2-core machine: download 0.76–1.0 of the sending time, contention
            # 1–11 ms (reading, SSE decoding). Calling the waits contention would give download ≈ 0.
            assert trace.phases["download"] * 1000 >= 0.6 * sending_ms - EARLY_MS, (trace.phases, sending_ms)
            assert trace.phases["contention"] * 1000 <= 0.3 * sending_ms + LATE_MS_SERIAL, trace.phases


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_phases_match_ground_truth_concurrent(tmp_path: Path, stream: bool) -> None:
    config = WorkloadConfig(requests=16, concurrency=16, stream=stream)
    with capture_wire_truth() as wire:  # the referee's correction, where a capture is allowed (root)
        measured = _measure(tmp_path, _scenario(200, stream), config)
    recordings, truth = measured.recordings, measured.truth
    comparisons = compare_run(recordings, truth)
    assert len(truth) == len(recordings) == 16
    assert all(c.attempts_matched == c.attempts_measured for c in comparisons)
    server_wait_errors = [e for c in comparisons for e in c.server_wait_ms]
    ttft_errors = [c.ttft_ms for c in comparisons if c.ttft_ms is not None]
    assert len(server_wait_errors) == 16 and len(ttft_errors) == (16 if stream else 0)
    if wire.problem is not None:  # the simulator's own log only: its read lag counts against us
        _check_errors(server_wait_errors, 16)
        if stream:
            _check_errors(ttft_errors, 16)
        return
    # Each call's truth corrected by how late the simulator read its request (the wait a client
    # rightly counts as the server's, which the simulator's log cannot see).
    traces = {t.call_id: t for t in (trace_call(r) for r in recordings)}
    lags = [wire.read_lag_ms(truth[traces[c.call_id].x_request_id or ""]) for c in comparisons]
    assert None not in lags
    corrected = [error - (lag or 0.0) for error, lag in zip(server_wait_errors, lags, strict=True)]
    assert min(corrected) >= -EARLY_MS_WIRE, sorted(corrected)[:3]
    assert statistics.median(corrected) <= MEDIAN_MS_CONCURRENT, corrected
    assert max(corrected) <= MAX_MS_CONCURRENT, corrected
    if not stream:
        return
    # A first content whose arrival the kernel stamped exactly is the server's to within a few ms; one
    # whose read merged later bytes is flagged as a bound (docs/metrics.md), and is never early.
    exact, bounds = [], []
    for comparison, lag in zip(comparisons, lags, strict=True):
        assert comparison.ttft_ms is not None
        error = comparison.ttft_ms - (lag or 0.0)
        (bounds if traces[comparison.call_id].ttft_bounded else exact).append(error)
    assert exact, bounds  # 3 to 11 of 16 were exact over 15 runs
    assert min(exact) >= -EARLY_MS_WIRE and max(exact) <= LATE_MS_EXACT, sorted(exact)
    assert abs(statistics.median(exact)) <= MEDIAN_MS_EXACT, sorted(exact)
    assert not bounds or (min(bounds) >= -EARLY_MS_WIRE and max(bounds) <= MAX_MS_CONCURRENT), bounds


@pytest.mark.parametrize("local_work_ms", [0, 20, 100])
def test_local_work_is_recovered(tmp_path: Path, local_work_ms: int) -> None:
    config = WorkloadConfig(requests=4, local_work_ms=local_work_ms)
    traces = sorted(
        (trace_call(r) for r in _measure(tmp_path, _scenario(50, False), config).recordings),
        key=lambda t: t.start,
    )
    # With one worker, the time between one call's end and the next call's start is the
    # workload's post-processing: the titles, plus exactly local_work_ms of CPU.
    gaps = [(later.start - earlier.end) * 1000 for earlier, later in pairwise(traces)]
    # burn_cpu spends CPU time; on a machine whose 2 cores the simulator shares, the wall gap may be
    # stretched by the scheduler, never shortened.
    assert all(local_work_ms <= gap for gap in gaps), gaps
    assert _all_but_one_within(gaps, local_work_ms * 1.1 + 10.0, local_work_ms * 2 + 60.0), gaps
    # Inside the SDK call nothing changes with the workload's local work.
    assert all(t.phases["local_post"] * 1000 < 10 for t in traces)


@pytest.mark.parametrize("concurrency", [1, 16])
def test_retries_and_backoff_match_the_server_and_the_sdk(tmp_path: Path, concurrency: int) -> None:
    config = WorkloadConfig(requests=16, concurrency=concurrency)
    measured = _measure(tmp_path, _scenario(50, False, rate_limit=0.3), config)
    recordings, truth = measured.recordings, measured.truth
    traces = [trace_call(r) for r in recordings]
    comparisons = compare_run(recordings, truth)
    # Every attempt the client made is one the server logged, and nothing else was logged.
    assert sum(len(t.attempts) for t in traces) == len(truth)
    assert all(c.attempts_matched == c.attempts_measured and c.statuses_equal for c in comparisons)
    rate_limited = sum(1 for record in truth.values() if record["fault"] == "rate_limit")
    assert rate_limited > 0
    assert sum(t.attempt_errors.count("rate_limit") for t in traces) == rate_limited
    assert all(t.ok for t in traces)
    # Back-off: one interval per retry, each the SDK's sleep (retry-after 50 ms) plus request rebuilding.
    assert len(measured.sdk_sleeps_s) == rate_limited
    backoffs = sorted(b - a for t in traces for a, b in t.intervals(Group.BACKOFF))
    assert len(backoffs) == rate_limited
    slept = sorted(measured.sdk_sleeps_s)
    # Besides the sleep: the SDK handling the failed response (closing it, raising and catching its
    # status error) and rebuilding the request — up to 6.6 ms on a process's first retry.
    extra = [got - expected for got, expected in zip(backoffs, slept, strict=True)]
    assert min(extra) >= -0.001, extra
    allowed = 0.010 if concurrency == 1 else 0.060
    assert _all_but_one_within(extra, allowed, 3 * allowed), extra


def test_waiting_for_a_pooled_connection_is_queue_not_network(tmp_path: Path) -> None:
    import httpx2
    import openai

    from profiler.simulator import SimulatorProcess
    from profiler.trace.instrument import collecting
    from profiler.workload import run_workload

    scenario = _scenario(100, False)
    with SimulatorProcess(scenario, ground_truth_path=tmp_path / "truth.jsonl") as simulator:
        http = httpx2.Client(limits=httpx2.Limits(max_connections=2), timeout=30)
        client = openai.OpenAI(
            base_url=simulator.base_url, api_key="sk-test", http_client=http, max_retries=0
        )
        with collecting() as collector:
            run_workload(client, WorkloadConfig(requests=8, concurrency=8))
    traces = [trace_call(r) for r in collector.recordings]
    assert all(t.ok for t in traces)
    # Two connections for eight calls: six calls wait for a free one, in the client.
    queued = sorted(t.phases["queue"] * 1000 for t in traces)
    assert sum(1 for q in queued if q > 50) >= 5, queued
    for trace in traces:
        server_wait_ms, queue_ms = trace.phases["server_wait"] * 1000, trace.phases["queue"] * 1000
        # Never less than the server's 100 ms; eight threads on two cores may note the answer late.
        assert 100 - EARLY_MS <= server_wait_ms <= 100 + MAX_MS_CONCURRENT
        if queue_ms > 80:  # had the wait been counted as network, server_wait would be ≈ 100 + queue
            assert server_wait_ms < 100 + queue_ms - 40
