"""From a call's recorded events to its phases: pure functions, no clock, no I/O.

The phases of one call partition its end-to-end time (see docs/metrics.md)::

    e2e = local_pre + queue + connect + tls + send + server_wait + download
          + backoff + local_post + caller

``network`` is connect + tls + send + server_wait + download; ``local`` is
local_pre + local_post + caller. ``queue`` (waiting for a pooled connection)
and ``backoff`` (the SDK's retry sleep) are neither. ``server_processing`` is
the server's own figure, a part of ``server_wait``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from profiler.monitor.errors import STREAM_INTERRUPTED, kind_of_status, kind_of_transport_failure
from profiler.trace.events import Outcome, Step, decode
from profiler.trace.recording import AttemptResponse, CallRecording

NETWORK_PHASES = ("connect", "tls", "send", "server_wait", "download")
LOCAL_PHASES = ("local_pre", "local_post", "caller")
PHASES = (
    "local_pre",
    "queue",
    "connect",
    "tls",
    "send",
    "server_wait",
    "server_processing",
    "download",
    "local_post",
    "caller",
    "backoff",
)

Interval = tuple[float, float]
_CLOSED_BY_CLIENT = "GeneratorExit"


@dataclass(slots=True)
class AttemptTrace:
    """One HTTP attempt of a call. Times are perf_counter seconds."""

    start: float
    end: float
    first_network: float | None = None
    sent: float | None = None  # request body fully sent
    headers_end: float | None = None
    body_end: float | None = None
    reused_connection: bool | None = None  # None: never reached the network
    connect: float = 0.0
    tls: float = 0.0
    send: float = 0.0
    server_wait: float = 0.0
    download: float = 0.0
    status: int | None = None
    x_request_id: str | None = None
    processing_ms: float | None = None
    error_kind: str | None = None
    failed_step: str | None = None
    error_type: str | None = None

    @property
    def queue(self) -> float:
        until = self.first_network if self.first_network is not None else self.end
        return max(0.0, until - self.start)


@dataclass(slots=True)
class RequestTrace:
    """Everything derived about one SDK call: what every renderer reads."""

    call_id: int
    started_at: float
    entered: float
    end: float
    model: str | None
    n: int
    stream: bool
    attempts: list[AttemptTrace]
    phases: dict[str, float]  # seconds
    cpu_s: float | None
    error_kind: str | None
    error_type: str | None
    idempotency_key: str | None
    network_intervals: list[Interval] = field(default_factory=list)
    backoff_intervals: list[Interval] = field(default_factory=list)
    ttft_s: float | None = None
    itl_s: list[float] = field(default_factory=list)
    tpot_s: float | None = None
    output_tokens: int | None = None
    input_tokens: int | None = None
    chunks: int = 0
    finished: bool = True
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @property
    def e2e(self) -> float:
        return self.end - self.entered

    @property
    def x_request_id(self) -> str | None:
        for attempt in reversed(self.attempts):
            if attempt.x_request_id:
                return attempt.x_request_id
        return None

    @property
    def status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None

    @property
    def attempt_errors(self) -> list[str]:
        return [a.error_kind for a in self.attempts if a.error_kind is not None]


def _split_attempts(recording: CallRecording) -> list[list[tuple[float, Step, Outcome, int]]]:
    segments: list[list[tuple[float, Step, Outcome, int]]] = []
    for index, (at, code) in enumerate(zip(recording.times, recording.codes, strict=True)):
        step, outcome = decode(code)
        if step is Step.ATTEMPT:
            segments.append([])
        if segments:
            segments[-1].append((at, step, outcome, index))
    return segments


def attempt_from_events(
    events: list[tuple[float, Step, Outcome, int]], failures: dict[int, str]
) -> AttemptTrace:
    """Phases of one attempt from its events (the first is the attempt marker)."""
    attempt = AttemptTrace(start=events[0][0], end=events[-1][0])
    started: dict[Step, float] = {}
    ended: dict[Step, float] = {}
    for at, step, outcome, index in events[1:]:
        if step in (Step.OTHER, Step.RESPONSE_CLOSED):
            continue
        if attempt.first_network is None:
            attempt.first_network = at
        if outcome is Outcome.STARTED:
            started.setdefault(step, at)
            continue
        ended[step] = at
        if outcome is Outcome.FAILED and failures.get(index) == _CLOSED_BY_CLIENT:
            continue  # the SDK closed a finished stream ([DONE] seen): not a failure
        if outcome is Outcome.FAILED and attempt.failed_step is None:
            attempt.failed_step = step.name.lower()
            attempt.error_type = failures.get(index, "Error")
            attempt.error_kind = kind_of_transport_failure(attempt.error_type)

    def span(first: Step, last: Step) -> float:
        if first in started and last in ended:
            return max(0.0, ended[last] - started[first])
        return 0.0

    if attempt.first_network is not None:
        attempt.reused_connection = Step.CONNECT not in started
    attempt.connect = span(Step.CONNECT, Step.CONNECT)
    attempt.tls = span(Step.TLS, Step.TLS)
    send_last = Step.SEND_BODY if Step.SEND_BODY in ended else Step.SEND_HEADERS
    attempt.send = span(Step.SEND_HEADERS, send_last)
    attempt.sent = ended.get(send_last)
    if Step.RECEIVE_HEADERS in ended:
        waited_from = ended.get(send_last, started.get(Step.RECEIVE_HEADERS, ended[Step.RECEIVE_HEADERS]))
        attempt.headers_end = ended[Step.RECEIVE_HEADERS]
        attempt.server_wait = max(0.0, attempt.headers_end - waited_from)
    if Step.RECEIVE_BODY in ended and attempt.headers_end is not None:
        attempt.body_end = ended[Step.RECEIVE_BODY]
        attempt.download = max(0.0, attempt.body_end - attempt.headers_end)
    return attempt


def _apply_response(attempt: AttemptTrace, response: AttemptResponse) -> None:
    attempt.status = response.status
    attempt.x_request_id = response.x_request_id
    attempt.processing_ms = response.processing_ms
    status_kind = kind_of_status(response.status)
    if status_kind is not None:
        attempt.error_kind = status_kind
        attempt.error_type = f"HTTP {response.status}"


def _stream_timing(recording: CallRecording, end: float) -> tuple[float, float, list[Interval]]:
    """(time blocked waiting for chunks, caller time between chunks, blocked intervals).

    The blocked time includes the SDK's CPU work on each chunk (SSE and JSON
    parsing, model building); the caller of this function moves that to local.
    """
    requested, ready = recording.chunk_requested, recording.chunk_ready
    if not requested or recording.exited is None:
        return 0.0, 0.0, []
    blocked: list[Interval] = [(requested[k], ready[k]) for k in range(len(ready))]
    if len(requested) > len(ready):  # the last request ended the stream (or failed)
        blocked.append((requested[-1], end))
    waited = sum(b - a for a, b in blocked)
    caller = requested[0] - recording.exited
    caller += sum(requested[k + 1] - ready[k] for k in range(min(len(ready), len(requested) - 1)))
    if len(requested) == len(ready):  # closed by the caller while it held the last chunk
        caller += end - ready[-1]
    return waited, max(0.0, caller), blocked


def _content_timing(recording: CallRecording) -> tuple[float | None, list[float], int]:
    first: float | None = None
    last_by_choice: dict[int, float] = {}
    gaps: list[float] = []
    count = 0
    for at, choice in zip(recording.chunk_ready, recording.chunk_choice, strict=True):
        if choice < 0:
            continue
        count += 1
        if first is None:
            first = at
        previous = last_by_choice.get(choice)
        if previous is not None:
            gaps.append(at - previous)
        last_by_choice[choice] = at
    ttft = None if first is None else first - recording.entered
    return ttft, gaps, count


def trace_call(recording: CallRecording) -> RequestTrace:
    """Derive a :class:`RequestTrace` from a recording. Pure: safe on unfinished calls."""
    attempts = [attempt_from_events(seg, recording.failures) for seg in _split_attempts(recording)]
    for response in recording.responses:
        if 0 <= response.attempt < len(attempts):
            _apply_response(attempts[response.attempt], response)

    last_event = recording.times[-1] if recording.times else recording.entered
    exited = recording.exited if recording.exited is not None else last_event
    end = max(exited, last_event)
    if recording.stream_ended is not None:
        end = max(end, recording.stream_ended)

    phases = dict.fromkeys(PHASES, 0.0)
    network_intervals: list[Interval] = []
    backoff_intervals: list[Interval] = []
    for index, attempt in enumerate(attempts):
        for name in ("connect", "tls", "send", "server_wait"):
            phases[name] += getattr(attempt, name)
        phases["queue"] += attempt.queue
        phases["server_processing"] += (attempt.processing_ms or 0.0) / 1000.0
        if attempt.first_network is not None:
            network_until = attempt.body_end or attempt.headers_end or attempt.end
            if recording.stream and index == len(attempts) - 1 and attempt.headers_end is not None:
                network_until = attempt.headers_end
            network_intervals.append((attempt.first_network, network_until))
        if index > 0:
            backoff_intervals.append((attempts[index - 1].end, attempt.start))
    phases["backoff"] = sum(b - a for a, b in backoff_intervals)
    phases["local_pre"] = (attempts[0].start - recording.entered) if attempts else (end - recording.entered)

    ttft, itl, content_chunks = None, [], 0
    if attempts:
        last = attempts[-1]
        is_streamed_body = recording.stream and last.headers_end is not None and last.status == 200
        if is_streamed_body:
            waited, caller, blocked = _stream_timing(recording, end)
            parsing = min(waited, sum(recording.chunk_cpu))
            phases["download"] += sum(a.download for a in attempts[:-1]) + waited - parsing
            phases["caller"] = caller
            network_intervals.extend(blocked)
            # Building the stream object, then parsing every chunk: the SDK's local work.
            phases["local_post"] = max(0.0, exited - last.headers_end) + parsing
            ttft, itl, content_chunks = _content_timing(recording)
        else:
            phases["download"] += sum(a.download for a in attempts)
            # Closing the response and parsing the body are the SDK's local work.
            data_end = last.body_end or last.headers_end or last.end
            phases["local_post"] = max(0.0, end - data_end)

    error_kind = recording.error_kind
    if attempts and error_kind is not None:
        last = attempts[-1]
        # The last attempt failed the way the caller saw it: a 200 whose body was not JSON, or a
        # stream cut mid-body (a transport error after the headers is the stream's interruption).
        if last.error_kind is None or (error_kind == STREAM_INTERRUPTED and last.status == 200):
            last.error_kind = error_kind
            last.error_type = recording.error_type

    output_tokens = recording.usage_output_tokens
    if output_tokens is None and recording.stream:
        output_tokens = content_chunks or None
    tpot = None
    if ttft is not None and output_tokens:
        per_choice = output_tokens / max(1, recording.n)
        if per_choice > 1:
            tpot = (end - recording.entered - ttft) / (per_choice - 1)

    return RequestTrace(
        call_id=recording.call_id,
        started_at=recording.started_at,
        entered=recording.entered,
        end=end,
        model=recording.model,
        n=recording.n,
        stream=recording.stream,
        attempts=attempts,
        phases=phases,
        cpu_s=recording.cpu_s,
        error_kind=error_kind,
        error_type=recording.error_type,
        idempotency_key=recording.idempotency_key,
        network_intervals=network_intervals,
        backoff_intervals=backoff_intervals,
        ttft_s=ttft,
        itl_s=itl,
        tpot_s=tpot,
        output_tokens=output_tokens,
        input_tokens=recording.usage_input_tokens,
        chunks=len(recording.chunk_ready),
        finished=recording.finished,
        interrupted=recording.interrupted,
    )


def network_total(phases: dict[str, float]) -> float:
    return sum(phases[name] for name in NETWORK_PHASES)


def local_total(phases: dict[str, float]) -> float:
    return sum(phases[name] for name in LOCAL_PHASES)
