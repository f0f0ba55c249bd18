"""A run's derived figures: computed once from its traces, read by every output.

Calls cut short by Ctrl-C are left out (they are in ``requests.jsonl``, marked
``interrupted``): they neither succeeded nor failed. A figure with nothing to
measure is None (``null``), never 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from profiler.runs.accumulate import FigureAccumulator
from profiler.runs.gc import GcFigures
from profiler.runs.stats import DIGITS, SECONDS_DIGITS, Distribution, Interval, WallSplit
from profiler.trace.derive import TTFT_PARTS
from profiler.trace.kinds import ERROR_KINDS
from profiler.trace.model import RequestTrace
from profiler.trace.phases import BREAKDOWN_KEYS


@dataclass(frozen=True, slots=True)
class PhaseStats:
    """One phase over the calls that have it, in milliseconds."""

    count: int
    mean: float
    p50: float
    p99: float
    total: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> PhaseStats | None:
        stats = Distribution.of(seconds, scale=1000.0)
        if stats is None:
            return None
        return cls(stats.count, stats.mean, stats.p50, stats.p99, round(sum(seconds) * 1000.0, DIGITS))

    def to_dict(self) -> dict[str, float]:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p99": self.p99, "total": self.total}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PhaseStats | None:
        if not data:
            return None
        return cls(int(data.get("count", 0)), data["mean"], data["p50"], data["p99"], data["total"])


@dataclass(frozen=True, slots=True)
class Streaming:
    """Figures of the successful streamed calls (ms; tokens/s)."""

    ttft: Distribution | None
    itl: Distribution | None  # from kernel arrival times where the reads had them
    itl_seen: Distribution | None  # as the caller saw the chunks handed over
    tpot: Distribution | None
    output_tokens_per_s: Distribution | None
    ttft_parts: dict[str, Distribution]  # each part of the TTFT over the calls
    itl_unknown: int = 0  # gaps left out of ``itl``: merged by the kernel, their arrivals lost
    ttft_bounded: int = 0  # calls whose TTFT ``server`` part is an upper bound (first content read late)


@dataclass(frozen=True, slots=True)
class RunFigures:
    started: int
    succeeded: int
    failed: int
    attempts: int
    retried: int
    connections_new: int
    connections_reused: int
    errors: dict[str, int]  # final failures by kind
    attempt_errors: dict[str, int]  # every failed attempt by kind
    error_rate: float | None
    error_rates: dict[str, float] | None  # None without calls, as error_rate
    latency: Distribution | None  # ms, every call
    latency_ok: Distribution | None  # ms, successful calls
    breakdown: dict[str, PhaseStats | None]  # every phase and total; None: no call has it
    server_processing_reported: int  # calls whose server sent openai-processing-ms
    cpu_per_call: Distribution | None  # ms
    wall_s: float
    cpu_s: float
    split: WallSplit
    throughput_rps: float | None
    calls_by_api: dict[str, int]
    streaming: Streaming | None  # None when no call streamed
    schedule_lag: Distribution | None = None  # open loop: ms each call waited in the client after it was due
    latency_from_schedule: Distribution | None = None  # open loop: ms from due to done, the client's queue in
    event_loop_lag: Distribution | None = None  # async client: ms the loop woke a 10 ms timer late
    gc: GcFigures | None = None  # garbage collections while measuring; None where not watched


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    known = [kind for kind in ERROR_KINDS if counter[kind]]
    return {kind: counter[kind] for kind in [*known, *sorted(set(counter) - set(known))] if counter[kind]}


def _distribution(accumulator: FigureAccumulator, name: str, scale: float = 1000.0) -> Distribution | None:
    values = accumulator.quantiles(name)
    return None if values is None else values.distribution(scale)


def _phase(accumulator: FigureAccumulator, key: str) -> PhaseStats | None:
    values = accumulator.quantiles(f"phase:{key}")
    stats = None if values is None else values.distribution(1000.0)
    if stats is None or values is None:
        return None
    return PhaseStats(stats.count, stats.mean, stats.p50, stats.p99, round(values.total * 1000.0, DIGITS))


def _streaming(accumulator: FigureAccumulator) -> Streaming:
    parts = {
        part: stats
        for part in TTFT_PARTS
        if (stats := _distribution(accumulator, f"ttft:{part}")) is not None
    }
    return Streaming(
        ttft=_distribution(accumulator, "ttft"),
        itl=_distribution(accumulator, "itl"),
        itl_seen=_distribution(accumulator, "itl_seen"),
        tpot=_distribution(accumulator, "tpot"),
        output_tokens_per_s=_distribution(accumulator, "tokens_per_s", 1.0),
        ttft_parts=parts,
        itl_unknown=accumulator.itl_unknown,
        ttft_bounded=accumulator.ttft_bounded,
    )


def figures_of(
    calls: Sequence[RequestTrace], wall: Interval, cpu_s: float, loop_lag_s: Sequence[float] | None = None
) -> RunFigures:
    """Every figure of a run, from its calls, its wall interval (s since origin) and its CPU time.

    ``loop_lag_s``: an async run's event-loop lag samples, when it measured them.
    """
    return figures_from(FigureAccumulator().add_all(calls), wall, cpu_s, loop_lag_s)


def figures_from(
    accumulator: FigureAccumulator,
    wall: Interval,
    cpu_s: float,
    loop_lag_s: Sequence[float] | None = None,
    gc: GcFigures | None = None,
) -> RunFigures:
    """The figures of the calls an accumulator was fed (a long run's, or a distributed run's merge)."""
    started, failed = accumulator.started, accumulator.failed
    errors = _sorted_counts(accumulator.errors)
    wall_s = wall[1] - wall[0]
    return RunFigures(
        started=started,
        succeeded=started - failed,
        failed=failed,
        attempts=accumulator.attempts,
        retried=accumulator.retried,
        connections_new=accumulator.connections_new,
        connections_reused=accumulator.connections_reused,
        errors=errors,
        attempt_errors=_sorted_counts(accumulator.attempt_errors),
        error_rate=round(failed / started, SECONDS_DIGITS) if started else None,
        error_rates=(
            {kind: round(count / started, SECONDS_DIGITS) for kind, count in errors.items()}
            if started
            else None
        ),
        latency=_distribution(accumulator, "latency"),
        latency_ok=_distribution(accumulator, "latency_ok"),
        breakdown={key: _phase(accumulator, key) for key in BREAKDOWN_KEYS},
        server_processing_reported=accumulator.server_processing_reported,
        cpu_per_call=_distribution(accumulator, "cpu"),
        wall_s=round(wall_s, SECONDS_DIGITS),
        cpu_s=round(cpu_s, SECONDS_DIGITS),
        split=accumulator.wall.split(wall),
        throughput_rps=round(started / wall_s, DIGITS) if wall_s > 0 else None,
        calls_by_api=dict(accumulator.calls_by_api.most_common()),
        streaming=_streaming(accumulator) if accumulator.streamed else None,
        schedule_lag=_distribution(accumulator, "schedule_lag"),
        latency_from_schedule=_distribution(accumulator, "latency_from_schedule"),
        event_loop_lag=Distribution.of(loop_lag_s or (), 1000.0),
        gc=gc,
    )
