"""When each request of an open-loop run is due: Poisson or evenly spaced, generated lazily.

A closed loop starts the next request when a worker is free, so a slow server
slows the arrivals and hides queueing. An open loop starts requests on a clock
— as users arrive — and a request that cannot start on time waits in the
client: that wait is measured from its scheduled start.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


def offsets(rate: float, arrival: str, seed: int = 0) -> Iterator[float]:
    """Seconds after the start at which request 0, 1, 2 … is due (an endless, lazy sequence)."""
    if rate <= 0:
        raise ValueError(f"the rate must be more than 0, got {rate}")
    rng = random.Random(seed)
    at = 0.0
    while True:
        yield at
        at += rng.expovariate(rate) if arrival == "poisson" else 1.0 / rate
