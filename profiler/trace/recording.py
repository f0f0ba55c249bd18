"""The raw record of one SDK call, written on the hot path and read later.

Everything here is cheap to append to: timestamps go into ``array('d')`` and
event codes into a ``bytearray``. Phases are derived afterwards by pure
functions in :mod:`profiler.trace.derive`, never while the call runs.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import count

from profiler.trace.events import ATTEMPT_STARTED

_NO_STAMP = float("nan")


@dataclass(slots=True)
class AttemptResponse:
    """One attempt's response: its status when the headers came, and the three headers we read.

    The headers are kept as the HTTP client handed them over and read when the call is derived
    (in the monitor's worker, not in the request that made the call); no other header is read."""

    attempt: int  # index of the attempt these headers belong to
    status: int
    # perf_counter when the HTTP client handed the headers over: the only timing of an attempt
    # through a transport that reports no steps (litellm's aiohttp transport, a mock transport).
    at: float | None = None
    headers: Mapping[str, str] | None = None  # case-insensitive, as httpx's are

    @property
    def x_request_id(self) -> str | None:
        return None if self.headers is None else self.headers.get("x-request-id")

    @property
    def processing_ms(self) -> float | None:
        """openai-processing-ms, when the server sent a number."""
        value = None if self.headers is None else self.headers.get("openai-processing-ms")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    @property
    def retry_after(self) -> str | None:
        return None if self.headers is None else self.headers.get("retry-after")


@dataclass(init=False, eq=False)
class CallRecording:
    """Everything measured about one SDK call.

    Fields with a default stay class attributes until set: a call sets a handful of them, and
    building a recording is on the hot path of every call.
    """

    call_id: int
    entered: float  # perf_counter at SDK entry
    started_at: float  # unix time at SDK entry, for humans
    operation: str = "chat"
    api: str = "chat.completions"
    model: str | None = None
    n: int = 1
    stream: bool = False
    exited: float | None = None  # perf_counter when the SDK call returned or raised
    cpu_s: float | None = None
    times: array = field(default_factory=lambda: array("d"))  # set by __init__
    codes: bytearray = field(default_factory=bytearray)
    failures: dict[int, str] = field(default_factory=dict)  # event index -> exception class name
    responses: list[AttemptResponse] = field(default_factory=list)
    # The first attempt's request headers, kept as the HTTP client made them: its Idempotency-Key
    # (the SDK sends the same one on every retry) is read when the call is derived, off its path.
    request_headers: Mapping[str, str] | None = None
    error_kind: str | None = None  # what the caller saw, if the call failed
    error_type: str | None = None  # the exception's class name, never its message
    # Streams: one entry per chunk handed to the caller (empty tuples until ``begin_stream``: most calls
    # do not stream, and four arrays fewer per call is a tenth of what recording one costs).
    chunk_requested: Sequence[float] = ()  # caller asked for the next chunk
    chunk_ready: Sequence[float] = ()  # the SDK handed it over
    chunk_choice: Sequence[int] = ()  # choice index of content, -1 if none
    chunk_cpu: Sequence[float] = ()  # CPU spent inside the SDK on each chunk
    stream_ended: float | None = None
    stream_finished_choices: int = 0  # choices that sent a finish_reason
    # Every read of the response, when the network backend stamps arrivals (profiler.trace.netio):
    # when its last byte reached the machine (NaN: no stamp), when the program got it, and whether
    # that arrival holds for all of its bytes (one server write) or is only an upper bound.
    read_arrived: Sequence[float] = ()
    read_returned: Sequence[float] = ()
    read_exact: Sequence[int] = ()
    # Four integers per read when the backend says where its bytes lie (netio's ``Where``): local
    # port, first and past-the-last offset in the TCP stream, kernel stamp in ns; a packet capture
    # turns them into exact arrivals (profiler.trace.wire).
    read_where: Sequence[int] = ()
    write_entered: Sequence[float] = ()  # when each write of the request entered the kernel
    write_where: Sequence[int] = ()  # as read_where, the last being the wall clock (ns) at ``entered``
    usage_output_tokens: int | None = None
    usage_input_tokens: int | None = None
    interrupted: bool = False  # cut short by Ctrl-C or exit: kept, but not counted as a failure
    method: str | None = None  # the public SDK method the caller called, when it is one we mark
    server_address: str | None = None  # the API's host and port (OTel server.address / server.port)
    server_port: int | None = None
    scheduled: float | None = None  # perf_counter when an open-loop generator meant it to start
    stream_wrapped: bool = False  # its stream's chunks are being timed
    on_done: Callable[[CallRecording], None] | None = None

    def __init__(
        self,
        call_id: int,
        entered: float,
        started_at: float,
        on_done: Callable[[CallRecording], None] | None = None,
        **fields: object,
    ) -> None:
        self.call_id, self.entered, self.started_at, self.on_done = call_id, entered, started_at, on_done
        self.times, self.codes, self.failures, self.responses = array("d"), bytearray(), {}, []
        for name, value in fields.items():
            if name not in _FIELD_NAMES:
                raise TypeError(f"CallRecording has no field {name!r}")
            setattr(self, name, value)

    def mark_attempt(self) -> None:
        self.times.append(time.perf_counter())
        self.codes.append(ATTEMPT_STARTED)

    def begin_stream(self) -> None:
        """Make room for the chunk timings (once: a stream timed twice keeps its first arrays)."""
        if not isinstance(self.chunk_ready, array):
            self.chunk_requested, self.chunk_ready = array("d"), array("d")
            self.chunk_choice, self.chunk_cpu = array("i"), array("d")

    def note_read(
        self,
        arrived: float | None,
        returned: float,
        nbytes: int,
        exact: bool,
        where: tuple[int, int, int, int] | None = None,
    ) -> None:
        """The network backend's report of one read (its ``ReadObserver``)."""
        if not isinstance(self.read_exact, bytearray):
            self.read_arrived, self.read_returned, self.read_exact = array("d"), array("d"), bytearray()
            self.read_where = array("q")
        self.read_arrived.append(_NO_STAMP if arrived is None else arrived)  # type: ignore[attr-defined]
        self.read_returned.append(returned)  # type: ignore[attr-defined]
        self.read_exact.append(exact)
        self.read_where.extend(where or _NOWHERE)  # type: ignore[attr-defined]

    def note_write(
        self, entered: float, returned: float, nbytes: int, where: tuple[int, int, int, int] | None = None
    ) -> None:
        """The network backend's report of one write (its ``WriteObserver``)."""
        if not isinstance(self.write_entered, array):
            self.write_entered, self.write_where = array("d"), array("q")
        self.write_entered.append(entered)
        self.write_where.extend(where or _NOWHERE)  # type: ignore[attr-defined]

    @property
    def attempts(self) -> int:
        return self.codes.count(ATTEMPT_STARTED)

    @property
    def idempotency_key(self) -> str | None:
        return None if self.request_headers is None else self.request_headers.get("idempotency-key")

    @property
    def x_request_id(self) -> str | None:
        """The server's id of the call: that of the last response that carried one."""
        for response in reversed(self.responses):
            request_id = response.x_request_id
            if request_id:
                return request_id
        return None

    @property
    def finished(self) -> bool:
        if self.exited is None:
            return False
        return not self.stream or self.error_kind is not None or self.stream_ended is not None

    def done(self) -> None:
        """The call is over for its caller (returned, raised, or its stream ended). Once."""
        on_done, self.on_done = self.on_done, None
        if on_done is not None:
            on_done(self)


_NOWHERE = (0, 0, 0, 0)
_FIELD_NAMES = frozenset(f.name for f in fields(CallRecording))


class Collector:
    """Holds the recordings of one run. Appends are atomic under the GIL.

    ``on_done`` hears of every call as it ends (a progress bar counts it, with
    the same verdict the summary will give: failed when ``error_kind`` is set).
    ``keep=False`` keeps no recording once it is handed to ``on_done``: a
    long-running service feeds its metrics that way without growing.
    ``keep_first=N`` keeps the first N recordings and hands every later one, as
    it ends, to ``overflow`` instead: a long run folds them into streaming
    statistics, so its memory does not grow with its length.
    """

    def __init__(
        self,
        on_done: Callable[[CallRecording], None] | None = None,
        *,
        keep: bool = True,
        arrival_times: bool = False,
        keep_first: int | None = None,
        overflow: Callable[[CallRecording], None] | None = None,
    ) -> None:
        self.recordings: list[CallRecording] = []
        self.on_done = on_done
        self.keep = keep
        self.keep_first = keep_first
        self.overflow = overflow
        self.overflowed = 0  # calls handed to ``overflow`` rather than kept
        # Read kernel arrival times under the SDK's HTTP clients: profiling runs do, a monitored
        # service does not (it costs tens of µs of CPU per read: docs/arrival-times.md).
        self.arrival_times = arrival_times
        # How each HTTP client's arrival times went: "kernel", or why not (one client each).
        self.arrival_notes: dict[str, int] = {}
        self._ids = count(1)
        self.origin = time.perf_counter()
        self.started_at = time.time()

    def new_call(self) -> CallRecording:
        call_id = next(self._ids)  # itertools.count: atomic under the GIL, no lock needed
        recording = CallRecording(
            call_id=call_id, entered=time.perf_counter(), started_at=time.time(), on_done=self.on_done
        )
        if self.keep and (self.keep_first is None or len(self.recordings) < self.keep_first):
            self.recordings.append(recording)
        elif self.keep and self.overflow is not None:
            self.overflowed += 1
            recording.on_done = self._overflowing(self.on_done, self.overflow)
        return recording

    @staticmethod
    def _overflowing(
        first: Callable[[CallRecording], None] | None, overflow: Callable[[CallRecording], None]
    ) -> Callable[[CallRecording], None]:
        def done(recording: CallRecording) -> None:
            if first is not None:
                first(recording)
            overflow(recording)

        return done
