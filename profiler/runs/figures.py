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

from profiler.runs.stats import DIGITS, SECONDS_DIGITS, Distribution, Interval, WallSplit, split_wall_time
from profiler.trace.derive import TTFT_PARTS
from profiler.trace.kinds import ERROR_KINDS
from profiler.trace.model import RequestTrace
from profiler.trace.phases import BREAKDOWN_KEYS, Group


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
    error_rates: dict[str, float]
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


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    known = [kind for kind in ERROR_KINDS if counter[kind]]
    return {kind: counter[kind] for kind in [*known, *sorted(set(counter) - set(known))] if counter[kind]}


def _streaming(streams: Sequence[RequestTrace]) -> Streaming:
    with_ttft = [t for t in streams if t.ttft_s is not None]
    parts = {
        part: stats
        for part in TTFT_PARTS
        if (stats := Distribution.of(((t.ttft_parts or {}).get(part, 0.0) for t in with_ttft), 1000.0))
    }
    return Streaming(
        ttft=Distribution.of((t.ttft_s for t in with_ttft), 1000.0),  # type: ignore[misc]
        itl=Distribution.of((gap for t in streams for gap in t.itl_s), 1000.0),
        itl_seen=Distribution.of((gap for t in streams for gap in t.itl_seen_s), 1000.0),
        tpot=Distribution.of((t.tpot_s for t in streams if t.tpot_s is not None), 1000.0),
        output_tokens_per_s=Distribution.of(
            t.output_tokens / t.e2e for t in streams if t.output_tokens and t.e2e > 0
        ),
        ttft_parts=parts,
        itl_unknown=sum(t.itl_unknown for t in streams),
    )


def figures_of(
    calls: Sequence[RequestTrace], wall: Interval, cpu_s: float, loop_lag_s: Sequence[float] | None = None
) -> RunFigures:
    """Every figure of a run, from its calls, its wall interval (s since origin) and its CPU time.

    ``loop_lag_s``: an async run's event-loop lag samples, when it measured them.
    """
    counted = [t for t in calls if not t.interrupted]
    started = len(counted)
    failed = sum(1 for t in counted if not t.ok)
    errors = Counter(t.error_kind for t in counted if t.error_kind)
    attempt_errors = Counter(kind for t in counted for kind in t.attempt_errors)
    reached = [a for t in counted for a in t.attempts if a.reused_connection is not None]
    succeeded = [t for t in counted if t.ok]
    breakdown: dict[str, PhaseStats | None] = {}
    for key in BREAKDOWN_KEYS:
        values = [v for t in counted if (v := t.breakdown()[key]) is not None]
        breakdown[key] = PhaseStats.of(values)
    wall_s = wall[1] - wall[0]
    split = split_wall_time(
        wall,
        (i for t in calls for i in t.intervals(Group.NETWORK)),
        (i for t in calls for i in t.intervals(Group.BACKOFF)),
        ((t.start, t.end) for t in calls),
    )
    streams = [t for t in succeeded if t.stream]
    return RunFigures(
        started=started,
        succeeded=started - failed,
        failed=failed,
        attempts=sum(len(t.attempts) for t in counted),
        retried=sum(max(0, len(t.attempts) - 1) for t in counted),
        connections_new=sum(1 for a in reached if not a.reused_connection),
        connections_reused=sum(1 for a in reached if a.reused_connection),
        errors=_sorted_counts(errors),
        attempt_errors=_sorted_counts(attempt_errors),
        error_rate=round(failed / started, SECONDS_DIGITS) if started else None,
        error_rates={
            kind: round(count / started, SECONDS_DIGITS) for kind, count in _sorted_counts(errors).items()
        },
        latency=Distribution.of((t.e2e for t in counted), 1000.0),
        latency_ok=Distribution.of((t.e2e for t in succeeded), 1000.0),
        breakdown=breakdown,
        server_processing_reported=sum(1 for t in counted if t.phases["server_processing"] is not None),
        cpu_per_call=Distribution.of((t.cpu_s for t in counted if t.cpu_s is not None), 1000.0),
        wall_s=round(wall_s, SECONDS_DIGITS),
        cpu_s=round(cpu_s, SECONDS_DIGITS),
        split=split,
        throughput_rps=round(started / wall_s, DIGITS) if wall_s > 0 else None,
        calls_by_api=dict(Counter(t.api for t in counted).most_common()),
        streaming=_streaming(streams) if any(t.stream for t in counted) else None,
        schedule_lag=Distribution.of((lag for t in counted if (lag := t.schedule_lag) is not None), 1000.0),
        latency_from_schedule=Distribution.of(
            (t.end - t.scheduled for t in counted if t.scheduled is not None), 1000.0
        ),
        event_loop_lag=Distribution.of(loop_lag_s or (), 1000.0),
    )
