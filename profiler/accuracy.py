"""Measured phases against the simulator's ground truth, request by request.

The simulator logs what it really did for every request it received
(``ground_truth.jsonl``); the instrumentation measured the same request from
the client side. Joining the two by ``x-request-id`` tells how far each
measured figure is from the truth. Used by the tests and ``benchmarks/accuracy.py``.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import openai

from profiler.frozen_heap import frozen_heap
from profiler.simulator import Scenario, SimulatorProcess
from profiler.trace.derive import itl_by_gap, trace_call
from profiler.trace.instrument import collecting
from profiler.trace.model import RequestTrace
from profiler.trace.recording import CallRecording, Collector
from profiler.trace.wire import Resolution, WireCapture
from profiler.workload import WorkloadConfig, WorkloadResult, run_workload


def load_ground_truth(path: Path) -> dict[str, dict[str, Any]]:
    """The simulator's log, keyed by request id."""
    truth: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                truth[record["request_id"]] = record
    return truth


@dataclass(slots=True)
class Comparison:
    """Errors (measured − truth) of one call, in milliseconds."""

    call_id: int
    attempts_measured: int
    attempts_matched: int
    server_wait_ms: list[float] = field(default_factory=list)  # one per attempt that got headers
    processing_equal: bool = True
    ttft_ms: float | None = None  # the server share of the TTFT, less the server's own TTFT
    ttft_contention_ms: float | None = None  # the TTFT's contention part
    ttft_rest_ms: float | None = None  # TTFT − the server's − its local, queue, connect, send parts
    itl_ms: list[float] = field(default_factory=list)
    statuses_equal: bool = True


def _per_choice_gaps(send_times: list[float], n: int) -> list[float]:
    """Gaps between each choice's successive chunks, in sending order (choices go round-robin),
    which is the order the trace lists its ITL gaps in."""
    return [send_times[k] - send_times[k - n] for k in range(n, len(send_times))]


def server_share_of_ttft(trace: RequestTrace) -> float | None:
    """Seconds of the TTFT spent waiting for the server's bytes in the last attempt, or None."""
    if trace.ttft_s is None or not trace.attempts:
        return None
    first_content = trace.start + trace.ttft_s
    last = len(trace.attempts) - 1
    return sum(
        min(s.end, first_content) - s.start
        for s in trace.segments
        if s.attempt == last and s.phase in ("server_wait", "download") and s.start < first_content
    )


@dataclass(frozen=True, slots=True)
class FirstContentDelivery:
    """When the first content byte reached this machine against when the server wrote it."""

    after_handover_ms: float  # kernel arrival − the server's stamp just before its send
    write_ms: float  # how long that send took: the bytes left within [its start, its start + this]

    @property
    def after_write_ms(self) -> float:
        """Kernel arrival − the end of the server's send: loopback delivery, if the stamp is exact."""
        return self.after_handover_ms - self.write_ms


def first_content_delivery(
    recording: CallRecording, truth: dict[str, dict[str, Any]]
) -> FirstContentDelivery | None:
    """The first content byte's kernel arrival against the server's write of it, both in unix
    time; None without a stamp or a stream.

    The two clocks are one (CLOCK_REALTIME on one machine), so this is loopback delivery plus the
    server's own lag between its stamps and the write: it does not depend on how busy the client was.
    """
    first = next(
        (at for at, c in zip(recording.chunk_ready, recording.chunk_choice, strict=True) if c >= 0), None
    )
    if first is None or not recording.responses:
        return None
    record = truth.get(recording.responses[-1].x_request_id or "")
    if record is None or record.get("ttft_ms") is None:
        return None
    index = bisect_right(recording.read_returned, first) - 1
    if index < 0 or math.isnan(recording.read_arrived[index]):
        return None
    arrived = recording.started_at + (recording.read_arrived[index] - recording.entered)
    handed_over = record["received_at"] + ((record["request_read_ms"] or 0.0) + record["ttft_ms"]) / 1000
    return FirstContentDelivery((arrived - handed_over) * 1000, record.get("ttft_write_ms") or 0.0)


