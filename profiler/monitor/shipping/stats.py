"""What a shipper has done so far: the snapshot `stats()` returns, and the reasons a record is dropped."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CLOSED",
    "DROP_REASONS",
    "FORMAT_ERROR",
    "QUEUE_FULL",
    "REJECTED",
    "RETRIES_EXHAUSTED",
    "SENDER_THREAD",
    "SENDER_UNAVAILABLE",
    "SHUTDOWN",
    "TOO_LARGE",
    "ShipperStats",
]

# Refused in the caller's thread by emit(), or (the first three) once encoded, by the encoder thread:
TOO_LARGE = "too_large"
QUEUE_FULL = "queue_full"
FORMAT_ERROR = "format_error"
CLOSED = "closed"
SENDER_THREAD = "sender_thread"
SENDER_UNAVAILABLE = "sender_unavailable"
# Given up on by the sender thread, a whole batch at a time:
REJECTED = "rejected"
RETRIES_EXHAUSTED = "retries_exhausted"
# Written off by close() when its deadline passed:
SHUTDOWN = "shutdown"

DROP_REASONS: tuple[str, ...] = (
    TOO_LARGE,
    QUEUE_FULL,
    FORMAT_ERROR,
    CLOSED,
    SENDER_THREAD,
    SENDER_UNAVAILABLE,
    REJECTED,
    RETRIES_EXHAUSTED,
    SHUTDOWN,
)


@dataclass(frozen=True)
class ShipperStats:
    """One consistent snapshot of a shipper's counters, all taken under one lock.

    At every snapshot ``emitted == sent + dropped_total + queue_depth + in_flight``;
    after ``close()`` the last two are zero. ``dropped`` always has every key of
    `DROP_REASONS`, so dashboards see a stable set of series.
    """

    emitted: int
    sent: int
    dropped: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    queue_depth: int = 0
    queue_bytes: int = 0
    in_flight: int = 0
    batches_sent: int = 0
    last_error: str | None = None

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    @property
    def balanced(self) -> bool:
        """True when every record emitted is accounted for exactly once."""
        return self.emitted == self.sent + self.dropped_total + self.queue_depth + self.in_flight
