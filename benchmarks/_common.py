"""Shared set-up for the benchmarks: a simulator and a client on loopback."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import replace

from profiler.runs import Run
from profiler.trace.model import RequestTrace
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


def _shifted(trace: RequestTrace, seconds: float, call_id: int, round_: int) -> RequestTrace:
    return replace(
        trace,
        call_id=call_id,
        start=trace.start + seconds,
        end=trace.end + seconds,
        segments=[replace(s, start=s.start + seconds, end=s.end + seconds) for s in trace.segments],
        attempts=[
            replace(
                a,
                start=a.start + seconds,
                end=a.end + seconds,
                x_request_id=a.x_request_id and f"{a.x_request_id}{round_:04x}",
            )
            for a in trace.attempts
        ],
    )


def replicate(run: Run, count: int) -> Run:
    """A run of ``count`` calls: copies of ``run``'s, each round starting where the last one ended.

    Its figures are derived anew from the copies, as a long real run's would be.
    """
    span = max(c.end for c in run.calls) - min(c.start for c in run.calls)
    calls = []
    for index in range(count):
        round_, original = divmod(index, len(run.calls))
        calls.append(_shifted(run.calls[original], round_ * span, index + 1, round_))
    copy = Run.build(
        calls,
        wall=(0.0, max(c.end for c in calls)),
        cpu_s=run.figures.cpu_s * count / len(run.calls),
        started_at=run.started_at,
        config=run.config,
        target=run.target,
        passes=run.passes,
        attribution=run.attribution,
    )
    copy.artifacts = dict(run.artifacts)
    return copy
