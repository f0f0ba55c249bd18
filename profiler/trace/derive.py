"""From a call's recorded events to its typed trace: pure functions, no clock, no I/O.

A call's time is cut into :class:`Segment` s that tile it from SDK entry to the end
(docs/metrics.md has the definitions)::

    local_pre │ queue │ connect │ tls │ send │ server_wait │ download │ local_post
              └──────────────── attempt ──────────────────┘ (backoff between attempts)

Inside an attempt each httpcore step's span belongs to its phase, and
``server_wait`` runs from the moment the request was fully written; the other
gaps between steps, where the client had nothing outstanding on the network
(between writing the headers and the body, say), are the client's own process
(``contention``). A stream's body is cut per chunk instead: time
blocked waiting for a chunk (``download``), the SDK parsing it (``local_post``)
and the caller's own time between chunks (``caller``).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from itertools import groupby

from profiler.trace.events import Outcome, Step, encode
from profiler.trace.kinds import STREAM_INTERRUPTED, kind_of_status, kind_of_transport_failure
from profiler.trace.model import AttemptTrace, RequestTrace, Segment
from profiler.trace.phases import PHASES
from profiler.trace.recording import AttemptResponse, CallRecording

# A segment while the trace is derived: (phase, start, end, attempt), in raw perf_counter times. A tuple,
# not a Segment: each is made once, as a Segment of the run's times, at the end.
_Span = tuple[str, float, float, int | None]
_CLOSED_BY_CLIENT = "GeneratorExit"
_PHASE_NAMES = tuple(phase.name for phase in PHASES)
_SEND_STEPS = (Step.SEND_HEADERS, Step.SEND_BODY)
_STEP_PHASE: dict[Step, str] = {
    Step.CONNECT: "connect",
    Step.TLS: "tls",
    Step.SEND_HEADERS: "send",
    Step.SEND_BODY: "send",
    Step.RECEIVE_HEADERS: "server_wait",
    Step.RECEIVE_BODY: "download",
}
# The parts of a TTFT: the phases, with the wait for the server's bytes in one part.
_TTFT_PART = {phase.name: phase.name for phase in PHASES if phase.leaf} | {
    "server_wait": "server",
    "download": "server",
}
TTFT_PARTS: tuple[str, ...] = tuple(dict.fromkeys(_TTFT_PART.values()))


# For the one pass over a call's events: each code's step, and its outcome as a plain int.
_STEP_OF: dict[int, tuple[Step, int]] = {
    encode(step, outcome): (step, int(outcome)) for step in Step for outcome in Outcome
}
_ATTEMPT, _CONNECT = Step.ATTEMPT, Step.CONNECT
_SEND_HEADERS, _SEND_BODY = Step.SEND_HEADERS, Step.SEND_BODY
_RECEIVE_HEADERS, _RECEIVE_BODY = Step.RECEIVE_HEADERS, Step.RECEIVE_BODY
_STARTED, _FAILED = int(Outcome.STARTED), int(Outcome.FAILED)


def _read_attempts(recording: CallRecording) -> list[_Attempt]:
    """The call's events sorted into attempts (each begins at our request hook's mark), in one pass."""
    attempts: list[_Attempt] = []
    attempt: _Attempt | None = None
    opened: dict[Step, float] = {}
    failures = recording.failures
    step_of = _STEP_OF
    for index, (at, code) in enumerate(zip(recording.times, recording.codes, strict=True)):
        step, outcome = step_of[code]
        if step is _ATTEMPT:
            attempt = _Attempt(at)
            attempts.append(attempt)
            opened = {}
            continue
        if attempt is None:
            continue
        attempt.end = attempt.trace.end = at
        if step not in _STEP_PHASE:
            continue
        if outcome == _STARTED:
            opened.setdefault(step, at)
            if step is _CONNECT:
                attempt.connected = True
            continue
        attempt.spans.append((opened.pop(step, at), at, step))
        trace = attempt.trace
        if outcome == _FAILED:
            if failures.get(index) == _CLOSED_BY_CLIENT:
                continue  # the SDK closed a finished stream ([DONE] seen): not a failure
            if trace.failed_step is None:
                trace.failed_step = step.name.lower()
                trace.error_type = failures.get(index, "Error")
                trace.error_kind = kind_of_transport_failure(trace.error_type)
            continue
        if step is _SEND_HEADERS or step is _SEND_BODY:
            trace.sent = at
        elif step is _RECEIVE_HEADERS:
            trace.headers_end = at
        elif step is _RECEIVE_BODY:
            trace.body_end = at
    for attempt in attempts:
        if attempt.spans:
            attempt.spans.sort()
            attempt.trace.reused_connection = not attempt.connected
    return attempts


class _Attempt:
    """One attempt's events sorted into step spans (raw perf_counter times)."""

    __slots__ = ("connected", "end", "opaque", "spans", "start", "trace")

    def __init__(self, start: float) -> None:
        self.start = self.end = start
        self.spans: list[tuple[float, float, Step]] = []
        self.trace = AttemptTrace(start=start, end=start)
        self.connected = False
        self.opaque = False  # its transport reported no steps: only its start and its headers are known

    def apply(self, response: AttemptResponse) -> None:
        if not self.spans and response.at is not None and response.at > self.start:
            # No httpcore under it (an aiohttp transport, a mock): the exchange happened between the
            # attempt's start and its headers reaching the client, all of it network as far as we
            # can tell (connect and send inside, not told apart; reuse unknown).
            self.opaque = True
            self.end = self.trace.end = self.trace.headers_end = response.at
        self.trace.status = response.status
        self.trace.x_request_id = response.x_request_id
        self.trace.processing_ms = response.processing_ms
        status_kind = kind_of_status(response.status)
        if status_kind is not None:
            self.trace.error_kind = status_kind
            self.trace.error_type = f"HTTP {response.status}"


