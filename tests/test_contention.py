"""Truth under load: the network told from the program's own contention, checked against the
simulator's ground truth at 1, 8 and 32 concurrent streams, threads and async, plain and TLS.

Streams of 12 tokens (server TTFT 100 ms, 10 ms between tokens, no jitter), n=1. Every call
is joined to the simulator's log by x-request-id. What is checked, per call:

- the first content byte's kernel arrival against the server's own stamp of writing it (one
  clock): within a millisecond whatever the load, or — when the process read it so late that
  the kernel merged it with later chunks — flagged ``ttft_bounded`` and never early;
- ``server`` of the TTFT breakdown (request sent → first content byte arrived) against the
  server's own TTFT: never early, and at the median within a bound that grows with the load
  (it includes the simulator's own queueing: it shares the 2 cores with the client);
- the parts of ``ttft_parts`` sum to the TTFT;
- when the process is made busy on purpose (CPU-bound threads beside the workload), the TTFT
  the caller saw grows, and no call claims that growth as server time without saying so:
  its split is exact and the rest is ``contention``, or it is flagged as a bound.

Bounds are from the spread measured on the 2-core CI machine (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path

import pytest

from profiler.accuracy import (
    Comparison,
    FirstContentDelivery,
    compare_call,
    first_content_delivery,
    measure_against_simulator,
)
from profiler.simulator import Scenario, load_scenario
from profiler.trace import netio
from profiler.trace.derive import trace_call
from profiler.workload import WorkloadConfig
from profiler.workload.arrivals import offsets

pytestmark = pytest.mark.skipif(
    not netio.arrival_timestamps_supported(),
    reason=f"no kernel receive timestamps: {netio.unsupported_reason()}",
)

# A client cannot see bytes before the server sent them; while the simulator stamped its writes after
# the send returned, a preemption in between made calls look early: measured up to 4.1 ms.
EARLY_MS = 5.0
# An exact stamp is never later than the end of the server's send by more than loopback delivery. The
# simulator logs both ends of that send: CI once saw an arrival 4.1 ms after the stamp taken before it.
EXACT_MS = 1.0
# Median of (server part − the server's TTFT) allowed per concurrency: measured p50 on the loaded
# 2-core machine +0.3 … +1.5 ms at c=1, +1 … +6 at c=8, +5 … +37 at c=32 (the simulator's queueing).
MEDIAN_MS = {1: 6.0, 8: 20.0, 32: 60.0}


@dataclass(frozen=True)
class Call:
    comparison: Comparison
    bounded: bool  # ttft_bounded: the first content's stamp is an upper bound
    delivery: FirstContentDelivery  # first content arrival against the server's write of it


def _scenario() -> Scenario:
    return dataclasses.replace(
        load_scenario("instant"),
        name="contention",
        ttft_ms=100.0,
        token_ms=10.0,
        jitter_ms=0.0,
        output_tokens=12,
    )


def _measure(tmp_path: Path, config: WorkloadConfig, *, tls: bool = False, busy: int = 0) -> list[Call]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    measured = measure_against_simulator(_scenario(), config, tmp_path / "truth.jsonl", tls=tls, busy=busy)
    assert measured.result.failures == 0
    assert len(measured.truth) == len(measured.recordings) == config.requests
    calls = []
    for recording in measured.recordings:
        trace = trace_call(recording)
        assert trace.arrival_times, "arrival timestamps were on for this call"
        assert trace.ttft_s is not None and trace.ttft_parts is not None
        assert sum(trace.ttft_parts.values()) == pytest.approx(trace.ttft_s, abs=1e-6)
        comparison = compare_call(trace, measured.truth)
        assert comparison.attempts_matched == comparison.attempts_measured == 1
        delivery = first_content_delivery(recording, measured.truth)
        assert delivery is not None and comparison.ttft_ms is not None
        calls.append(Call(comparison, trace.ttft_bounded, delivery))
    return calls


def _check_stamps(calls: list[Call]) -> None:
    for call in calls:
        if call.bounded:  # an upper bound: later than the truth, never earlier
            assert call.delivery.after_handover_ms >= -EARLY_MS, call
        else:
            assert call.delivery.after_handover_ms >= -EARLY_MS, call
            assert call.delivery.after_write_ms <= EXACT_MS, call


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("client", ["threads", "async"])
@pytest.mark.parametrize("concurrency", [1, 8, 32])
def test_server_share_of_ttft_matches_the_server(
    tmp_path: Path, concurrency: int, client: str, tls: bool
) -> None:
    rounds = 3 if concurrency == 1 else 2
    config = WorkloadConfig(
        requests=concurrency * rounds,
        concurrency=concurrency,
        stream=True,
        n=1,
        client=client,  # type: ignore[arg-type]
    )
    calls = _measure(tmp_path, config, tls=tls)
    _check_stamps(calls)
    server = [c.comparison.ttft_ms for c in calls if not c.bounded]
    assert min(server, default=0.0) >= -EARLY_MS, sorted(server)
    if concurrency == 1:  # nothing else runs: every stamp exact, but for a cold first call at most
        # (it builds the SDK's chunk models while its chunks queue: seen once in 8 runs)
        assert len(server) >= len(calls) - 1, [c.bounded for c in calls]
    if len(server) >= len(calls) // 4:
        assert statistics.median(server) <= MEDIAN_MS[concurrency], sorted(server)


def test_a_busy_process_is_reported_as_contention_not_server(tmp_path: Path) -> None:
    # 24 calls a run, not 12: on a slower 2-core machine, in 3 runs of 17 with 12 calls, the quiet
    # run's median contention reached 2–4 ms, within 3 ms of the busy run's.
    config = WorkloadConfig(requests=24, concurrency=4, stream=True, n=1)
    quiet = _measure(tmp_path / "quiet", config)
    busy = _measure(tmp_path / "busy", config, busy=3)
    _check_stamps(busy)

    def late(calls: list[Call]) -> float:
        # TTFT − the server's TTFT − the call's own local parts: the server share's error plus contention.
        return statistics.median(
            c.comparison.ttft_rest_ms for c in calls if c.comparison.ttft_rest_ms is not None
        )

    # Three spinning threads take the GIL from the workload: the caller sees its first token late …
    assert late(busy) >= late(quiet) + 5.0, (late(quiet), late(busy))

    # … and the tool says it was the process: contention (a lower bound where the split is bounded).
    def contention(calls: list[Call]) -> float:
        return statistics.median(c.comparison.ttft_contention_ms or 0.0 for c in calls)

    assert contention(busy) >= contention(quiet) + 3.0, (contention(quiet), contention(busy))
    # Every exact split's server part ends at the server's own write (checked by _check_stamps): the
    # server time it reports is the server's, its own queueing included, never the client's.


@pytest.mark.parametrize("client", ["threads", "async"])
@pytest.mark.parametrize("arrival", ["constant", "poisson"])
def test_open_loop_calls_reach_the_server_when_they_were_due(
    tmp_path: Path, arrival: str, client: str
) -> None:
    rate, requests = 25.0, 30
    config = WorkloadConfig(
        requests=requests,
        concurrency=8,
        stream=True,
        n=1,
        rate=rate,
        arrival=arrival,
        client=client,  # type: ignore[arg-type]
    )
    measured = measure_against_simulator(_scenario(), config, tmp_path / "truth.jsonl")
    traces = sorted((trace_call(r) for r in measured.recordings), key=lambda t: t.scheduled or 0.0)
    assert len(traces) == len(measured.truth) == requests
    due = [t.scheduled for t in traces]
    assert all(d is not None for d in due)
    expected = list(itertools.islice(offsets(rate, arrival), requests))
    gaps = [b - a for a, b in itertools.pairwise(due)]  # type: ignore[operator]
    assert gaps == pytest.approx([b - a for a, b in itertools.pairwise(expected)], abs=1e-6)
    # On one clock: when the server had each request, minus when it was due. Never before; at 25
    # calls/s with 8 slots the client keeps up, so only its own send path is in between.
    late_ms = []
    for trace in traces:
        record = measured.truth[trace.attempts[-1].x_request_id or ""]
        due_at = trace.started_at - (trace.start - trace.scheduled)  # type: ignore[operator]
        late_ms.append((record["received_at"] - due_at) * 1000)
    assert min(late_ms) >= -1.0, sorted(late_ms)
    assert statistics.median(late_ms) <= 10.0, sorted(late_ms)
