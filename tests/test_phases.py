"""Events → phases on synthetic timelines (no server, no real clock)."""

from __future__ import annotations

import pytest

from profiler.trace.events import ATTEMPT_STARTED, trace_code
from profiler.trace.phases import LOCAL_PHASES, NETWORK_PHASES, trace_call
from profiler.trace.recording import AttemptResponse, CallRecording


class Timeline:
    """Builds a CallRecording from (time, event) pairs, times in milliseconds."""

    def __init__(self, entered_ms: float = 0.0, **fields: object) -> None:
        self.recording = CallRecording(call_id=1, entered=entered_ms / 1000, started_at=0.0, **fields)

    def attempt(self, at_ms: float) -> Timeline:
        self.recording.times.append(at_ms / 1000)
        self.recording.codes.append(ATTEMPT_STARTED)
        return self

    def event(self, at_ms: float, name: str, failure: str | None = None) -> Timeline:
        self.recording.times.append(at_ms / 1000)
        self.recording.codes.append(trace_code(name))
        if failure:
            self.recording.failures[len(self.recording.codes) - 1] = failure
        return self

    def exchange(self, start_ms: float, *, connect_ms: float = 0.0, wait_ms: float, body_ms: float) -> float:
        """One HTTP/1.1 request/response; returns when the body ended."""
        t = start_ms
        if connect_ms:
            self.event(t, "connection.connect_tcp.started").event(
                t + connect_ms, "connection.connect_tcp.complete"
            )
            t += connect_ms
        self.event(t, "http11.send_request_headers.started").event(
            t + 0.1, "http11.send_request_headers.complete"
        )
        self.event(t + 0.1, "http11.send_request_body.started").event(
            t + 0.2, "http11.send_request_body.complete"
        )
        t += 0.2
        self.event(t, "http11.receive_response_headers.started")
        t += wait_ms
        self.event(t, "http11.receive_response_headers.complete")
        self.event(t, "http11.receive_response_body.started")
        t += body_ms
        self.event(t, "http11.receive_response_body.complete")
        self.event(t, "http11.response_closed.started").event(t + 0.05, "http11.response_closed.complete")
        return t + 0.05

    def respond(self, attempt: int, status: int, processing_ms: float | None = None) -> Timeline:
        self.recording.responses.append(
            AttemptResponse(attempt, status, f"req_{attempt}", processing_ms, None)
        )
        return self

    def exit(self, at_ms: float) -> CallRecording:
        self.recording.exited = at_ms / 1000
        return self.recording


def ms(seconds: float) -> float:
    return round(seconds * 1000, 6)


def test_plain_call_partitions_end_to_end_time() -> None:
    timeline = Timeline().attempt(2.0)
    body_end = timeline.exchange(2.5, connect_ms=1.0, wait_ms=200.0, body_ms=3.0)
    recording = timeline.respond(0, 200, processing_ms=190).exit(body_end + 4.0)
    trace = trace_call(recording)
    p = {k: ms(v) for k, v in trace.phases.items()}
    assert p["local_pre"] == 2.0
    assert p["queue"] == 0.5
    assert p["connect"] == 1.0
    assert p["send"] == pytest.approx(0.2)
    assert p["server_wait"] == pytest.approx(200.0)
    assert p["server_processing"] == 190.0
    assert p["download"] == pytest.approx(3.0)
    assert p["local_post"] == pytest.approx(4.05)  # closing the response is SDK-side local work
    assert p["backoff"] == 0.0
    parts = sum(trace.phases[k] for k in (*NETWORK_PHASES, *LOCAL_PHASES, "queue", "backoff"))
    assert ms(parts) == pytest.approx(ms(trace.e2e), abs=1e-6)
    assert trace.ok and trace.status == 200 and trace.x_request_id == "req_0"
    assert trace.attempts[0].reused_connection is False


def test_reused_connection_has_no_connect_phase() -> None:
    timeline = Timeline().attempt(1.0)
    end = timeline.exchange(1.0, wait_ms=50.0, body_ms=1.0)
    trace = trace_call(timeline.respond(0, 200).exit(end + 1))
    assert trace.attempts[0].reused_connection is True
    assert trace.phases["connect"] == 0.0 and trace.phases["tls"] == 0.0


def test_retry_after_rate_limit_counts_backoff_and_attempt_error() -> None:
    timeline = Timeline().attempt(1.0)
    first_end = timeline.exchange(1.0, connect_ms=0.5, wait_ms=10.0, body_ms=0.5)
    timeline.respond(0, 429, processing_ms=1)
    timeline.attempt(first_end + 500.0)  # the SDK slept 500 ms
    second_end = timeline.exchange(first_end + 500.0, wait_ms=100.0, body_ms=1.0)
    trace = trace_call(timeline.respond(1, 200, processing_ms=95).exit(second_end + 2.0))
    assert len(trace.attempts) == 2
    assert trace.ok
    assert trace.attempt_errors == ["rate_limit"]
    assert ms(trace.phases["backoff"]) == pytest.approx(500.0)
    assert ms(trace.phases["server_wait"]) == pytest.approx(110.0)
    assert ms(trace.phases["server_processing"]) == 96.0
    assert trace.x_request_id == "req_1"
    assert len(trace.backoff_intervals) == 1