class _Reads:
    """The call's reads with kernel arrival times, looked up by when the program got them."""

    def __init__(self, recording: CallRecording) -> None:
        self.returned = recording.read_returned
        self.arrived = recording.read_arrived
        self.exact = recording.read_exact
        self.stamped = any(not math.isnan(a) for a in self.arrived)

    def last_arrival(self, after: float, until: float) -> float | None:
        """When the bytes of the last read returned in ``(after, until]`` arrived (None: no such read)."""
        index = bisect_right(self.returned, until) - 1
        if index < 0 or self.returned[index] <= after or math.isnan(self.arrived[index]):
            return None
        return self.arrived[index]

    def delivering(self, at: float) -> int | None:
        """The index of the last read returned by ``at``: the read a chunk handed over then came in."""
        index = bisect_right(self.returned, at) - 1
        return index if index >= 0 and not math.isnan(self.arrived[index]) else None

    def any_between(self, after: float, until: float) -> bool:
        return bisect_right(self.returned, until) > bisect_left(self.returned, after)


class _Writes:
    """The call's writes (the network backend's reports): when each entered the kernel."""

    def __init__(self, recording: CallRecording) -> None:
        self.entered = recording.write_entered

    def last_entered(self, after: float, until: float) -> float | None:
        index = bisect_right(self.entered, until) - 1
        return self.entered[index] if index >= 0 and self.entered[index] >= after else None


