"""Events → segments → phases on synthetic timelines (no server, no real clock)."""

from __future__ import annotations

import pytest

from profiler.trace.derive import TTFT_PARTS, itl_by_gap, trace_call
from profiler.trace.events import ATTEMPT_STARTED, trace_code
from profiler.trace.model import RequestTrace
from profiler.trace.phases import LEAVES, LOCAL_PHASES, NETWORK_PHASES, PHASE_BY_NAME, Group
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

    def exchange(
        self, start_ms: float, *, connect_ms: float = 0.0, gap_ms: float = 0.0, wait_ms: float, body_ms: float
    ) -> float:
        """One HTTP/1.1 request/response; ``gap_ms`` between writing the headers and the body."""
        t = start_ms
        if connect_ms:
            self.event(t, "connection.connect_tcp.started").event(
                t + connect_ms, "connection.connect_tcp.complete"
            )
            t += connect_ms
        self.event(t, "http11.send_request_headers.started").event(
            t + 0.1, "http11.send_request_headers.complete"
        )
        t += 0.1 + gap_ms
        self.event(t, "http11.send_request_body.started").event(t + 0.1, "http11.send_request_body.complete")
        t += 0.1
        self.event(t, "http11.receive_response_headers.started")
        t += wait_ms
        self.event(t, "http11.receive_response_headers.complete")
        self.event(t, "http11.receive_response_body.started")
        t += body_ms
        self.event(t, "http11.receive_response_body.complete")
        self.event(t, "http11.response_closed.started").event(t + 0.05, "http11.response_closed.complete")
        return t

    def respond(self, attempt: int, status: int, processing_ms: float | None = None) -> Timeline:
        headers = {"x-request-id": f"req_{attempt}"}
        if processing_ms is not None:
            headers["openai-processing-ms"] = str(processing_ms)
        self.recording.responses.append(AttemptResponse(attempt, status, headers=headers))
        return self

    def exit(self, at_ms: float) -> CallRecording:
        self.recording.exited = at_ms / 1000
        return self.recording


def ms(seconds: float | None) -> float:
    assert seconds is not None
    return round(seconds * 1000, 6)


def assert_tiles(trace: RequestTrace) -> None:
    """The segments cover the call from entry to end, in order, without a gap or an overlap."""
    assert trace.segments[0].start == trace.start
    assert trace.segments[-1].end == pytest.approx(trace.end, abs=1e-12)
    for before, after in zip(trace.segments, trace.segments[1:], strict=False):
        assert before.end == pytest.approx(after.start, abs=1e-12)
        assert after.length > 0
    leaves = sum(trace.phases[name] or 0.0 for name in LEAVES)
    assert leaves == pytest.approx(trace.e2e, abs=1e-9)


def test_plain_call_partitions_end_to_end_time() -> None:
    timeline = Timeline().attempt(2.0)
    body_end = timeline.exchange(2.5, connect_ms=1.0, wait_ms=200.0, body_ms=3.0)
    recording = timeline.respond(0, 200, processing_ms=190).exit(body_end + 4.0)
    trace = trace_call(recording)
    p = {k: ms(v) for k, v in trace.phases.items() if v is not None}
    assert p["local_pre"] == 2.0
    assert p["queue"] == 0.5
    assert p["connect"] == 1.0
    assert p["send"] == pytest.approx(0.2)
    assert p["server_wait"] == pytest.approx(200.0)
    assert p["server_processing"] == 190.0
    assert p["download"] == pytest.approx(3.0)
    assert p["local_post"] == pytest.approx(4.0)  # closing the response and parsing: the SDK's work
    assert p["contention"] == pytest.approx(0.0, abs=1e-9)
    assert p["backoff"] == 0.0
    assert_tiles(trace)
    assert trace.network == pytest.approx(sum(trace.phases[k] or 0.0 for k in NETWORK_PHASES))
    assert trace.ok and trace.status == 200 and trace.x_request_id == "req_0"
    assert trace.attempts[0].reused_connection is False


