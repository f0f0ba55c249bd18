"""Headers every response carries, as the OpenAI API sends them."""

from __future__ import annotations

import math
import time

__all__ = ["OPENAI_VERSION", "RateLimitBudget", "format_reset"]

OPENAI_VERSION = "2020-10-01"


class RateLimitBudget:
    """A per-minute budget of requests and tokens that refills continuously.

    Only feeds the `x-ratelimit-*` headers so that clients reading them see
    plausible, moving numbers; real 429s come from the fault plan, not from here.
    """

    def __init__(self, requests_per_minute: int = 10_000, tokens_per_minute: int = 2_000_000) -> None:
        self.limit_requests = requests_per_minute
        self.limit_tokens = tokens_per_minute
        self._used_requests = 0.0
        self._used_tokens = 0.0
        self._updated = time.monotonic()

    def spend(self, tokens: int) -> list[tuple[str, str]]:
        """Charge one request of `tokens` tokens and return the headers describing what is left."""
        self._refill()
        self._used_requests = min(self._used_requests + 1, self.limit_requests)
        self._used_tokens = min(self._used_tokens + tokens, self.limit_tokens)
        return self._headers(
            remaining_requests=self.limit_requests - math.ceil(self._used_requests),
            reset_requests_s=self._used_requests / self.limit_requests * 60.0,
        )

    def exhausted(self, retry_after_s: float) -> list[tuple[str, str]]:
        """The headers of a 429: no requests left until the retry-after delay has passed."""
        self._refill()
        return self._headers(remaining_requests=0, reset_requests_s=retry_after_s)

    def _refill(self) -> None:
        now = time.monotonic()
        minutes = (now - self._updated) / 60.0
        self._updated = now
        self._used_requests = max(0.0, self._used_requests - minutes * self.limit_requests)
        self._used_tokens = max(0.0, self._used_tokens - minutes * self.limit_tokens)

    def _headers(self, *, remaining_requests: int, reset_requests_s: float) -> list[tuple[str, str]]:
        return [
            ("x-ratelimit-limit-requests", str(self.limit_requests)),
            ("x-ratelimit-remaining-requests", str(remaining_requests)),
            ("x-ratelimit-reset-requests", format_reset(reset_requests_s)),
            ("x-ratelimit-limit-tokens", str(self.limit_tokens)),
            ("x-ratelimit-remaining-tokens", str(self.limit_tokens - math.ceil(self._used_tokens))),
            ("x-ratelimit-reset-tokens", format_reset(self._used_tokens / self.limit_tokens * 60.0)),
        ]


def format_reset(seconds: float) -> str:
    """Format a duration the way the API's reset headers do: `6ms`, `1.5s`, `2m0s`."""
    if seconds < 1.0:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60.0:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest}s"
