"""What the simulator really did for each request, one JSON line each.

Profilers are judged against this log, so it holds measured times taken right
around the socket writes, beside the planned ones. It never holds a header
value other than the few named below: no Authorization, no key.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

__all__ = ["GroundTruthLog", "RequestRecord"]


def _ms(seconds: float) -> float:
    # Microsecond resolution: finer digits are timer noise and only bloat the log.
    return round(seconds * 1000.0, 3)


@dataclass
class RequestRecord:
    """One request as the server saw and answered it; filled in while it is handled."""

    request_id: str
    received_at: float  # unix time, for joining with client logs
    started: float  # perf_counter when the app was called, i.e. once the request headers were parsed
    method: str
    path: str
    client_port: int | None = None  # the client's TCP port, as this server saw it (None: not TCP)
    api: str | None = None
    idempotency_key: str | None = None
    retry_count: int | None = None
    model: str | None = None
    stream: bool = False
    n: int | None = None
    fault: str | None = None
    status: int | None = None
    # perf_counter once the whole body was in. The client's clock for the server's
    # wait starts when it finishes sending the body, so the server's must start here too:
    # a client descheduled between its header and body writes would otherwise seem to
    # see the response sooner than the server sent it.
    request_read: float | None = None
    processing_ms: int | None = None
    headers_sent: float | None = None  # perf_counter just before the headers are written
    content_sent: list[float] = field(default_factory=list)  # perf_counter as each content chunk is written
    # perf_counter once the first content chunk's send returned: its bytes left in [content_sent[0], this]
    first_content_written: float | None = None
    output_tokens: int | None = None
    content_kind: str | None = None
    background: bool = False
    planned_background_ms: float | None = None
    retry_after_s: float | None = None
    client_disconnected: bool = False
    client_disconnected_at: float | None = None  # perf_counter when the server noticed
    response_complete: bool = False
    tokens_charged: int = 0
    planned_wait_ms: float | None = None
    planned_stall_ms: float | None = None
    planned_token_delays_ms: list[float] = field(default_factory=list)

    @property
    def request_received(self) -> float:
        """The origin of every measured *_ms: the whole request in (headers only, if no body was read)."""
        return self.request_read if self.request_read is not None else self.started

    def to_dict(self) -> dict[str, Any]:
        sent = self.content_sent
        origin = self.request_received
        return {
            "request_id": self.request_id,
            "received_at": self.received_at,
            "method": self.method,
            "path": self.path,
            "client_port": self.client_port,
            "api": self.api,
            "model": self.model,
            "stream": self.stream,
            "n": self.n,
            "idempotency_key": self.idempotency_key,
            "retry_count": self.retry_count,
            "fault": self.fault,
            "status": self.status,
            "request_read_ms": None if self.request_read is None else _ms(self.request_read - self.started),
            "server_wait_ms": None if self.headers_sent is None else _ms(self.headers_sent - origin),
            "processing_ms": self.processing_ms,
            "ttft_ms": _ms(sent[0] - origin) if self.stream and sent else None,
            "ttft_write_ms": _ms(self.first_content_written - sent[0])
            if self.stream and sent and self.first_content_written is not None
            else None,
            "token_delays_ms": [_ms(later - earlier) for earlier, later in pairwise(sent)],
            "content_chunks": len(sent),
            "output_tokens": self.output_tokens,
            "content_kind": self.content_kind,
            "background": self.background,
            "planned_background_ms": self.planned_background_ms,
            "retry_after_s": self.retry_after_s,
            "client_disconnected": self.client_disconnected,
            "client_disconnected_ms": None
            if self.client_disconnected_at is None
            else _ms(self.client_disconnected_at - origin),
            # A body "sent" to a client that had already gone never arrived.
            "response_complete": self.response_complete and not self.client_disconnected,
            "planned_wait_ms": self.planned_wait_ms,
            "planned_stall_ms": self.planned_stall_ms,
            "planned_token_delays_ms": self.planned_token_delays_ms,
        }


class GroundTruthLog:
    """Appends one JSON line per request to a file, each line written whole and at once.

    An O_APPEND descriptor and a single os.write per line (under a lock) keep
    lines intact even if several threads or processes share the file, and
    nothing sits in a user-space buffer if the process is killed.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: RequestRecord) -> None:
        line = (json.dumps(record.to_dict(), separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._fd is None:
                return
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