def test_a_request_that_leaves_late_is_contention_not_network() -> None:
    # The 78 ms between writing the headers and the body that 32 busy threads cause: the client's own.
    timeline = Timeline().attempt(1.0)
    end = timeline.exchange(1.0, gap_ms=78.0, wait_ms=100.0, body_ms=1.0)
    trace = trace_call(timeline.respond(0, 200).exit(end + 1.0))
    assert ms(trace.phases["send"]) == pytest.approx(0.2)
    assert ms(trace.phases["contention"]) == pytest.approx(78.0)
    assert PHASE_BY_NAME["contention"].group is Group.LOCAL
    assert ms(trace.network) == pytest.approx(0.2 + 100.0 + 1.0)
    assert_tiles(trace)


def test_origin_makes_times_run_relative() -> None:
    timeline = Timeline(entered_ms=5000.0).attempt(5001.0)
    end = timeline.exchange(5001.0, wait_ms=10.0, body_ms=1.0)
    trace = trace_call(timeline.respond(0, 200).exit(end + 1.0), origin=4.0)
    assert ms(trace.start) == pytest.approx(1000.0)
    assert ms(trace.attempts[0].start) == pytest.approx(1001.0)
    assert_tiles(trace)


def test_no_processing_header_is_unknown_not_zero() -> None:
    timeline = Timeline().attempt(1.0)
    end = timeline.exchange(1.0, wait_ms=10.0, body_ms=1.0)
    trace = trace_call(timeline.respond(0, 200, processing_ms=None).exit(end + 1.0))
    assert trace.phases["server_processing"] is None
    assert trace.breakdown()["server_processing"] is None


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
    timeline.attempt(first_end + 500.0)  # the SDK slept ~500 ms (after closing the 429)
    second_end = timeline.exchange(first_end + 500.0, wait_ms=100.0, body_ms=1.0)
    trace = trace_call(timeline.respond(1, 200, processing_ms=95).exit(second_end + 2.0))
    assert len(trace.attempts) == 2
    assert trace.ok
    assert trace.attempt_errors == ["rate_limit"]
    assert ms(trace.phases["backoff"]) == pytest.approx(500.0)
    assert ms(trace.phases["server_wait"]) == pytest.approx(110.0)
    assert ms(trace.phases["server_processing"]) == 96.0
    assert ms(trace.attempts[0].phase("server_wait")) == pytest.approx(10.0)
    assert ms(trace.attempts[1].phase("server_wait")) == pytest.approx(100.0)
    assert trace.x_request_id == "req_1"
    assert [(a, b) for a, b in trace.intervals(Group.BACKOFF)] == [
        (pytest.approx(first_end / 1000), pytest.approx((first_end + 500.0) / 1000))
    ]
    assert_tiles(trace)


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
    assert_tiles(trace)


def test_connection_refused_is_a_connection_error() -> None:
    timeline = Timeline(error_kind="connection").attempt(1.0)
    timeline.event(1.0, "connection.connect_tcp.started")
    timeline.event(1.3, "connection.connect_tcp.failed", failure="ConnectError")
    trace = trace_call(timeline.exit(2.0))
    assert trace.attempt_errors == ["connection"]
    assert ms(trace.phases["connect"]) == pytest.approx(0.3)
    assert_tiles(trace)


def _stream(ready_at: list[float], asked_at: list[float], choices: list[int], ended: float) -> RequestTrace:
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
    recording.begin_stream()
    for asked, ready, choice in zip(asked_at, ready_at, choices, strict=True):
        recording.chunk_requested.append(asked / 1000)
        recording.chunk_ready.append(ready / 1000)
        recording.chunk_choice.append(choice)
        recording.chunk_cpu.append(0.0001)  # 0.1 ms of the SDK parsing each chunk
    recording.chunk_requested.append(ready_at[-1] / 1000 + 0.005)  # the final request that ends it
    recording.stream_ended = ended / 1000
    recording.stream_finished_choices = 1
    recording.usage_output_tokens = 3
    return trace_call(recording)


