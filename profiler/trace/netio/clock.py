"""Moving a kernel CLOCK_REALTIME stamp into the ``time.perf_counter()`` domain.

The stamp's age is measured on the wall clock, right after recvmsg returned, and
subtracted from perf_counter read at the same moment:

    arrived_perf = perf_now - (real_now - kernel_ts)

Why per read and not one offset computed at start-up: NTP slews CLOCK_REALTIME
against CLOCK_MONOTONIC (up to 500 ppm), so a fixed offset drifts by up to 0.5 ms per
second of run time; here the slew only acts over the stamp's age (ms), i.e. nanoseconds.
The error left is the gap between the two clock reads plus the wall clock's own step, if
one happens in between. That gap is ~0.1 µs, but a thread can lose the GIL between two
calls for as long as another thread keeps it (5 ms and more at 32 threads), which would
move an arrival that much early, or a write that much late. So the pair is read as
perf, wall, perf and read again when the two perf reads lie too far apart.
"""

from __future__ import annotations

from time import perf_counter, time_ns

# A stamp this far in the future of the wall clock means the clock was stepped back:
# no age can be computed, and none is invented.
_FUTURE_TOLERANCE_NS = 1_000_000
# Two perf_counter reads around a wall-clock read take ~0.1 µs; this far apart, the thread
# was held up between them, and the pair is read again.
_PAIR_SLACK_S = 20e-6
_PAIR_TRIES = 3


def clock_pair() -> tuple[float, int]:
    """(perf_counter, wall clock ns) read at one moment, within ``_PAIR_SLACK_S``.

    After ``_PAIR_TRIES`` held-up reads, the tightest pair is kept.
    """
    best_gap, best = float("inf"), (0.0, 0)
    for _ in range(_PAIR_TRIES):
        before = perf_counter()
        real = time_ns()
        gap = perf_counter() - before
        if gap <= _PAIR_SLACK_S:
            return before, real
        if gap < best_gap:
            best_gap, best = gap, (before, real)
    return best


def perf_from_realtime(kernel_ns: int, real_now_ns: int, perf_now: float) -> float | None:
    """The perf_counter time of a CLOCK_REALTIME stamp, given a pair of clock reads taken together."""
    age_ns = real_now_ns - kernel_ns
    if age_ns < -_FUTURE_TOLERANCE_NS:
        return None
    return perf_now - max(age_ns, 0) * 1e-9


def arrival_in_perf(kernel_ns: int | None) -> tuple[float | None, float]:
    """(arrival in perf_counter time or None, perf_counter now) for a stamp just received."""
    if kernel_ns is None:
        return None, perf_counter()
    perf_now, real_now = clock_pair()
    return perf_from_realtime(kernel_ns, real_now, perf_now), perf_now
