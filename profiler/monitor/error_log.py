"""Structured error records: one per failed attempt, one per final failure.

Records go to the ``profiler.errors`` logger with their fields in ``extra``,
so any handler works; :func:`json_handler` formats them as JSON lines
(python-json-logger, the shippers' formatter) and the shippers in :mod:`profiler.monitor.shipping` send
them on. ``occurred_at`` is when the failure happened; ``timestamp`` is when it
was logged (later, in a profiling run). Never written: the API key, any header value, the prompt (unless the
caller passes it, having opted in).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from profiler.monitor.shipping import ShippingJsonFormatter
from profiler.trace.model import RequestTrace

ERROR_LOGGER = "profiler.errors"


def json_formatter() -> logging.Formatter:
    """The one JSON shape for error records, in files, on stderr and when shipped."""
    return ShippingJsonFormatter()


def json_handler(target: Path | TextIO) -> logging.Handler:
    """A handler writing one JSON object per line to a file or a stream."""
    handler: logging.Handler
    if isinstance(target, Path):
        handler = logging.FileHandler(target, encoding="utf-8")
    else:
        handler = logging.StreamHandler(target)
    handler.setFormatter(json_formatter())
    return handler


def _iso(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="milliseconds")


def _attempt_fields(trace: RequestTrace, index: int) -> dict[str, Any]:
    attempt = trace.attempts[index]
    return {
        "event": "attempt_failed",
        "request_id": trace.call_id,
        "x_request_id": attempt.x_request_id,
        "error_kind": attempt.error_kind,
        "error_type": attempt.error_type,
        "http_status": attempt.status,
        "attempt": index + 1,
        "occurred_at": _iso(trace.started_at + (attempt.end - trace.start)),
        "latency_ms": round((attempt.end - attempt.start) * 1000, 3),
        "failed_step": attempt.failed_step,
        "operation": trace.operation,
        "api": trace.api,
        "model": trace.model,
        "stream": trace.stream,
    }


def log_unhandled(
    logger: logging.Logger, exc: BaseException, message: str, fields: Mapping[str, object]
) -> None:
    """An exception a monitored route did not handle: its traceback and the request's fields."""
    logger.error(message, exc_info=exc, extra={"event": "unhandled_error", **fields})


def log_call_errors(
    trace: RequestTrace,
    logger: logging.Logger | None = None,
    *,
    exc_info: BaseException | None = None,
    prompt: str | None = None,
    fields: Mapping[str, object] | None = None,
) -> int:
    """Log every failed attempt (warning), then the call's final failure (error), if any.

    So the ``attempt_failed`` records match ``attempt_errors`` and the
    ``request_failed`` records match ``errors`` in the summary. ``fields`` go into
    every record (a monitored app's ``http_request_id``, ``http_route``). Returns records logged.
    """
    logger = logger or logging.getLogger(ERROR_LOGGER)
    logged = 0
    for index, attempt in enumerate(trace.attempts):
        if attempt.error_kind is not None:
            extra = _attempt_fields(trace, index)
            if fields:
                extra.update(fields)
            logger.warning("attempt failed", extra=extra)
            logged += 1
    if not trace.ok:
        failed: dict[str, Any] = {
            "event": "request_failed",
            "request_id": trace.call_id,
            "x_request_id": trace.x_request_id,
            "error_kind": trace.error_kind,
            "error_type": trace.error_type,
            "http_status": trace.status,
            "attempts": len(trace.attempts),
            "occurred_at": _iso(trace.started_at + trace.e2e),
            "latency_ms": round(trace.e2e * 1000, 3),
            "operation": trace.operation,
            "api": trace.api,
            "model": trace.model,
            "stream": trace.stream,
        }
        if fields:
            failed.update(fields)
        if prompt is not None:
            failed["prompt"] = prompt
        logger.error("request failed", extra=failed, exc_info=exc_info)
        logged += 1
    return logged
