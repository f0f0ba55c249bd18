"""One call as a line of ``requests.jsonl``, and back.

Times are milliseconds, rounded to the microsecond: ``offset_ms`` since the
run's origin, every other time since the call started. ``timeline`` lists the
call's segments as ``[phase, end_ms]`` (``[phase, end_ms, attempt]`` inside an
attempt): each starts where the previous one ended, the first at 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profiler.trace.model import AttemptTrace, RequestTrace, Segment
from profiler.trace.phases import PHASES


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def _s(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000.0


def _since(at: float | None, origin: float) -> float | None:
    return None if at is None else _ms(at - origin)


def _attempt_record(attempt: AttemptTrace, call_start: float) -> dict[str, Any]:
    return {
        "offset_ms": _since(attempt.start, call_start),
        "duration_ms": _ms(attempt.end - attempt.start),
        "status": attempt.status,
        "x_request_id": attempt.x_request_id,
        "error_kind": attempt.error_kind,
        "error_type": attempt.error_type,
        "failed_step": attempt.failed_step,
        "reused_connection": attempt.reused_connection,
        "sent_ms": _since(attempt.sent, call_start),
        "headers_ms": _since(attempt.headers_end, call_start),
        "body_ms": _since(attempt.body_end, call_start),
        "server_processing_ms": attempt.processing_ms,
        "phases_ms": {name: _ms(value) for name, value in attempt.phases.items()},
    }


def _attempt_from(record: Mapping[str, Any], call_start: float) -> AttemptTrace:
    def at(key: str) -> float | None:
        value = record.get(key)
        return None if value is None else call_start + value / 1000.0

    start = at("offset_ms") or call_start
    return AttemptTrace(
        start=start,
        end=start + (record.get("duration_ms") or 0.0) / 1000.0,
        reused_connection=record.get("reused_connection"),
        sent=at("sent_ms"),
        headers_end=at("headers_ms"),
        body_end=at("body_ms"),
        status=record.get("status"),
        x_request_id=record.get("x_request_id"),
        processing_ms=record.get("server_processing_ms"),
        error_kind=record.get("error_kind"),
        error_type=record.get("error_type"),
        failed_step=record.get("failed_step"),
        phases={name: value / 1000.0 for name, value in (record.get("phases_ms") or {}).items()},
    )


def call_record(call: RequestTrace) -> dict[str, Any]:
    """The ``requests.jsonl`` line of one call."""
    start = call.start
    record: dict[str, Any] = {
        "id": call.call_id,
        "operation": call.operation,
        "api": call.api,
        "method": call.method,
        "server_address": call.server_address,
        "server_port": call.server_port,
        "x_request_id": call.x_request_id,
        "status": call.status,
        "ok": None if call.interrupted else call.ok,  # cut short by Ctrl-C: neither succeeded nor failed
        "interrupted": call.interrupted,
        "error_kind": call.error_kind,
        "error_type": call.error_type,
        "attempts": len(call.attempts),
        "attempt_errors": call.attempt_errors,
        "model": call.model,
        "n": call.n,
        "stream": call.stream,
        "started_at": round(call.started_at, 6),
        "offset_ms": _ms(start),
        "latency_ms": _ms(call.e2e),
        "cpu_ms": _ms(call.cpu_s),
        "phases_ms": {key: _ms(value) for key, value in call.breakdown().items()},
        "timeline": [
            [s.phase, _ms(s.end - start)] if s.attempt is None else [s.phase, _ms(s.end - start), s.attempt]
            for s in call.segments
        ],
        "attempt_details": [_attempt_record(a, start) for a in call.attempts],
        "idempotency_key": call.idempotency_key,
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "arrival_times": call.arrival_times,
    }
    if call.scheduled is not None:
        record["scheduled_ms"] = _ms(call.scheduled)
        record["schedule_lag_ms"] = _ms(call.schedule_lag)
    if call.worker is not None:
        record["worker"] = call.worker
    if call.stream:
        record.update(
            ttft_ms=_ms(call.ttft_s),
            ttft_parts_ms=None
            if call.ttft_parts is None
            else {part: _ms(value) for part, value in call.ttft_parts.items()},
            itl_ms=[_ms(gap) for gap in call.itl_s],
            itl_seen_ms=[_ms(gap) for gap in call.itl_seen_s],
            itl_unknown=call.itl_unknown,
            ttft_bounded=call.ttft_bounded,
            tpot_ms=_ms(call.tpot_s),
            chunks=call.chunks,
        )
    return record


def call_from_record(record: Mapping[str, Any]) -> RequestTrace:
    """The typed call a ``requests.jsonl`` line describes (what :func:`call_record` wrote)."""
    start = (record.get("offset_ms") or 0.0) / 1000.0
    segments: list[Segment] = []
    cursor = start
    for entry in record.get("timeline") or ():
        end = start + entry[1] / 1000.0
        segments.append(Segment(entry[0], cursor, end, entry[2] if len(entry) > 2 else None))
        cursor = end
    phases_ms = record.get("phases_ms") or {}
    ttft_parts = record.get("ttft_parts_ms")
    return RequestTrace(
        call_id=int(record["id"]),
        started_at=float(record.get("started_at") or 0.0),
        start=start,
        end=start + (record.get("latency_ms") or 0.0) / 1000.0,
        model=record.get("model"),
        n=int(record.get("n") or 1),
        stream=bool(record.get("stream")),
        operation=record.get("operation") or "chat",
        api=record.get("api") or "chat.completions",
        attempts=[_attempt_from(a, start) for a in record.get("attempt_details") or ()],
        segments=segments,
        phases={phase.name: _s(phases_ms.get(phase.name)) for phase in PHASES},
        cpu_s=_s(record.get("cpu_ms")),
        error_kind=record.get("error_kind"),
        error_type=record.get("error_type"),
        idempotency_key=record.get("idempotency_key"),
        ttft_s=_s(record.get("ttft_ms")),
        ttft_parts=None if ttft_parts is None else {k: v / 1000.0 for k, v in ttft_parts.items()},
        itl_s=[gap / 1000.0 for gap in record.get("itl_ms") or ()],
        itl_seen_s=[gap / 1000.0 for gap in record.get("itl_seen_ms") or ()],
        itl_unknown=int(record.get("itl_unknown") or 0),
        ttft_bounded=bool(record.get("ttft_bounded")),
        arrival_times=bool(record.get("arrival_times")),
        tpot_s=_s(record.get("tpot_ms")),
        output_tokens=record.get("output_tokens"),
        input_tokens=record.get("input_tokens"),
        chunks=int(record.get("chunks") or 0),
        finished=not record.get("interrupted"),
        interrupted=bool(record.get("interrupted")),
        worker=record.get("worker"),
        method=record.get("method"),
        server_address=record.get("server_address"),
        server_port=record.get("server_port"),
        scheduled=_s(record.get("scheduled_ms")),
    )
