"""Synthetic calls and runs for tests of pure readers (report, compare, verdict): no server, no clock."""

from __future__ import annotations

from dataclasses import replace

from profiler.runs import Run, RunConfig, TargetInfo
from profiler.trace.model import AttemptTrace, RequestTrace, Segment
from profiler.trace.phases import PHASES


def call(
    call_id: int,
    offset_ms: float,
    latency_ms: float,
    *,
    ok: bool = True,
    interrupted: bool = False,
    stream: bool = False,
    kind: str = "server_error",
) -> RequestTrace:
    """One call with one attempt: 1 ms building, 0.6 ms connecting, the server, 5 ms of body, then parsing."""
    start = offset_ms / 1000
    cuts = [
        ("local_pre", 1.0, None),
        ("queue", 0.1, 0),
        ("connect", 0.5, 0),
        ("send", 0.2, 0),
        ("server_wait", latency_ms - 10.0, 0),
        ("download", 5.0, 0),
        ("local_post", 3.2, None),
    ]
    segments, cursor = [], start
    for phase, length_ms, attempt in cuts:
        segments.append(Segment(phase, cursor, cursor + length_ms / 1000, attempt))
        cursor += length_ms / 1000
    attempt = AttemptTrace(
        start=start + 0.001,
        end=cursor - 0.0032,
        reused_connection=False,
        status=200 if ok else 500,
        x_request_id=f"req_{call_id}",
        error_kind=None if ok else kind,
        phases={phase: length / 1000 for phase, length, a in cuts if a == 0},
    )
    return trace_from(call_id, segments, [attempt], ok=ok, interrupted=interrupted, stream=stream, kind=kind)


def trace_from(
    call_id: int,
    segments: list[Segment],
    attempts: list[AttemptTrace],
    *,
    ok: bool = True,
    interrupted: bool = False,
    stream: bool = False,
    kind: str = "server_error",
) -> RequestTrace:
    phases: dict[str, float | None] = {p.name: 0.0 for p in PHASES}
    for segment in segments:
        phases[segment.phase] = (phases[segment.phase] or 0.0) + segment.length
    phases["server_processing"] = None
    return RequestTrace(
        call_id=call_id,
        started_at=1_700_000_000.0 + segments[0].start,
        start=segments[0].start,
        end=segments[-1].end,
        model="gpt-3.5-turbo",
        n=1,
        stream=stream,
        attempts=attempts,
        segments=segments,
        phases=phases,
        error_kind=None if ok or interrupted else kind,
        interrupted=interrupted,
        finished=not interrupted,
    )


def run_of(calls: list[RequestTrace], *, wall_s: float | None = None, **target: object) -> Run:
    end = max((c.end for c in calls), default=0.5)
    return Run.build(
        calls,
        wall=(0.0, wall_s if wall_s is not None else end),
        cpu_s=0.01,
        started_at=1_700_000_000.0,
        config=RunConfig(requests=len(calls)),
        target=TargetInfo(**target),  # type: ignore[arg-type]
    )


def shifted(trace: RequestTrace, seconds: float, call_id: int) -> RequestTrace:
    """The same call, ``seconds`` later and under another id."""
    return replace(
        trace,
        call_id=call_id,
        start=trace.start + seconds,
        end=trace.end + seconds,
        segments=[s._replace(start=s.start + seconds, end=s.end + seconds) for s in trace.segments],
        attempts=[replace(a, start=a.start + seconds, end=a.end + seconds) for a in trace.attempts],
    )
