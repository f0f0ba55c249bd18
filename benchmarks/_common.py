"""Shared set-up for the benchmarks: a simulator and a client on loopback."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from profiler.workload import build_messages


def call(client: object, stream: bool = False) -> None:
    """One call of the sample workload's shape, its reply consumed."""
    response = client.chat.completions.create(  # type: ignore[attr-defined]
        model="gpt-3.5-turbo", messages=build_messages(), n=3, stream=stream
    )
    if stream:
        for _ in response:
            pass


def spread(values: Sequence[float]) -> str:
    """median [p25 – p75] of the values."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return f"{statistics.median(ordered):.3f} [{quartiles[0]:.3f} – {quartiles[2]:.3f}]"