def test_stream_splits_blocked_time_from_caller_time() -> None:
    # role chunk, then 3 content chunks 20 ms apart; the caller works 5 ms on each.
    ready_at = [103.0, 103.5, 123.5, 143.5]
    asked_at = [102.5, 103.2, 108.5, 128.5]
    trace = _stream(ready_at, asked_at, [-1, 0, 0, 0], ended=150.0)
    assert ms(trace.ttft_s) == pytest.approx(103.5)
    assert [round(ms(g), 6) for g in trace.itl_s] == [20.0, 20.0]
    blocked = (103.0 - 102.5) + (103.5 - 103.2) + (123.5 - 108.5) + (143.5 - 128.5) + (150.0 - 148.5)
    parsing = 4 * 0.1
    assert ms(trace.phases["download"]) == pytest.approx(blocked - parsing)
    caller = (102.5 - 102.0) + (103.2 - 103.0) + (108.5 - 103.5) + (128.5 - 123.5) + (148.5 - 143.5)
    assert ms(trace.phases["caller"]) == pytest.approx(caller)
    assert ms(trace.phases["local_post"]) == pytest.approx((102.0 - 101.2) + parsing)
    assert ms(trace.tpot_s) == pytest.approx((150.0 - 103.5) / 2)
    assert_tiles(trace)


def test_ttft_parts_sum_to_the_ttft() -> None:
    trace = _stream([103.0, 103.5, 123.5], [102.5, 103.2, 108.5], [-1, 0, 0], ended=130.0)
    parts = trace.ttft_parts
    assert parts is not None and set(parts) == set(TTFT_PARTS)
    assert sum(parts.values()) == pytest.approx(trace.ttft_s, abs=1e-12)
    # Sent at 1.2 ms, headers at 101.2, then waiting for the role chunk and the first content chunk.
    assert ms(parts["server"]) == pytest.approx(100.0 + (103.0 - 102.5 - 0.1) + (103.5 - 103.2 - 0.1))
    assert ms(parts["local_pre"]) == pytest.approx(1.0)
    assert ms(parts["caller"]) == pytest.approx((102.5 - 102.0) + (103.2 - 103.0))


def test_itl_is_per_choice_when_choices_interleave() -> None:
    recording = Timeline(stream=True, n=2).attempt(0.0).respond(0, 200).exit(1.0)
    recording.begin_stream()
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


@pytest.mark.parametrize("seed", range(25))
def test_random_timelines_always_tile(seed: int) -> None:
    """Whatever the mix of retries, gaps and streams, every moment belongs to exactly one leaf."""
    import random

    rng = random.Random(seed)
    stream = rng.random() < 0.5
    timeline = Timeline(stream=stream, n=1)
    t = rng.uniform(0, 5)
    attempts = rng.randint(1, 3)
    for index in range(attempts):
        timeline.attempt(t)
        t = timeline.exchange(
            t + rng.uniform(0, 2),
            connect_ms=rng.choice([0.0, rng.uniform(0.1, 3)]),
            gap_ms=rng.uniform(0, 5),
            wait_ms=rng.uniform(0, 100),
            body_ms=rng.uniform(0, 10),
        )
        timeline.respond(index, 429 if index < attempts - 1 else 200)
        t += rng.uniform(1, 50)
    recording = timeline.exit(t)
    if stream:
        recording.begin_stream()
        for _ in range(rng.randint(1, 6)):
            t += rng.uniform(0, 3)
            recording.chunk_requested.append(t / 1000)
            t += rng.uniform(0, 10)
            recording.chunk_ready.append(t / 1000)
            recording.chunk_choice.append(rng.choice([-1, 0]))
            recording.chunk_cpu.append(rng.uniform(0, 0.002))
        recording.chunk_requested.append((t + 1) / 1000)
        recording.stream_ended = (t + 2) / 1000
    trace = trace_call(recording)
    assert_tiles(trace)
    assert all(trace.phases[name] is not None and trace.phases[name] >= 0 for name in LEAVES)  # type: ignore[operator]
    assert set(LOCAL_PHASES) <= set(trace.phases)


# --- with kernel arrival times (profiler.trace.netio) ----------------------------------------------