def compare_call(
    trace: RequestTrace, truth: dict[str, dict[str, Any]], itl_gaps: list[float | None] | None = None
) -> Comparison:
    """``itl_gaps``: the call's gaps in place (`itl_by_gap`), so that the known ones of a call with
    unknown gaps still line up with the truth's; without them such a call's ITL is not compared."""
    comparison = Comparison(trace.call_id, len(trace.attempts), 0)
    for attempt in trace.attempts:
        record = truth.get(attempt.x_request_id or "")
        if record is None:
            continue
        comparison.attempts_matched += 1
        comparison.statuses_equal &= record["status"] == attempt.status
        if attempt.processing_ms is not None:
            comparison.processing_equal &= float(record["processing_ms"]) == attempt.processing_ms
        if attempt.headers_end is not None and record.get("server_wait_ms") is not None:
            comparison.server_wait_ms.append(attempt.phase("server_wait") * 1000 - record["server_wait_ms"])
    last = trace.attempts[-1] if trace.attempts else None
    record = truth.get(last.x_request_id or "") if last else None
    server = server_share_of_ttft(trace)
    if trace.stream and server is not None and record and record.get("ttft_ms") is not None:
        comparison.ttft_ms = server * 1000 - record["ttft_ms"]
        parts = trace.ttft_parts or {}
        own = sum(value for name, value in parts.items() if name not in ("server", "contention"))
        assert trace.ttft_s is not None
        comparison.ttft_contention_ms = parts.get("contention", 0.0) * 1000
        comparison.ttft_rest_ms = (trace.ttft_s - own) * 1000 - record["ttft_ms"]
        sent_at = [0.0]
        for delay in record["token_delays_ms"]:
            sent_at.append(sent_at[-1] + delay)
        truth_gaps = _per_choice_gaps(sent_at, trace.n)
        if itl_gaps is not None:
            comparison.itl_ms = [
                m * 1000 - t for m, t in zip(itl_gaps, truth_gaps, strict=False) if m is not None
            ]
        elif not trace.itl_unknown:  # with gaps left out, the rest no longer line up with the truth's
            comparison.itl_ms = [m * 1000 - t for m, t in zip(trace.itl_s, truth_gaps, strict=False)]
    return comparison


def compare_run(recordings: list[CallRecording], truth: dict[str, dict[str, Any]]) -> list[Comparison]:
    return [compare_call(trace_call(rec), truth, itl_by_gap(rec)) for rec in recordings]


class SdkSleepLog(logging.Handler):
    """What the SDK itself says it slept: its "Retrying request in X seconds" log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Retrying request in") and record.args:
            self.seconds.append(float(record.args[0]))  # type: ignore[index]

    @classmethod
    @contextmanager
    def attached(cls) -> Iterator[SdkSleepLog]:
        handler = cls()
        sdk_logger = logging.getLogger("openai")
        previous_level = sdk_logger.level
        sdk_logger.addHandler(handler)
        sdk_logger.setLevel(logging.INFO)
        try:
            yield handler
        finally:
            sdk_logger.removeHandler(handler)
            sdk_logger.setLevel(previous_level)


@dataclass(slots=True)
class Measurement:
    recordings: list[CallRecording]
    truth: dict[str, dict[str, Any]]
    sdk_sleeps_s: list[float]
    result: WorkloadResult
    # With ``wire=True``: the capture (its arrivals already applied to the recordings), or why none.
    wire: WireCapture | None = None
    wire_reads: Resolution | None = None


@contextmanager
def busy_threads(count: int) -> Iterator[None]:
    """``count`` threads spinning Python code beside the block: the client's own CPU, loaded on purpose."""
    stop = threading.Event()

    def spin() -> None:
        value = 0
        while not stop.is_set():
            for i in range(1000):
                value = (value * 31 + i) % 1_000_003

    threads = [threading.Thread(target=spin, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def measure_against_simulator(
    scenario: Scenario,
    config: WorkloadConfig,
    truth_path: Path,
    max_retries: int = 6,
    *,
    tls: bool = False,
    arrival_times: bool = True,
    busy: int = 0,
    wire: bool = False,
) -> Measurement:
    """Run the workload, traced, against a fresh simulator; return both sides' records.

    ``tls``: over HTTPS (the simulator's test CA); ``busy``: that many CPU-bound threads run beside it;
    ``wire``: arrival times from a packet capture too (``profiler.trace.wire``; root only).
    """
    truth_path.unlink(missing_ok=True)
    capture: WireCapture | None = None
    with (
        SdkSleepLog.attached() as sleeps,
        SimulatorProcess(scenario, ground_truth_path=truth_path, tls=tls) as simulator,
    ):
        if wire:
            assert simulator.port is not None
            capture = WireCapture(simulator.port)
            capture.start()
        verify = simulator.ssl_context() if tls else True
        options = {"base_url": simulator.base_url, "api_key": "sk-simulator", "max_retries": max_retries}
        client: openai.OpenAI | openai.AsyncOpenAI
        if config.client == "async":
            client = openai.AsyncOpenAI(**options, http_client=httpx2.AsyncClient(verify=verify, timeout=60))
        else:
            client = openai.OpenAI(**options, http_client=httpx2.Client(verify=verify, timeout=60))
        try:
            with (
                frozen_heap(),
                collecting(Collector(arrival_times=arrival_times)) as collector,
                busy_threads(busy),
            ):
                result = run_workload(client, config)
        finally:
            if capture is not None:
                capture.stop()
        if isinstance(client, openai.OpenAI):
            client.close()
    reads = None
    if capture is not None and capture.arrivals is not None:
        reads = Resolution()
        for recording in collector.recordings:
            reads.add(capture.arrivals.resolve(recording))
    truth = load_ground_truth(truth_path)
    return Measurement(collector.recordings, truth, sleeps.seconds, result, capture, reads)