def test_timeout_while_waiting_for_headers() -> None:
    timeline = Timeline(error_kind="timeout", error_type="APITimeoutError").attempt(1.0)
    timeline.event(1.0, "http11.send_request_headers.started").event(
        1.1, "http11.send_request_headers.complete"
    )
    timeline.event(1.1, "http11.send_request_body.started").event(1.2, "http11.send_request_body.complete")
    timeline.event(1.2, "http11.receive_response_headers.started")
    timeline.event(1001.2, "http11.receive_response_headers.failed", failure="ReadTimeout")
    trace = trace_call(timeline.exit(1002.0))
    assert not trace.ok and trace.error_kind == "timeout"
    assert trace.attempts[0].error_kind == "timeout"
    assert trace.attempts[0].failed_step == "receive_headers"
    assert ms(trace.phases["server_wait"]) == pytest.approx(1000.0)


def test_connection_refused_is_a_connection_error() -> None:
    timeline = Timeline(error_kind="connection").attempt(1.0)
    timeline.event(1.0, "connection.connect_tcp.started")
    timeline.event(1.3, "connection.connect_tcp.failed", failure="ConnectError")
    trace = trace_call(timeline.exit(2.0))
    assert trace.attempt_errors == ["connection"]
    assert ms(trace.phases["connect"]) == pytest.approx(0.3)


def test_stream_splits_blocked_time_from_caller_time() -> None:
    timeline = Timeline(stream=True, n=1).attempt(1.0)
    t = 1.0
    timeline.event(t, "http11.send_request_headers.started").event(
        t + 0.1, "http11.send_request_headers.complete"
    )
    timeline.event(t + 0.1, "http11.send_request_body.started").event(
        t + 0.2, "http11.send_request_body.complete"
    )
    timeline.event(t + 0.2, "http11.receive_response_headers.started")
    timeline.event(101.2, "http11.receive_response_headers.complete")
    recording = timeline.respond(0, 200).exit(102.0)
    # role chunk, then 3 content chunks 20 ms apart; the caller works 5 ms on each.
    ready_at = [103.0, 103.5, 123.5, 143.5]
    asked_at = [102.5, 103.2, 108.5, 128.5]
    choices = [-1, 0, 0, 0]
    for asked, ready, choice in zip(asked_at, ready_at, choices, strict=True):
        recording.chunk_requested.append(asked / 1000)
        recording.chunk_ready.append(ready / 1000)
        recording.chunk_choice.append(choice)
    recording.chunk_requested.append(148.5 / 1000)  # the final request that ends the stream
    recording.stream_ended = 150.0 / 1000
    recording.stream_finished_choices = 1
    recording.usage_output_tokens = 3
    trace = trace_call(recording)
    assert ms(trace.ttft_s) == pytest.approx(103.5)
    assert [round(ms(g), 6) for g in trace.itl_s] == [20.0, 20.0]
    blocked = (103.0 - 102.5) + (103.5 - 103.2) + (123.5 - 108.5) + (143.5 - 128.5) + (150.0 - 148.5)
    assert ms(trace.phases["download"]) == pytest.approx(blocked)
    caller = (102.5 - 102.0) + (103.2 - 103.0) + (108.5 - 103.5) + (128.5 - 123.5) + (148.5 - 143.5)
    assert ms(trace.phases["caller"]) == pytest.approx(caller)
    assert ms(trace.tpot_s) == pytest.approx((150.0 - 103.5) / 2)
    parts = sum(trace.phases[k] for k in (*NETWORK_PHASES, *LOCAL_PHASES, "queue", "backoff"))
    assert ms(parts) == pytest.approx(ms(trace.e2e), abs=1e-6)


def test_itl_is_per_choice_when_choices_interleave() -> None:
    recording = Timeline(stream=True, n=2).attempt(0.0).respond(0, 200).exit(1.0)
    recording.times.append(0.0005)
    recording.codes.append(trace_code("http11.receive_response_headers.complete"))
    for at, choice in [(10, 0), (10.1, 1), (30, 0), (30.1, 1)]:
        recording.chunk_requested.append(at / 1000 - 1e-4)
        recording.chunk_ready.append(at / 1000)
        recording.chunk_choice.append(choice)
    recording.stream_ended = 0.031
    trace = trace_call(recording)
    assert [round(ms(g), 6) for g in trace.itl_s] == [20.0, 20.0]


def test_unfinished_call_is_safe_to_trace() -> None:
    recording = Timeline().attempt(1.0).event(1.0, "connection.connect_tcp.started").recording
    trace = trace_call(recording)
    assert not trace.finished
    assert trace.phases["queue"] == 0.0


def test_stream_closed_by_the_sdk_after_done_is_not_a_failure() -> None:
    timeline = Timeline(stream=True, n=1).attempt(0.0)
    end = timeline.exchange(0.0, wait_ms=10.0, body_ms=0.0)
    timeline.event(end, "http11.receive_response_body.failed", failure="GeneratorExit")
    trace = trace_call(timeline.respond(0, 200).exit(end + 1))
    assert trace.attempt_errors == []
    assert trace.attempts[0].failed_step is None
