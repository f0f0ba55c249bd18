"""The monitor's step source (profiler.trace.netsteps): the steps a pass-through network backend notes,
from scripted streams, then against the simulator's ground truth as the trace extension's are."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpcore2
import httpx2
import openai
import pytest

from profiler.accuracy import Measurement, compare_run, measure_against_simulator
from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.derive import trace_call
from profiler.trace.events import Outcome, Step, decode, encode
from profiler.trace.instrument import collecting
from profiler.trace.kinds import kind_of_fault
from profiler.trace.netsteps import AsyncStepBackend, StepBackend, install_step_backend
from profiler.trace.recording import CURRENT_CALL, CallRecording, Collector
from profiler.workload import WorkloadConfig
from tests.test_accuracy_sweep import EARLY_MS, _check_errors, _scenario

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n"
_TRACE_ONLY = encode(Step.RESPONSE_CLOSED, Outcome.STARTED)  # an event only the trace extension reports


class _ScriptedStream(httpcore2.NetworkStream):
    """Hands out the scripted reads in turn (an exception in the script is raised)."""

    def __init__(self, reads: list[bytes | Exception]) -> None:
        self.reads = list(reads)
        self.written: list[bytes] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        item = self.reads.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written.append(buffer)

    def close(self) -> None:
        pass

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        return self


class _ScriptedBackend(httpcore2.NetworkBackend):
    def __init__(self, stream: _ScriptedStream) -> None:
        self.stream = stream

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, *args: Any) -> Any:
        return self.stream


@contextmanager
def _call(backend_steps: bool = True) -> Iterator[CallRecording]:
    recording = CallRecording(call_id=1, entered=0.0, started_at=0.0)
    recording.backend_steps = backend_steps
    recording.mark_attempt()
    token = CURRENT_CALL.set(recording)
    try:
        yield recording
    finally:
        CURRENT_CALL.reset(token)


def _steps(recording: CallRecording) -> list[str]:
    return [f"{step.name}.{outcome.name}".lower() for step, outcome in map(decode, recording.codes[1:])]


def _exchange(reads: list[bytes | Exception], body: bytes = b'{"a": 1}') -> CallRecording:
    """One attempt as h11 makes it: connect, the head, the body, the sized body's empty end, reads."""
    backend = StepBackend(_ScriptedBackend(_ScriptedStream(reads)))
    with _call() as recording:
        stream = backend.connect_tcp("127.0.0.1", 1)
        for buffer in (b"POST /v1/chat/completions HTTP/1.1\r\n\r\n", body, b""):
            stream.write(buffer)
        try:
            while (data := stream.read(65536)) and not data.endswith(b"}"):
                pass
        except httpcore2.ReadTimeout:
            pass
    return recording


def test_an_exchange_becomes_the_trace_extensions_steps() -> None:
    recording = _exchange([HEAD + b'{"a": 1}'])
    assert _steps(recording) == [
        "connect.started", "connect.complete",
        "send_headers.started", "send_headers.complete",
        "send_body.started", "send_body.complete",  # the empty end of the body is no write
        "receive_headers.started", "receive_headers.complete",
    ]  # fmt: skip
    trace = trace_call(recording)
    assert trace.attempts[0].headers_end is not None and not trace.attempts[0].reused_connection


def test_a_head_split_across_reads_ends_with_the_read_that_finishes_it() -> None:
    recording = _exchange([HEAD[:-3], HEAD[-3:], b'{"a": 1}'])
    assert _steps(recording)[-4:] == [
        "receive_headers.started",
        "receive_headers.complete",
        "receive_body.started",
        "receive_body.complete",
    ]
    head_done = recording.times[recording.codes.index(encode(Step.RECEIVE_HEADERS, Outcome.COMPLETE))]
    assert head_done > recording.times[recording.codes.index(_HEAD_STARTED)]
    assert recording.partial_head == b""


_HEAD_STARTED = encode(Step.RECEIVE_HEADERS, Outcome.STARTED)


def test_a_response_that_ends_before_its_head_is_a_failed_wait_for_headers() -> None:
    recording = _exchange([b""])
    assert _steps(recording)[-1] == "receive_headers.failed"
    trace = trace_call(recording)
    assert trace.attempts[0].failed_step == "receive_headers"
    assert trace.attempts[0].error_kind == "connection"