def test_bytes_that_arrived_before_the_program_read_them_are_contention() -> None:
    timeline = Timeline().attempt(1.0)
    end = timeline.exchange(1.0, wait_ms=100.0, body_ms=0.5)
    recording = timeline.respond(0, 200).exit(end + 1.0)
    headers_complete = (1.0 + 0.2 + 100.0) / 1000
    # The headers reached the machine 30 ms before the busy program got to read them.
    recording.note_read(headers_complete - 0.030, headers_complete, 512, True)
    recording.note_read(end / 1000 - 0.0004, end / 1000, 900, True)
    trace = trace_call(recording)
    assert trace.arrival_times
    assert ms(trace.phases["server_wait"]) == pytest.approx(70.0)
    assert ms(trace.phases["contention"]) == pytest.approx(30.0 + 0.4)
    assert ms(trace.phases["download"]) == pytest.approx(0.1)
    assert_tiles(trace)


def test_no_stamp_leaves_the_wait_as_it_was_seen() -> None:
    timeline = Timeline().attempt(1.0)
    end = timeline.exchange(1.0, wait_ms=100.0, body_ms=0.5)
    recording = timeline.respond(0, 200).exit(end + 1.0)
    recording.note_read(None, (1.0 + 0.2 + 100.0) / 1000, 512, False)  # the platform gave no stamp
    trace = trace_call(recording)
    assert not trace.arrival_times and ms(trace.phases["server_wait"]) == pytest.approx(100.0)


def _stamped_stream(arrivals: list[float], handed: list[float], exact: list[bool]) -> RequestTrace:
    """A stream whose content chunks arrived at ``arrivals`` but were handed over at ``handed`` (ms)."""
    return trace_call(_stamped_stream_recording(arrivals, handed, exact))


def _stamped_stream_recording(arrivals: list[float], handed: list[float], exact: list[bool]) -> CallRecording:
    timeline = Timeline(stream=True, n=1).attempt(1.0)
    timeline.event(1.0, "http11.send_request_headers.started").event(
        1.1, "http11.send_request_headers.complete"
    )
    timeline.event(1.1, "http11.send_request_body.started").event(1.2, "http11.send_request_body.complete")
    timeline.event(1.2, "http11.receive_response_headers.started")
    timeline.event(51.2, "http11.receive_response_headers.complete")
    recording = timeline.respond(0, 200).exit(52.0)
    recording.note_read(0.0511, 0.0512, 300, True)
    recording.begin_stream()
    asked = 52.0
    for arrived, ready, is_exact in zip(arrivals, handed, exact, strict=True):
        recording.chunk_requested.append(asked / 1000)
        recording.note_read(arrived / 1000, (ready - 0.05) / 1000, 90, is_exact)
        recording.chunk_ready.append(ready / 1000)
        recording.chunk_choice.append(0)
        recording.chunk_cpu.append(0.00001)
        asked = ready + 0.01
    recording.chunk_requested.append(asked / 1000)
    recording.stream_ended = (asked + 0.1) / 1000
    recording.stream_finished_choices = 1
    return recording


def test_itl_comes_from_arrivals_when_the_caller_reads_in_bunches() -> None:
    # The server wrote every 10 ms; the busy caller got the chunks in two bunches.
    trace = _stamped_stream([60, 70, 80, 90], [75.0, 75.2, 95.0, 95.2], [True] * 4)
    assert [round(ms(g), 3) for g in trace.itl_s] == [10.0, 10.0, 10.0]
    assert [round(ms(g), 3) for g in trace.itl_seen_s] == [0.2, 19.8, 0.2]
    # Waiting for the first chunk ended at its arrival (60 ms); the 15 ms until it was handed over is local.
    assert trace.ttft_parts is not None
    assert ms(trace.ttft_parts["server"]) == pytest.approx((51.1 - 1.2) + (60.0 - 52.0))
    assert ms(trace.ttft_parts["contention"]) == pytest.approx(0.1 + (75.0 - 0.01 - 60.0), abs=0.02)
    assert_tiles(trace)