class _Timeline:
    """Appends segments in time order; zero-length ones are dropped."""

    def __init__(self, exited: float | None, reads: _Reads, writes: _Writes) -> None:
        self.segments: list[_Span] = []
        self.exited = exited
        self.reads = reads
        self.writes = writes

    def waited(
        self, phase: str, start: float, end: float, attempt: int | None, reads_until: float | None = None
    ) -> None:
        """A wait for the network until ``end``, cut at the read's arrival when the kernel stamped it.

        Bytes that had arrived while the program had not read them yet are its own lateness:
        ``contention``, not ``phase``. ``reads_until``: where to look for the read (default ``end``).
        """
        arrived = self.reads.last_arrival(start, end if reads_until is None else reads_until)
        if arrived is None:
            self.add(phase, start, end, attempt)
            return
        cut = min(max(arrived, start), end)
        self.add(phase, start, cut, attempt)
        self.add("contention", cut, end, attempt)

    def add(self, phase: str, start: float, end: float, attempt: int | None = None) -> None:
        if end > start:
            self.segments.append((phase, start, end, attempt))

    def local_until(self, start: float, end: float, attempt: int | None, before_exit: str) -> None:
        """Local time: ``before_exit`` while the SDK call runs, the caller's own after it returned."""
        split = end if self.exited is None else min(max(start, self.exited), end)
        self.add(before_exit, start, split, attempt)
        self.add("caller", split, end, attempt)

    def steps(self, attempt: _Attempt, index: int, until_headers: bool) -> float:
        """Lay out one attempt's steps from its start; returns where its data ended."""
        cursor = attempt.start
        first = True
        spans = attempt.spans
        for position, (began, ended, step) in enumerate(spans):
            if until_headers and step is Step.RECEIVE_BODY:
                continue
            if step in _SEND_STEPS and (
                position + 1 == len(spans) or spans[position + 1][2] not in _SEND_STEPS
            ):
                # The request left when its last write entered the kernel; a thread late to get the GIL
                # back after it is not sending any more: the server is already at work.
                out = self.writes.last_entered(began, ended)
                if out is not None:
                    ended = attempt.trace.sent = max(began, out)
            if first:
                self.add("queue", cursor, began, index)
                cursor, first = max(cursor, began), False
            elif step is Step.RECEIVE_HEADERS:
                began = cursor  # once the request is out, the server is at work: its wait starts there
            elif began > cursor:
                self.local_until(cursor, began, index, "contention")
            if step in (Step.RECEIVE_HEADERS, Step.RECEIVE_BODY):
                self.waited(_STEP_PHASE[step], max(began, cursor), ended, index)
            else:
                self.add(_STEP_PHASE[step], max(began, cursor), ended, index)
            cursor = max(cursor, ended)
            if until_headers and step is Step.RECEIVE_HEADERS:
                break
        if attempt.opaque:
            self.add("server_wait", cursor, attempt.end, index)
            return attempt.end
        if first:  # it never reached the network: the whole attempt waited for a connection
            self.add("queue", cursor, attempt.end, index)
            cursor = attempt.end
        return cursor

    def chunk_wait(self, start: float, end: float, index: int, handed: float | None = None) -> None:
        """The time blocked in ``next()`` until ``end`` (where parsing began): waiting for bytes, or —
        when no read was needed, the chunk's bytes being in the buffer already — the process's own
        time (with stamped reads).

        The read that delivered the chunk may return a little after ``end``: parsing is estimated
        from the thread's CPU time, which also counts the read's own. So the read is looked for up
        to ``handed``, the moment the chunk was handed over."""
        until = end if handed is None else max(end, handed)
        if self.reads.stamped and not self.reads.any_between(start, until):
            self.add("contention", start, end, index)
        else:
            self.waited("download", start, end, index, reads_until=until)

    def stream_body(self, recording: CallRecording, headers_end: float, end: float, index: int) -> None:
        """A consumed stream: the SDK building it, then each chunk waited for, parsed, handed over."""
        requested, ready, cpu = recording.chunk_requested, recording.chunk_ready, recording.chunk_cpu
        exited = recording.exited if recording.exited is not None else headers_end
        self.add("local_post", headers_end, exited, index)
        cursor = max(headers_end, exited)
        for k, handed in enumerate(ready):
            self.add("caller", cursor, requested[k])
            parsing = min(cpu[k], handed - requested[k]) if k < len(cpu) else 0.0
            self.chunk_wait(requested[k], handed - parsing, index, handed)
            self.add("local_post", handed - parsing, handed, index)
            cursor = handed
        if len(requested) > len(ready):  # the last request ended the stream (or failed)
            self.add("caller", cursor, requested[-1])
            self.chunk_wait(requested[-1], end, index)
        else:  # closed by the caller while it held the last chunk
            self.add("caller", cursor, end)


def _content_timing(recording: CallRecording) -> tuple[float | None, list[float], int]:
    """(when the first output chunk was handed over, gaps per choice as the caller saw them, chunks)."""
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
    return first, gaps, count


# Two reads of one kernel buffer: their stamp's conversions to perf_counter differ by the gap between
# the two clock reads of each conversion (0.1–0.5 µs measured, docs/arrival-times.md).
_SAME_STAMP = 2e-6