def test_a_sized_body_cut_short_fails_and_an_unsized_one_ends_at_the_close() -> None:
    cut = _exchange([HEAD + b'{"a"', b""])
    assert _steps(cut)[-2:] == ["receive_body.started", "receive_body.failed"]
    assert trace_call(cut).attempts[0].error_kind == "connection"
    unsized = _exchange([b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b'{"a"', b""])
    assert _steps(unsized)[-2:] == ["receive_body.started", "receive_body.complete"]
    assert trace_call(unsized).attempts[0].error_kind is None


def test_a_read_that_raises_fails_its_step_with_the_exceptions_class() -> None:
    recording = _exchange([httpcore2.ReadTimeout("timed out")])
    assert _steps(recording)[-1] == "receive_headers.failed"
    assert list(recording.failures.values()) == ["ReadTimeout"]
    assert trace_call(recording).attempts[0].error_kind == "timeout"


def test_nothing_is_noted_outside_a_call_or_for_a_call_on_the_trace_extension() -> None:
    stream = StepBackend(_ScriptedBackend(_ScriptedStream([HEAD]))).connect_tcp("127.0.0.1", 1)
    stream.write(b"GET / HTTP/1.1\r\n\r\n")
    assert stream.read(100) == HEAD  # no call: passed through
    with _call(backend_steps=False) as recording:
        stream = StepBackend(_ScriptedBackend(_ScriptedStream([HEAD]))).connect_tcp("127.0.0.1", 1)
        stream.write(b"GET / HTTP/1.1\r\n\r\n")
        stream.read(100)
    assert _steps(recording) == []


def test_the_request_left_when_its_last_write_entered_the_kernel() -> None:
    # The body's write returned 5 ms after it entered the kernel: its thread waited for the GIL back
    # (16 threads on 2 cores). The server had the request from the moment it entered.
    recording = CallRecording(call_id=1, entered=0.0, started_at=0.0, exited=0.060)
    recording.backend_steps = True
    for at, step, outcome in [
        (0.001, Step.ATTEMPT, Outcome.STARTED),
        (0.002, Step.SEND_HEADERS, Outcome.STARTED),
        (0.0021, Step.SEND_HEADERS, Outcome.COMPLETE),
        (0.003, Step.SEND_BODY, Outcome.STARTED),
        (0.008, Step.SEND_BODY, Outcome.COMPLETE),
        (0.0081, Step.RECEIVE_HEADERS, Outcome.STARTED),
        (0.053, Step.RECEIVE_HEADERS, Outcome.COMPLETE),
    ]:
        recording.times.append(at)
        recording.codes.append(encode(step, outcome))
    trace = trace_call(recording)
    assert trace.phases["server_wait"] == pytest.approx(0.050)
    assert trace.phases["send"] == pytest.approx(0.0001)
    assert trace.attempts[0].sent == pytest.approx(0.003)


# --- against the simulator -----------------------------------------------------------------------


def _measure(tmp_path: Path, scenario: Any, config: WorkloadConfig, **options: Any) -> Measurement:
    measured = measure_against_simulator(
        scenario, config, tmp_path / "truth.jsonl", arrival_times=False, backend_steps=True, **options
    )
    for recording in measured.recordings:
        assert recording.backend_steps, "the call fell back to the trace extension"
        assert _TRACE_ONLY not in recording.codes
    return measured