def test_merged_writes_leave_their_gaps_unknown_not_guessed() -> None:
    """One read merged three writes of the same choice: its stamp is the last one's, their gaps lost."""
    timeline = Timeline(stream=True, n=1).attempt(0.0)
    end = timeline.exchange(0.0, wait_ms=50.0, body_ms=0.0)
    recording = timeline.respond(0, 200).exit(end + 1.0)
    recording.begin_stream()
    recording.note_read(0.060, 0.0601, 90, True)  # chunk 1, on its own
    recording.note_read(0.090, 0.0951, 270, False)  # chunks 2, 3, 4, written at 70, 80, 90 ms
    for ready in (0.0602, 0.0952, 0.0953, 0.0954):
        recording.chunk_requested.append(ready - 0.0001)
        recording.chunk_ready.append(ready)
        recording.chunk_choice.append(0)
        recording.chunk_cpu.append(0.0)
    recording.chunk_requested.append(0.0955)
    recording.stream_ended, recording.stream_finished_choices = 0.096, 1
    trace = trace_call(recording)
    assert trace.itl_unknown == 3  # 1→2 would be 30 ms instead of 10; 2→3 and 3→4 would be 0
    assert trace.itl_s == []
    assert [round(ms(g), 1) for g in trace.itl_seen_s] == [35.0, 0.1, 0.1]


def test_a_merged_buffer_with_one_chunk_of_a_choice_keeps_its_gap() -> None:
    # n=2: each round's two chunks, written microseconds apart, merged in one kernel buffer and read
    # frame by frame: both reads carry its stamp, the second one exact.
    timeline = Timeline(stream=True, n=2).attempt(0.0)
    end = timeline.exchange(0.0, wait_ms=50.0, body_ms=0.0)
    recording = timeline.respond(0, 200).exit(end + 1.0)
    recording.begin_stream()
    for arrived in (0.060, 0.070, 0.080):
        for choice in (0, 1):
            recording.note_read(arrived, arrived + 0.0001 + choice * 0.00005, 90, choice == 1)
            ready = arrived + 0.0002 + choice * 0.00005
            recording.chunk_requested.append(ready - 0.00001)
            recording.chunk_ready.append(ready)
            recording.chunk_choice.append(choice)
            recording.chunk_cpu.append(0.0)
    recording.chunk_requested.append(0.0805)
    recording.stream_ended, recording.stream_finished_choices = 0.081, 2
    trace = trace_call(recording)
    assert trace.itl_unknown == 0
    assert [round(ms(g), 3) for g in trace.itl_s] == [10.0, 10.0, 10.0, 10.0]


def test_a_buffer_read_before_it_was_complete_keeps_no_arrival() -> None:
    """The first content's read is inexact and the next read's stamp is another: the buffer took
    in a later write after the read (overwriting the stamp), so even the lone chunk is a bound."""
    trace = _stamped_stream([70, 80, 90, 100], [100.5, 100.6, 100.7, 100.9], [False, False, True, True])
    assert trace.ttft_bounded
    assert [round(ms(g), 3) for g in trace.itl_s] == [10.0]  # 3 → 4: both exact
    assert trace.itl_unknown == 2


def test_unknown_gaps_keep_their_places_for_a_comparison_with_the_server() -> None:
    # Chunk 2's read is inexact (its kernel buffer took in a later write): its arrival is only a bound,
    # so the gaps 1 → 2 and 2 → 3 are unknown; 3 → 4 is known, and it is the third gap, not the first.
    recording = _stamped_stream_recording(
        [70, 80, 90, 100], [70.5, 90.6, 90.7, 100.9], [True, False, True, True]
    )
    gaps = itl_by_gap(recording)
    assert gaps is not None and [None if g is None else round(ms(g), 3) for g in gaps] == [None, None, 10.0]
    trace = trace_call(recording)
    assert [round(ms(g), 3) for g in trace.itl_s] == [10.0] and trace.itl_unknown == 2
    unstamped = Timeline(stream=True, n=1).attempt(0.0).respond(0, 200).exit(1.0)
    assert itl_by_gap(unstamped) is None


