"""Planned delays for one reply, and waiting for them without outliving the client."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from .scenario import Scenario

__all__ = ["LatencyModel", "ReplyTiming", "pause"]


@dataclass(frozen=True)
class ReplyTiming:
    """The delays planned for one reply, in milliseconds."""

    # Before the response headers: the whole generation for a plain reply, the TTFT for a stream.
    wait_ms: float
    # Between successive content tokens of a stream; empty for a plain reply.
    token_gaps_ms: tuple[float, ...]


class LatencyModel:
    """Draws jittered delays from the scenario, reproducibly for a given seed and arrival order."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        # A stream of its own, so that the fault sequence does not shift when
        # plain and streamed requests (which draw different numbers of delays) mix.
        self._rng = random.Random(f"{scenario.seed}:latency")

    def plan(self, *, stream: bool, tokens: int | None = None) -> ReplyTiming:
        """The delays of a generated reply of `tokens` tokens (the scenario's `output_tokens` by default)."""
        s = self._scenario
        tokens = s.output_tokens if tokens is None else tokens
        if stream:
            gaps = tuple(self._jittered(s.token_ms) for _ in range(tokens - 1))
            return ReplyTiming(wait_ms=self._jittered(s.ttft_ms), token_gaps_ms=gaps)
        # A plain reply is one delay, so it gets one jitter, not one per token.
        return ReplyTiming(wait_ms=self._jittered(s.ttft_ms + tokens * s.token_ms), token_gaps_ms=())

    def lookup(self) -> ReplyTiming:
        """An answer nothing is generated for (embeddings, models, a stored response): one ttft-long wait."""
        return ReplyTiming(wait_ms=self._jittered(self._scenario.ttft_ms), token_gaps_ms=())

    def _jittered(self, delay_ms: float) -> float:
        jitter = self._scenario.jitter_ms
        if jitter <= 0:
            return delay_ms
        return max(0.0, delay_ms + self._rng.uniform(-jitter, jitter))


async def pause(delay_s: float, interrupt: asyncio.Event) -> bool:
    """Wait `delay_s` unless `interrupt` fires first; return True if the full delay passed."""
    if interrupt.is_set():
        return False
    if delay_s <= 0:
        return True
    try:
        async with asyncio.timeout(delay_s):
            await interrupt.wait()
    except TimeoutError:
        return True
    return False