@pytest.mark.parametrize("client", ["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_server_wait_matches_ground_truth_serial(tmp_path: Path, stream: bool, client: str) -> None:
    config = WorkloadConfig(requests=6, stream=stream, client=client)
    measured = _measure(tmp_path, _scenario(50, stream), config)
    comparisons = compare_run(measured.recordings, measured.truth)
    assert len(comparisons) == len(measured.truth) == 6
    assert all(c.attempts_matched == c.attempts_measured == 1 and c.statuses_equal for c in comparisons)
    _check_errors([e for c in comparisons for e in c.server_wait_ms], 1)
    for trace in map(trace_call, measured.recordings):
        assert trace.phases["server_wait"] * 1000 >= 50 - EARLY_MS
        # The client's own work is not network: a request written in well under a millisecond.
        assert trace.phases["send"] * 1000 < 2.0, trace.phases
    if stream:
        ttft_errors = [c.ttft_ms for c in comparisons if c.ttft_ms is not None]
        assert len(ttft_errors) == 6
        _check_errors(ttft_errors, 1)


def test_server_wait_matches_ground_truth_concurrent(tmp_path: Path) -> None:
    measured = _measure(tmp_path, _scenario(200, False), WorkloadConfig(requests=16, concurrency=16))
    comparisons = compare_run(measured.recordings, measured.truth)
    assert all(c.attempts_matched == c.attempts_measured for c in comparisons)
    errors = [e for c in comparisons for e in c.server_wait_ms]
    assert len(errors) == 16
    _check_errors(errors, 16)


def test_failed_attempts_match_the_faults_the_simulator_injected(tmp_path: Path) -> None:
    scenario = dataclasses.replace(
        _scenario(20, False),
        faults={"rate_limit": 0.1, "server_error": 0.1, "disconnect": 0.15, "malformed": 0.05},
        seed=5,
    )
    measured = _measure(tmp_path, scenario, WorkloadConfig(requests=40, concurrency=4), max_retries=2)
    traces = [trace_call(r) for r in measured.recordings]
    assert sum(len(t.attempts) for t in traces) == len(measured.truth)
    injected = Counter(
        kind_of_fault(record["fault"], stream=False) for record in measured.truth.values() if record["fault"]
    )
    assert injected["connection"] >= 3, injected  # the cut bodies: what only the backend can tell
    # Every failed attempt, retried or not, is counted under the kind of the fault that failed it.
    seen = Counter(kind for t in traces for kind in t.attempt_errors)
    assert seen == injected


def test_waiting_for_a_pooled_connection_is_queue_not_network(tmp_path: Path) -> None:
    with SimulatorProcess(_scenario(100, False), ground_truth_path=tmp_path / "truth.jsonl") as simulator:
        http = httpx2.Client(limits=httpx2.Limits(max_connections=2), timeout=30)
        client = openai.OpenAI(
            base_url=simulator.base_url, api_key="sk-test", http_client=http, max_retries=0
        )
        from profiler.workload import run_workload

        with collecting(Collector(backend_steps=True)) as collector:
            run_workload(client, WorkloadConfig(requests=8, concurrency=8))
    traces = [trace_call(r) for r in collector.recordings]
    assert all(r.backend_steps for r in collector.recordings) and all(t.ok for t in traces)
    queued = sorted(t.phases["queue"] * 1000 for t in traces)
    assert sum(1 for q in queued if q > 50) >= 5, queued
    waits = [t.phases["server_wait"] * 1000 for t in traces]
    assert min(waits) >= 100 - EARLY_MS and statistics.median(waits) < 100 + 50, waits


def _sdk_call(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("kind", ["http2", "proxy"])
def test_a_client_that_cannot_take_the_backend_keeps_the_trace_extension(kind: str) -> None:
    with SimulatorProcess(load_scenario("instant")) as simulator:
        options: dict[str, Any] = {"http2": True} if kind == "http2" else {}
        if kind == "proxy":
            options["mounts"] = {"https://": httpx2.HTTPTransport(proxy="http://127.0.0.1:9")}
        http = httpx2.Client(**options)
        client = openai.OpenAI(
            base_url=simulator.base_url, api_key="sk-test", http_client=http, max_retries=0
        )
        with collecting(Collector(backend_steps=True)) as collector:
            _sdk_call(client)
        client.close()
    (recording,) = collector.recordings
    assert not recording.backend_steps
    assert _TRACE_ONLY in recording.codes  # the steps came from the trace extension, as before
    assert trace_call(recording).phases["server_wait"] > 0


def test_a_connection_opened_before_the_monitor_is_taken_over() -> None:
    with SimulatorProcess(load_scenario("instant")) as simulator:
        client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0)
        _sdk_call(client)  # before anything is monitored: its connection stays in the pool
        with collecting(Collector(backend_steps=True)) as collector:
            _sdk_call(client)
        client.close()
    (recording,) = collector.recordings
    assert recording.backend_steps
    assert _steps(recording)[:4] == [  # the pooled connection reused: no connect
        "send_headers.started",
        "send_headers.complete",
        "send_body.started",
        "send_body.complete",
    ]
    trace = trace_call(recording)
    assert trace.attempts[0].reused_connection and trace.attempts[0].headers_end is not None


def test_the_backend_goes_under_every_pool_once_and_kernel_arrivals_go_beneath_it() -> None:
    from profiler.trace import netio

    http = httpx2.Client()
    assert install_step_backend(http) and install_step_backend(http)
    pool = http._transport._pool
    assert isinstance(pool._network_backend, StepBackend)
    assert not isinstance(pool._network_backend.inner, StepBackend)  # not wrapped twice
    if netio.arrival_timestamps_supported():
        assert netio.install(http)
        assert isinstance(pool._network_backend.inner, netio.TimestampingBackend)
    async_http = httpx2.AsyncClient()
    assert install_step_backend(async_http)
    assert isinstance(async_http._transport._pool._network_backend, AsyncStepBackend)
    http.close()
    asyncio.run(async_http.aclose())