def _chunk_arrivals(recording: CallRecording, reads: _Reads) -> list[tuple[int, int | None, float | None]]:
    """(choice, read, arrival or None) per output chunk, in order: when its bytes reached the machine.

    A chunk's bytes came in the last read returned before it was handed over. A read's stamp
    is that of the kernel buffer its last byte came from, and while the program is late the
    kernel merges later writes into that buffer and gives it the newest stamp: reads of one
    merged buffer share a stamp, the last of them exact, the earlier ones only bounded by it.
    So the reads are grouped (consecutive reads with one stamp, up to an exact one), and a
    group's chunks cut into server rounds (a round ends where a choice repeats: the server
    writes one chunk per choice per token, microseconds apart). When the group ends with an
    exact read, the chunks of its last round arrived at the stamp (within those microseconds)
    and the earlier rounds' arrivals are lost; when it does not, the buffer took in later
    writes still and every arrival in it is lost — None, never guessed.
    """
    chunks = [
        (choice, reads.delivering(at))
        for at, choice in zip(recording.chunk_ready, recording.chunk_choice, strict=True)
        if choice >= 0
    ]
    group_of: list[int] = []  # per read: the first read of its group
    for index, arrived in enumerate(reads.arrived):
        # One kernel stamp, converted to perf_counter at each read: equal within the conversion's error.
        joined = (
            index > 0
            and not reads.exact[index - 1]
            and abs(reads.arrived[index - 1] - arrived) <= _SAME_STAMP
        )
        group_of.append(group_of[-1] if joined else index)
    arrivals: list[tuple[int, int | None, float | None]] = []
    for group, grouped in groupby(chunks, key=lambda chunk: None if chunk[1] is None else group_of[chunk[1]]):
        members = list(grouped)
        final_read = members[-1][1]
        if group is None or final_read is None or not reads.exact[final_read]:
            # No stamp, or the buffer took in a later write after this read (its stamp overwritten
            # again): even the last chunks' arrival is only bounded.
            arrivals += [(choice, read, None) for choice, read in members]
            continue
        last_round, seen = 0, set()  # where the group's last server round starts
        for position, (choice, _) in enumerate(members):
            if choice in seen:
                last_round, seen = position, set()
            seen.add(choice)
        arrivals += [
            (choice, read, reads.arrived[read] if position >= last_round and read is not None else None)
            for position, (choice, read) in enumerate(members)
        ]
    return arrivals


def _arrival_gaps(arrivals: list[tuple[int, int | None, float | None]], reads: _Reads) -> list[float | None]:
    """Gaps per choice between the arrivals of successive output chunks, in arrival order; None where
    a gap is unknown (the kernel merged the writes, so an arrival is only an upper bound).

    Two chunks of one exact read were written together: a gap of 0."""
    gaps: list[float | None] = []
    last_by_choice: dict[int, tuple[int | None, float | None]] = {}
    for choice, read, arrived in arrivals:
        if choice not in last_by_choice:
            last_by_choice[choice] = (read, arrived)
            continue
        (previous_read, previous), last_by_choice[choice] = last_by_choice[choice], (read, arrived)
        if read is not None and read == previous_read and reads.exact[read]:
            gaps.append(0.0)
        elif arrived is None or previous is None:
            gaps.append(None)
        else:
            gaps.append(arrived - previous)
    return gaps


def itl_by_gap(recording: CallRecording) -> list[float | None] | None:
    """Every inter-token gap of a streamed call from arrival times, in order, None where unknown;
    None without arrival times. ``RequestTrace.itl_s`` holds the known ones, ``itl_unknown`` counts
    the rest: this keeps their places, to line them up with what a server says it sent."""
    reads = _Reads(recording)
    return _arrival_gaps(_chunk_arrivals(recording, reads), reads) if reads.stamped else None


def _ttft_parts(segments: list[_Span], until: float) -> dict[str, float]:
    parts = dict.fromkeys(TTFT_PARTS, 0.0)
    for phase, start, end, _ in segments:
        if start >= until:
            break
        parts[_TTFT_PART[phase]] += min(end, until) - start
    return parts


def _shift(trace: AttemptTrace, origin: float) -> None:
    trace.start -= origin
    trace.end -= origin
    if trace.sent is not None:
        trace.sent -= origin
    if trace.headers_end is not None:
        trace.headers_end -= origin
    if trace.body_end is not None:
        trace.body_end -= origin


