"""``summary.json`` and ``requests.jsonl``: the run's figures, derived from its traces.

Both are plain dicts built by pure functions; :mod:`profiler.report.artifacts`
writes them. Times inside the traces are perf_counter seconds; the outputs are
milliseconds (phases, latency) or seconds (wall, cpu, split), as named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from profiler.monitor.errors import ERROR_KINDS
from profiler.report.stats import distribution, split_wall_time
from profiler.runs import SCHEMA
from profiler.trace.phases import PHASES, RequestTrace, local_total, network_total

BREAKDOWN_KEYS = (*PHASES, "network", "local")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def phase_values(trace: RequestTrace) -> dict[str, float]:
    """Every phase of one call plus ``network`` and ``local``, in seconds."""
    values = dict(trace.phases)
    values["network"] = network_total(trace.phases)
    values["local"] = local_total(trace.phases)
    return values


def _breakdown(traces: Sequence[RequestTrace]) -> dict[str, dict[str, float]]:
    per_phase: dict[str, list[float]] = {key: [] for key in BREAKDOWN_KEYS}
    for trace in traces:
        for key, value in phase_values(trace).items():
            per_phase[key].append(value)
    breakdown = {}
    for key, values in per_phase.items():
        stats = distribution(values, scale=1000.0) or {"mean": 0.0, "p50": 0.0, "p99": 0.0}
        breakdown[key] = {
            "mean": round(stats["mean"], 3),
            "p50": round(stats["p50"], 3),
            "p99": round(stats["p99"], 3),
            "total": round(sum(values) * 1000.0, 3),
        }
    return breakdown


def _rounded(stats: dict[str, float] | None) -> dict[str, float] | None:
    if stats is None:
        return None
    return {key: (value if key == "count" else round(value, 3)) for key, value in stats.items()}


def build_summary(
    traces: Sequence[RequestTrace],
    *,
    wall: tuple[float, float],
    cpu_s: float,
    config: dict[str, Any],
    target: dict[str, Any],
    artifacts: dict[str, str] | None = None,
    interrupted: bool = False,
) -> dict[str, Any]:
    """The ``summary.json`` document for one measured pass.

    Calls cut short by Ctrl-C are left out of the figures (they are in
    ``requests.jsonl``, marked ``interrupted``): they neither succeeded nor failed.
    """
    traces = [t for t in traces if not t.interrupted]
    started = len(traces)
    failed = sum(1 for t in traces if not t.ok)
    errors = Counter(t.error_kind for t in traces if t.error_kind)
    attempt_errors = Counter(kind for t in traces for kind in t.attempt_errors)
    attempts_total = sum(len(t.attempts) for t in traces)
    retried = sum(max(0, len(t.attempts) - 1) for t in traces)
    attempts_all = [a for t in traces for a in t.attempts if a.reused_connection is not None]
    succeeded_traces = [t for t in traces if t.ok]
    streams = [t for t in succeeded_traces if t.stream]
    wall_s = wall[1] - wall[0]
    split = split_wall_time(
        wall,
        (i for t in traces for i in t.network_intervals),
        (i for t in traces for i in t.backoff_intervals),
    )
    summary: dict[str, Any] = {
        "schema": SCHEMA,
        "interrupted": interrupted,
        "target": target,
        "config": config,
        "requests": {"started": started, "succeeded": started - failed, "failed": failed},
        "attempts": {"total": attempts_total, "retried": retried},
        "connections": {
            "new": sum(1 for a in attempts_all if not a.reused_connection),
            "reused": sum(1 for a in attempts_all if a.reused_connection),
        },
        "errors": {kind: errors[kind] for kind in ERROR_KINDS if errors[kind]},
        "attempt_errors": {kind: attempt_errors[kind] for kind in ERROR_KINDS if attempt_errors[kind]},
        "error_rate": round(failed / started, 6) if started else 0.0,
        "error_rates": {kind: round(errors[kind] / started, 6) for kind in ERROR_KINDS if errors[kind]},
        "latency_ms": _rounded(distribution((t.e2e for t in traces), scale=1000.0)),
        "latency_ok_ms": _rounded(distribution((t.e2e for t in succeeded_traces), scale=1000.0)),
        "breakdown_ms": _breakdown(traces),
        "cpu_per_call_ms": _rounded(
            distribution((t.cpu_s for t in traces if t.cpu_s is not None), scale=1000.0)
        ),
        "wall_s": round(wall_s, 6),
        "cpu_s": round(cpu_s, 6),
        "split_s": {key: round(value, 6) for key, value in split.items()},
        "throughput_rps": round(started / wall_s, 3) if wall_s > 0 else None,
        "artifacts": artifacts or {},
    }
    if any(t.stream for t in traces):
        summary["ttft_ms"] = _rounded(
            distribution((t.ttft_s for t in streams if t.ttft_s is not None), 1000.0)
        )
        summary["itl_ms"] = _rounded(distribution((gap for t in streams for gap in t.itl_s), 1000.0))
        summary["tpot_ms"] = _rounded(
            distribution((t.tpot_s for t in streams if t.tpot_s is not None), 1000.0)
        )
        summary["output_tokens_per_s"] = _rounded(
            distribution(t.output_tokens / t.e2e for t in streams if t.output_tokens and t.e2e > 0)
        )
    return summary


def request_record(trace: RequestTrace, origin: float) -> dict[str, Any]:
    """One line of ``requests.jsonl``. ``origin`` is the run's start (perf_counter)."""
    values = phase_values(trace)
    record: dict[str, Any] = {
        "id": trace.call_id,
        "x_request_id": trace.x_request_id,
        "status": trace.status,
        "ok": trace.ok,
        "interrupted": trace.interrupted,
        "error_kind": trace.error_kind,
        "error_type": trace.error_type,
        "attempts": len(trace.attempts),
        "attempt_errors": trace.attempt_errors,
        "model": trace.model,
        "n": trace.n,
        "stream": trace.stream,
        "started_at": round(trace.started_at, 6),
        "offset_ms": _ms(trace.entered - origin),
        "latency_ms": _ms(trace.e2e),
        "cpu_ms": _ms(trace.cpu_s),
        "phases_ms": {key: _ms(value) for key, value in values.items()},
        "attempt_details": [
            {
                "offset_ms": _ms(a.start - origin),
                "duration_ms": _ms(a.end - a.start),
                "status": a.status,
                "x_request_id": a.x_request_id,
                "error_kind": a.error_kind,
                "error_type": a.error_type,
                "failed_step": a.failed_step,
                "reused_connection": a.reused_connection,
                "queue_ms": _ms(a.queue),
                "connect_ms": _ms(a.connect),
                "tls_ms": _ms(a.tls),
                "send_ms": _ms(a.send),
                "server_wait_ms": _ms(a.server_wait),
                "server_processing_ms": a.processing_ms,
                "download_ms": _ms(a.download),
            }
            for a in trace.attempts
        ],
        "idempotency_key": trace.idempotency_key,
    }
    if trace.stream:
        record.update(
            ttft_ms=_ms(trace.ttft_s),
            itl_ms=[_ms(gap) for gap in trace.itl_s],
            tpot_ms=_ms(trace.tpot_s),
            output_tokens=trace.output_tokens,
            chunks=trace.chunks,
        )
    return record
