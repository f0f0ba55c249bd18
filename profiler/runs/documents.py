"""A run as its ``summary.json`` document, and back (schema ``profiler.run/1``).

Milliseconds for phases and latencies, seconds for wall, CPU and the split,
fractions for rates; a figure with nothing behind it is ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from profiler.runs.figures import PhaseStats, RunFigures, Streaming
from profiler.runs.gc import GcFigures
from profiler.runs.model import Attribution, Passes, Run, RunConfig, TargetInfo
from profiler.runs.stats import Distribution, WallSplit
from profiler.trace.model import RequestTrace
from profiler.trace.phases import BREAKDOWN_KEYS


def _dist(stats: Distribution | None) -> dict[str, float] | None:
    return None if stats is None else stats.to_dict()


def _optional_dict(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def _iso(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="milliseconds")


def _figures_document(figures: RunFigures) -> dict[str, Any]:
    document: dict[str, Any] = {
        "requests": {"started": figures.started, "succeeded": figures.succeeded, "failed": figures.failed},
        "attempts": {"total": figures.attempts, "retried": figures.retried},
        "connections": {"new": figures.connections_new, "reused": figures.connections_reused},
        "errors": figures.errors,
        "attempt_errors": figures.attempt_errors,
        "error_rate": figures.error_rate,
        "error_rates": _optional_dict(figures.error_rates),
        "latency_ms": _dist(figures.latency),
        "latency_ok_ms": _dist(figures.latency_ok),
        "breakdown_ms": {
            key: None if stats is None else stats.to_dict() for key, stats in figures.breakdown.items()
        },
        "server_processing_reported": {"calls": figures.server_processing_reported, "of": figures.started},
        "cpu_per_call_ms": _dist(figures.cpu_per_call),
        "wall_s": figures.wall_s,
        "cpu_s": figures.cpu_s,
        "split_s": figures.split.to_dict(),
        "throughput_rps": figures.throughput_rps,
        "calls_by_api": figures.calls_by_api,
        "schedule_lag_ms": _dist(figures.schedule_lag),
        "latency_from_schedule_ms": _dist(figures.latency_from_schedule),
        "event_loop_lag_ms": _dist(figures.event_loop_lag),
        "gc": None if figures.gc is None else figures.gc.to_dict(),
    }
    streaming = figures.streaming
    if streaming is not None:
        document.update(
            ttft_ms=_dist(streaming.ttft),
            itl_ms=_dist(streaming.itl),
            itl_seen_ms=_dist(streaming.itl_seen),
            itl_unknown=streaming.itl_unknown,
            ttft_bounded_calls=streaming.ttft_bounded,
            tpot_ms=_dist(streaming.tpot),
            output_tokens_per_s=_dist(streaming.output_tokens_per_s),
            ttft_parts_ms={part: stats.to_dict() for part, stats in streaming.ttft_parts.items()},
        )
    return document


def summary_document(run: Run) -> dict[str, Any]:
    """The ``summary.json`` of a run."""
    document: dict[str, Any] = {
        "schema": run.schema,
        "started_at": _iso(run.started_at),
        "interrupted": run.interrupted,
        "target": run.target.to_dict(),
        "config": run.config.to_dict(),
        "passes": run.passes.to_dict(),
        **_figures_document(run.figures),
        "calls_in_requests_jsonl": len(run.calls),
        "artifacts": dict(run.artifacts),
    }
    if run.attribution is not None:
        document["attribution"] = run.attribution.to_dict()
    return document


def _figures_from(document: Mapping[str, Any]) -> RunFigures:
    requests = document.get("requests") or {}
    attempts = document.get("attempts") or {}
    connections = document.get("connections") or {}
    breakdown = document.get("breakdown_ms") or {}
    streaming = None
    if "ttft_ms" in document:
        streaming = Streaming(
            ttft=Distribution.from_dict(document.get("ttft_ms")),
            itl=Distribution.from_dict(document.get("itl_ms")),
            itl_seen=Distribution.from_dict(document.get("itl_seen_ms")),
            itl_unknown=int(document.get("itl_unknown") or 0),
            ttft_bounded=int(document.get("ttft_bounded_calls") or 0),
            tpot=Distribution.from_dict(document.get("tpot_ms")),
            output_tokens_per_s=Distribution.from_dict(document.get("output_tokens_per_s")),
            ttft_parts={
                part: stats
                for part, value in (document.get("ttft_parts_ms") or {}).items()
                if (stats := Distribution.from_dict(value)) is not None
            },
        )
    reported = document.get("server_processing_reported") or {}
    return RunFigures(
        started=int(requests.get("started", 0)),
        succeeded=int(requests.get("succeeded", 0)),
        failed=int(requests.get("failed", 0)),
        attempts=int(attempts.get("total", 0)),
        retried=int(attempts.get("retried", 0)),
        connections_new=int(connections.get("new", 0)),
        connections_reused=int(connections.get("reused", 0)),
        errors=dict(document.get("errors") or {}),
        attempt_errors=dict(document.get("attempt_errors") or {}),
        error_rate=document.get("error_rate"),
        error_rates=_optional_dict(document.get("error_rates")),
        latency=Distribution.from_dict(document.get("latency_ms")),
        latency_ok=Distribution.from_dict(document.get("latency_ok_ms")),
        breakdown={key: PhaseStats.from_dict(breakdown.get(key)) for key in BREAKDOWN_KEYS},
        server_processing_reported=int(reported.get("calls", 0)),
        cpu_per_call=Distribution.from_dict(document.get("cpu_per_call_ms")),
        wall_s=float(document.get("wall_s") or 0.0),
        cpu_s=float(document.get("cpu_s") or 0.0),
        split=WallSplit.from_dict(document.get("split_s") or {"network": 0, "backoff": 0, "local": 0}),
        throughput_rps=document.get("throughput_rps"),
        calls_by_api=dict(document.get("calls_by_api") or {}),
        streaming=streaming,
        schedule_lag=Distribution.from_dict(document.get("schedule_lag_ms")),
        latency_from_schedule=Distribution.from_dict(document.get("latency_from_schedule_ms")),
        event_loop_lag=Distribution.from_dict(document.get("event_loop_lag_ms")),
        gc=GcFigures.from_dict(document.get("gc")),
    )


def run_from_documents(summary: Mapping[str, Any], calls: list[RequestTrace]) -> Run:
    """The run a ``summary.json`` and its calls describe; its figures are read, not re-derived."""
    started = summary.get("started_at")
    return Run(
        calls=calls,
        figures=_figures_from(summary),
        config=RunConfig.from_dict(summary.get("config") or {}),
        target=TargetInfo.from_dict(summary.get("target") or {}),
        passes=Passes.from_dict(summary.get("passes")),
        started_at=datetime.fromisoformat(started).timestamp() if isinstance(started, str) else 0.0,
        interrupted=bool(summary.get("interrupted")),
        attribution=Attribution.from_dict(summary.get("attribution")),
        artifacts={key: str(value) for key, value in (summary.get("artifacts") or {}).items()},
        schema=str(summary.get("schema")),
    )