def trace_call(recording: CallRecording, origin: float = 0.0) -> RequestTrace:
    """Derive a :class:`RequestTrace` from a recording; times become seconds since ``origin``.

    Pure, and safe on unfinished calls (a run interrupted mid-call).
    """
    attempts = _read_attempts(recording)
    for response in recording.responses:
        if 0 <= response.attempt < len(attempts):
            attempts[response.attempt].apply(response)

    last_event = recording.times[-1] if recording.times else recording.entered
    end = max(recording.exited if recording.exited is not None else last_event, last_event)
    if recording.stream_ended is not None:
        end = max(end, recording.stream_ended)

    reads = _Reads(recording)
    timeline = _Timeline(recording.exited, reads, _Writes(recording))
    timeline.add("local_pre", recording.entered, attempts[0].start if attempts else end)
    for index, attempt in enumerate(attempts):
        is_last = index == len(attempts) - 1
        streamed = (
            is_last
            and recording.stream
            and attempt.trace.headers_end is not None
            and attempt.trace.status == 200
            and len(recording.chunk_requested) > 0
        )
        data_end = timeline.steps(attempt, index, until_headers=streamed)
        if not is_last:
            timeline.add("backoff", data_end, attempts[index + 1].start)
        elif streamed:
            assert attempt.trace.headers_end is not None
            timeline.stream_body(recording, attempt.trace.headers_end, end, index)
        else:
            timeline.local_until(data_end, end, None, "local_post")
    segments = timeline.segments

    traces = [attempt.trace for attempt in attempts]
    sums: dict[str, float] = {}
    for phase, start, stop, attempt_index in segments:  # the call's totals and each attempt's share
        sums[phase] = sums.get(phase, 0.0) + (stop - start)
        if attempt_index is not None:
            shares = traces[attempt_index].phases
            shares[phase] = shares.get(phase, 0.0) + (stop - start)
    phases: dict[str, float | None] = dict.fromkeys(_PHASE_NAMES, 0.0)  # table order
    phases.update(sums)
    reported = [trace.processing_ms for trace in traces if trace.processing_ms is not None]
    phases["server_processing"] = sum(reported) / 1000.0 if reported else None

    error_kind = recording.error_kind
    if traces and error_kind is not None:
        last = traces[-1]
        # The last attempt failed the way the caller saw it: a 200 whose body was not JSON, or a
        # stream cut mid-body (a transport error after the headers is the stream's interruption).
        if last.error_kind is None or (error_kind == STREAM_INTERRUPTED and last.status == 200):
            last.error_kind = error_kind
            last.error_type = recording.error_type

    first_content, itl_seen, content_chunks = _content_timing(recording)
    arrivals = _chunk_arrivals(recording, reads) if reads.stamped else []
    itl, itl_unknown = itl_seen, 0
    if reads.stamped:
        gaps = _arrival_gaps(arrivals, reads)
        itl = [gap for gap in gaps if gap is not None]
        itl_unknown = len(gaps) - len(itl)
    ttft = None if first_content is None else first_content - recording.entered
    # The first content's arrival is lost when the kernel merged it with a later round of chunks.
    ttft_bounded = bool(arrivals) and arrivals[0][1] is not None and arrivals[0][2] is None
    output_tokens = recording.usage_output_tokens
    if output_tokens is None and recording.stream:
        output_tokens = content_chunks or None
    tpot = None
    if ttft is not None and output_tokens:
        per_choice = output_tokens / max(1, recording.n)
        if per_choice > 1:
            tpot = (end - recording.entered - ttft) / (per_choice - 1)

    for trace in traces:
        _shift(trace, origin)
    return RequestTrace(
        call_id=recording.call_id,
        started_at=recording.started_at,
        start=recording.entered - origin,
        end=end - origin,
        model=recording.model,
        n=recording.n,
        stream=recording.stream,
        operation=recording.operation,
        api=recording.api,
        attempts=traces,
        segments=[Segment(phase, start - origin, stop - origin, at) for phase, start, stop, at in segments],
        phases=phases,
        cpu_s=recording.cpu_s,
        error_kind=error_kind,
        error_type=recording.error_type,
        idempotency_key=recording.idempotency_key,
        ttft_s=ttft,
        ttft_parts=None if first_content is None else _ttft_parts(segments, first_content),
        itl_s=itl,
        itl_seen_s=itl_seen,
        itl_unknown=itl_unknown,
        ttft_bounded=ttft_bounded,
        arrival_times=reads.stamped,
        tpot_s=tpot,
        output_tokens=output_tokens,
        input_tokens=recording.usage_input_tokens,
        chunks=len(recording.chunk_ready),
        finished=recording.finished,
        interrupted=recording.interrupted,
        method=recording.method,
        server_address=recording.server_address,
        server_port=recording.server_port,
        scheduled=None if recording.scheduled is None else recording.scheduled - origin,
    )
