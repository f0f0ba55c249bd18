"""Moving a kernel CLOCK_REALTIME stamp into the ``time.perf_counter()`` domain.

The stamp's age is measured on the wall clock, right after recvmsg returned, and
subtracted from perf_counter read at the same moment:

    arrived_perf = perf_now - (real_now - kernel_ts)

Why per read and not one offset computed at start-up: NTP slews CLOCK_REALTIME
against CLOCK_MONOTONIC (up to 500 ppm), so a fixed offset drifts by up to 0.5 ms per
second of run time; here the slew only acts over the stamp's age (ms), i.e. nanoseconds.
The error left is the gap between the two clock reads (~0.1 µs, more only if the thread
is descheduled between them) plus the wall clock's own step, if one happens in between.
"""

from __future__ import annotations

import time

# A stamp this far in the future of the wall clock means the clock was stepped back:
# no age can be computed, and none is invented.
_FUTURE_TOLERANCE_NS = 1_000_000


def perf_from_realtime(kernel_ns: int, real_now_ns: int, perf_now: float) -> float | None:
    """The perf_counter time of a CLOCK_REALTIME stamp, given a pair of clock reads taken together."""
    age_ns = real_now_ns - kernel_ns
    if age_ns < -_FUTURE_TOLERANCE_NS:
        return None
    return perf_now - max(age_ns, 0) * 1e-9


def arrival_in_perf(kernel_ns: int | None) -> tuple[float | None, float]:
    """(arrival in perf_counter time or None, perf_counter now) for a stamp just received."""
    perf_now = time.perf_counter()
    if kernel_ns is None:
        return None, perf_now
    return perf_from_realtime(kernel_ns, time.time_ns(), perf_now), perf_now
