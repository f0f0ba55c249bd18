"""What one API call was, derived: the typed record every reader reads.

Times are seconds since the run's origin (its first clock reading), so a
trace means the same in memory and when loaded back from ``requests.jsonl``.
A call's :attr:`RequestTrace.segments` tile its end-to-end time: every moment
from SDK entry to the end belongs to exactly one leaf phase. The per-phase
totals, the network/back-off intervals of the wall-time split, the TTFT
breakdown and the report's waterfall all come from those segments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from profiler.trace.phases import LOCAL_PHASES, NETWORK_PHASES, PHASE_BY_NAME, Group

Interval = tuple[float, float]


class Segment(NamedTuple):
    """One stretch of a call's time in one phase (``attempt``: its attempt's index, if inside one).

    A named tuple, not a frozen dataclass: a call has about ten, and a frozen dataclass costs
    twice as much to build (the derivation runs on a served request's path, for ``/chat``)."""

    phase: str
    start: float
    end: float
    attempt: int | None = None

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(slots=True)
class AttemptTrace:
    """One HTTP attempt of a call."""

    start: float
    end: float
    reused_connection: bool | None = None  # None: it never reached the network
    sent: float | None = None  # the request fully written
    headers_end: float | None = None  # response headers complete
    body_end: float | None = None
    status: int | None = None
    x_request_id: str | None = None
    processing_ms: float | None = None  # openai-processing-ms, when the server sent one
    error_kind: str | None = None
    error_type: str | None = None
    failed_step: str | None = None
    phases: dict[str, float] = field(default_factory=dict)  # this attempt's share of each phase

    def phase(self, name: str) -> float:
        return self.phases.get(name, 0.0)


@dataclass(slots=True)
class RequestTrace:
    """Everything derived about one SDK call."""

    call_id: int
    started_at: float  # unix time at SDK entry, for humans and log joins
    start: float
    end: float
    model: str | None
    n: int
    stream: bool
    attempts: list[AttemptTrace]
    segments: list[Segment]
    # Every phase of the table, in seconds; None where unknown (e.g. no openai-processing-ms).
    phases: dict[str, float | None]
    operation: str = "chat"  # gen_ai.operation.name
    api: str = "chat.completions"
    cpu_s: float | None = None
    error_kind: str | None = None
    error_type: str | None = None
    idempotency_key: str | None = None
    ttft_s: float | None = None
    ttft_parts: dict[str, float] | None = None  # the TTFT's own phases, summing to it
    itl_s: list[float] = field(default_factory=list)  # from arrival times where stamped, else as seen
    itl_seen_s: list[float] = field(default_factory=list)  # the gaps as the caller saw the chunks
    itl_unknown: int = 0  # gaps left out: the kernel merged the writes, so their arrivals are lost
    # The first content's read was merged by the kernel with later writes (the process read it
    # late): its stamp, so the TTFT's ``server`` part, is an upper bound, ``contention`` a lower one.
    ttft_bounded: bool = False
    arrival_times: bool = False  # its reads carried kernel arrival times
    tpot_s: float | None = None
    output_tokens: int | None = None
    input_tokens: int | None = None
    chunks: int = 0
    finished: bool = True
    interrupted: bool = False
    worker: str | None = None  # which load worker made it, in a merged distributed run
    method: str | None = None  # the public SDK method called (chat.completions.create …), when known
    server_address: str | None = None
    server_port: int | None = None
    scheduled: float | None = None  # when an open-loop generator meant it to start (s since origin)

    @property
    def schedule_lag(self) -> float | None:
        """How long the call waited in the client after it was due (open loop only)."""
        return None if self.scheduled is None else max(0.0, self.start - self.scheduled)

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @property
    def e2e(self) -> float:
        return self.end - self.start

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

    @property
    def network(self) -> float:
        return _total(self.phases, NETWORK_PHASES)

    @property
    def local(self) -> float:
        return _total(self.phases, LOCAL_PHASES)

    def intervals(self, group: Group) -> Iterator[Interval]:
        """The stretches of this call spent in one group's leaves."""
        for segment in self.segments:
            if PHASE_BY_NAME[segment.phase].group is group:
                yield segment.start, segment.end

    def breakdown(self) -> dict[str, float | None]:
        """Every phase plus the ``network`` and ``local`` totals, in seconds."""
        return {**self.phases, "network": self.network, "local": self.local}


def _total(phases: dict[str, float | None], names: tuple[str, ...]) -> float:
    total = 0.0  # a loop, not sum() of a generator: /chat answers with these in its request
    for name in names:
        total += phases[name] or 0.0
    return total
