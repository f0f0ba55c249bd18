"""The middleware that gives every response its OpenAI headers and every request its ground-truth line."""

from __future__ import annotations

import time
from time import perf_counter

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .endpoint import RECORD
from .ground_truth import RequestRecord
from .headers import OPENAI_VERSION
from .settle import SETTLE_PATH, answer_settle
from .state import SimulatorState
from .wire import new_request_id

__all__ = ["Bookkeeping"]


class Bookkeeping:
    """Outside Starlette, so that even its own 404s and 500s get ids, headers and a log line."""

    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == SETTLE_PATH and scope["method"] == "GET":
            await answer_settle(self.state, scope, send)
            return
        started = perf_counter()
        headers = Headers(scope=scope)
        peer = scope.get("client")
        record = RequestRecord(
            request_id=new_request_id(),
            received_at=time.time(),
            started=started,
            method=scope["method"],
            path=scope["path"],
            client_port=peer[1] if peer and isinstance(peer[1], int) else None,
            idempotency_key=headers.get("idempotency-key"),
            retry_count=_int_or_none(headers.get("x-stainless-retry-count")),
        )
        scope[RECORD] = record

        async def receive_noting_the_end() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                record.request_read = perf_counter()
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Whole ms rounded down, so the figure never exceeds the wait a client can see.
                record.processing_ms = int((perf_counter() - record.request_received) * 1000)
                record.status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *self._headers(record)]}
                # Stamped as the headers are handed over, not after: a process preempted between its
                # write and a later stamp would log a wait longer than any client could see.
                handed_over = perf_counter()
                await send(message)
                record.headers_sent = handed_over
                return
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record.response_complete = True

        self.state.in_flight += 1
        try:
            await self.app(scope, receive_noting_the_end, send_with_headers)
        finally:
            if self.state.log is not None:
                self.state.log.write(record)
            self.state.in_flight -= 1
            self.state.finished += 1

    def _headers(self, record: RequestRecord) -> list[tuple[bytes, bytes]]:
        if record.fault == "rate_limit":
            rate_limits = self.state.budget.exhausted(self.state.scenario.retry_after_s)
        else:
            rate_limits = self.state.budget.spend(record.tokens_charged)
        pairs = [
            ("x-request-id", record.request_id),
            ("openai-processing-ms", str(record.processing_ms)),
            ("openai-version", OPENAI_VERSION),
            ("openai-model", _header_safe(record.model or "")),
            *rate_limits,
        ]
        return [(name.encode(), value.encode()) for name, value in pairs]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header_safe(value: str) -> str:
    # The model name is the client's to choose; keep it from breaking (or injecting) headers.
    return "".join(char if " " <= char <= "~" else "?" for char in value)
