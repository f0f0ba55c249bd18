"""The retry policy as pure functions: which answers are retried, and how long to wait before the next try."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

__all__ = [
    "REJECT",
    "RETRY",
    "SENT",
    "RetryPolicy",
    "backoff_delay",
    "outcome_of_status",
    "parse_retry_after",
]

SENT = "sent"
RETRY = "retry"
REJECT = "reject"


def outcome_of_status(status: int) -> str:
    """2xx is delivered; 429 and 5xx are worth another try; anything else will fail the same way again."""
    if 200 <= status < 300:
        return SENT
    if status == 429 or status >= 500:
        return RETRY
    return REJECT


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_delay(
    retry: int,
    *,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None,
    rng: random.Random | None = None,
) -> float:
    """The wait before retry number `retry` (0 for the first).

    Without a hint: "equal jitter" — uniform in [d/2, d] with d = min(cap, base·2^retry),
    so waits still grow while many senders that failed together spread out.
    With a Retry-After hint the server's wait is kept (plus up to 10% so a fleet told the
    same second does not return in step), but never beyond the cap: a shipper that sleeps
    for an hour because a proxy said so is indistinguishable from a dead one.
    """
    draw = (rng or random).uniform
    if retry_after_s is not None:
        return min(cap_s, retry_after_s + draw(0.0, 0.1 * retry_after_s))
    ceiling = min(cap_s, base_s * 2.0 ** min(retry, 62))
    return draw(ceiling / 2.0, ceiling)


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` further tries after the first; waits from `backoff_delay(base_s, cap_s)`."""

    max_retries: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0

    def delay(self, retry: int, retry_after_s: float | None, rng: random.Random | None = None) -> float:
        return backoff_delay(
            retry, base_s=self.base_s, cap_s=self.cap_s, retry_after_s=retry_after_s, rng=rng
        )