def test_an_attempt_through_a_transport_without_steps_is_network_until_its_headers() -> None:
    # litellm's aiohttp transport (or a mock) reports no httpcore step: the attempt's start and the
    # moment its headers reached the client are all there is. That time is network, not local_post.
    timeline = Timeline().attempt(2.0)
    timeline.recording.responses.append(AttemptResponse(0, 200, at=0.0302, headers={"x-request-id": "req_0"}))
    trace = trace_call(timeline.exit(31.0))
    assert_tiles(trace)
    assert ms(trace.phases["local_pre"]) == 2.0
    assert ms(trace.phases["server_wait"]) == pytest.approx(28.2)
    assert ms(trace.phases["local_post"]) == pytest.approx(0.8)
    assert sum(ms(trace.phases[name]) for name in NETWORK_PHASES) == pytest.approx(28.2)
    attempt = trace.attempts[0]
    assert attempt.reused_connection is None and ms(attempt.headers_end) == pytest.approx(30.2)


def test_a_sdk_call_through_a_mock_transport_counts_its_wait_as_network() -> None:
    import time

    import httpx2
    from openai import OpenAI

    from profiler.frozen_heap import frozen_heap
    from profiler.trace.instrument import collecting

    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
    }

    def slow_server(request: httpx2.Request) -> httpx2.Response:
        time.sleep(0.05)
        return httpx2.Response(200, json=body, headers={"x-request-id": "req_mock"})

    http_client = httpx2.Client(transport=httpx2.MockTransport(slow_server))
    client = OpenAI(api_key="sk-test", base_url="http://mock.invalid/v1", http_client=http_client)
    # Frozen: a full collection of the test process (80–100 ms) inside a call would be local time.
    with frozen_heap(), collecting() as collector:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"Idempotency-Key": "key-7"},
        )
    trace = trace_call(collector.recordings[0])
    assert trace.attempts[0].x_request_id == "req_mock"
    assert trace.idempotency_key is None  # the SDK sends none for chat completions
    assert trace_call(collector.recordings[1]).idempotency_key == "key-7"  # read when derived
    assert ms(trace.phases["server_wait"]) >= 50.0
    assert sum(ms(trace.phases[name]) for name in LOCAL_PHASES) < 50.0


def test_a_client_whose_base_url_changes_is_recorded_at_its_new_server() -> None:
    import httpx2
    from openai import OpenAI

    from profiler.trace.instrument import collecting

    body = {"object": "list", "data": []}
    http_client = httpx2.Client(transport=httpx2.MockTransport(lambda _: httpx2.Response(200, json=body)))
    client = OpenAI(api_key="sk-test", base_url="http://first.invalid:8001/v1", http_client=http_client)
    with collecting() as collector:
        client.models.list()
        client.models.list()
        client.base_url = "https://second.invalid/api/v2"  # the server address is worked out again
        client.models.list()
    seen = [(r.server_address, r.server_port, r.operation) for r in collector.recordings]
    assert seen == [
        ("first.invalid", 8001, "models"),
        ("first.invalid", 8001, "models"),
        ("second.invalid", 443, "models"),
    ]


def test_frames_of_one_merged_buffer_lose_their_own_arrivals() -> None:
    """Read frame by frame, chunks written 10 ms apart but merged by the kernel into one buffer share
    its (newest) stamp: the earlier frames' reads are inexact. Their gaps are unknown, not 0, and a
    first content chunk among them makes the TTFT split a bound."""
    # One stamp converted at three reads: 0.1–0.5 µs apart, as measured.
    trace = _stamped_stream([60, 60.0003, 59.9998, 90], [90.5, 90.6, 90.7, 90.9], [False, False, True, True])
    # Chunks 1-3 were read from one buffer stamped 60 ms (the last of them exact): only 3 has that
    # arrival; 1 and 2 came earlier by unknown amounts. Chunk 4 is alone.
    assert [round(ms(g), 2) for g in trace.itl_s] == [30.0]
    assert trace.itl_unknown == 2
    assert trace.ttft_bounded


def test_an_exact_first_content_read_is_not_a_bound() -> None:
    trace = _stamped_stream([60, 70, 80, 90], [75.0, 75.2, 95.0, 95.2], [True] * 4)
    assert not trace.ttft_bounded
