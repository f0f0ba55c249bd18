"""The ASGI application: routes, the chat completions endpoint and per-request bookkeeping.

Endpoints talk raw ASGI rather than returning Starlette responses because the
timing is the product: each `send` is timed where it happens, and a fault may
need to stop half-way through a body.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import responses
from .chat_request import ChatRequest, InvalidRequest, parse_chat_request
from .content import write_replies
from .faults import ConnectionDropped, FaultPlan
from .ground_truth import GroundTruthLog, RequestRecord
from .headers import OPENAI_VERSION, RateLimitBudget
from .latency import LatencyModel, ReplyTiming, pause
from .scenario import Scenario

__all__ = ["create_app"]

logger = logging.getLogger("profiler.simulator")

# Where the bookkeeping middleware leaves the request's record for the endpoint to fill in.
_RECORD = "profiler.simulator.record"


def create_app(scenario: Scenario, ground_truth_path: Path | None = None) -> ASGIApp:
    """An OpenAI-compatible ASGI app that behaves as `scenario` says and logs what it did."""
    state = _SimulatorState(scenario, GroundTruthLog(ground_truth_path) if ground_truth_path else None)
    routes = [
        Route("/v1/chat/completions", _ChatCompletions(state), methods=["POST"]),
        Route("/v1/models", _list_models, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _invalid_url})
    # Outside Starlette, so that even its own 404s and 500s get ids, headers and a log line.
    return _Bookkeeping(app, state)


class _SimulatorState:
    """Everything requests share; touched only from the event loop thread, so no locks."""

    def __init__(self, scenario: Scenario, log: GroundTruthLog | None) -> None:
        self.scenario = scenario
        self.log = log
        self.faults = FaultPlan(scenario)
        self.latency = LatencyModel(scenario)
        self.content_rng = random.Random(f"{scenario.seed}:content")
        self.budget = RateLimitBudget()
        self.system_fingerprint = f"fp_{random.Random(f'{scenario.seed}:fp').getrandbits(40):010x}"

    def plan(self, request: ChatRequest) -> _ReplyPlan:
        # All draws for one request happen together, so a request's plan depends only
        # on the seed and its arrival order, never on how other requests interleave.
        fault = self.faults.draw()
        if fault == "truncated_stream" and not request.stream:
            fault = None  # there is no stream to cut short
        tokens = self.scenario.output_tokens
        return _ReplyPlan(
            fault=fault,
            timing=self.latency.plan(stream=request.stream),
            replies=write_replies(self.content_rng, request.n, tokens),
            usage=responses.usage(request.prompt_tokens, tokens * request.n),
        )


@dataclass(frozen=True)
class _ReplyPlan:
    fault: str | None
    timing: ReplyTiming
    replies: list[list[str]]
    usage: responses.Usage


class _Bookkeeping:
    """Gives every response its OpenAI headers and every request its ground-truth line."""

    def __init__(self, app: ASGIApp, state: _SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        headers = Headers(scope=scope)
        record = RequestRecord(
            request_id=responses.new_request_id(),
            received_at=time.time(),
            started=started,
            method=scope["method"],
            path=scope["path"],
            idempotency_key=headers.get("idempotency-key"),
            retry_count=_int_or_none(headers.get("x-stainless-retry-count")),
        )
        scope[_RECORD] = record

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
                await send(message)
                record.headers_sent = perf_counter()
                return
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record.response_complete = True

        try:
            await self.app(scope, receive_noting_the_end, send_with_headers)
        finally:
            if self.state.log is not None:
                self.state.log.write(record)

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


class _ChatCompletions:
    """POST /v1/chat/completions: a plain reply or a stream, possibly with an injected fault."""

    def __init__(self, state: _SimulatorState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        record: RequestRecord = scope[_RECORD]
        body = await _read_body(receive)
        if body is None:
            record.client_disconnected = True
            return
        try:
            request = parse_chat_request(body)
        except InvalidRequest as exc:
            await _send_json(send, 400, exc.body)
            return

        plan = self.state.plan(request)
        record.model = request.model
        record.stream = request.stream
        record.n = request.n
        record.fault = plan.fault
        record.output_tokens = self.state.scenario.output_tokens
        record.tokens_charged = plan.usage["total_tokens"]
        record.planned_wait_ms = round(plan.timing.wait_ms, 3)
        record.planned_token_delays_ms = [round(gap, 3) for gap in plan.timing.token_gaps_ms]

        watch = _DisconnectWatch(receive)
        try:
            await self._respond(send, request, plan, record, watch)
        finally:
            watch.stop()
            if watch.disconnected_at is not None:
                record.client_disconnected = True
                record.client_disconnected_at = watch.disconnected_at

    async def _respond(
        self,
        send: Send,
        request: ChatRequest,
        plan: _ReplyPlan,
        record: RequestRecord,
        watch: _DisconnectWatch,
    ) -> None:
        scenario = self.state.scenario
        if plan.fault == "rate_limit":
            record.retry_after_s = scenario.retry_after_s
            message = (
                f"Rate limit reached for {request.model} on requests per min (RPM): "
                f"Limit {self.state.budget.limit_requests}. Please try again in {scenario.retry_after_s:g}s."
            )
            body = responses.error(message, "requests", code="rate_limit_exceeded")
            watch.stop()
            await _send_json(send, 429, body, [(b"retry-after", f"{scenario.retry_after_s:g}".encode())])
            return
        if plan.fault == "server_error":
            status = self.state.faults.next_server_error_status()
            if status == 500:
                body = responses.error(
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    code="server_error",
                )
            else:
                body = responses.error(
                    "The server is overloaded or not ready yet.", "server_error", code="service_unavailable"
                )
            watch.stop()
            await _send_json(send, status, body)
            return
        if plan.fault == "timeout":
            record.planned_stall_ms = scenario.stall_s * 1000.0
            record.planned_wait_ms = round(record.planned_stall_ms + plan.timing.wait_ms, 3)
            if not await pause(scenario.stall_s, watch.event):
                logger.info(
                    "request %s: client disconnected %.0f ms into a %g s timeout stall",
                    record.request_id,
                    (perf_counter() - record.request_received) * 1000,
                    scenario.stall_s,
                )
                return
        if request.stream:
            await self._stream(send, request, plan, record, watch)
        else:
            await self._plain(send, request, plan, watch)

    async def _plain(
        self, send: Send, request: ChatRequest, plan: _ReplyPlan, watch: _DisconnectWatch
    ) -> None:
        if not await pause(plan.timing.wait_ms / 1000.0, watch.event):
            return
        body = responses.encode_json(
            responses.completion(
                completion_id=responses.new_completion_id(),
                created=int(time.time()),
                model=request.model,
                replies=["".join(pieces) for pieces in plan.replies],
                usage=plan.usage,
                system_fingerprint=self.state.system_fingerprint,
            )
        )
        if plan.fault == "malformed":
            # Cut in half: a well-framed HTTP response whose JSON stops mid-object.
            body = body[: len(body) // 2]
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if plan.fault == "disconnect":
            await _send_body(send, body[: len(body) // 2])
            raise ConnectionDropped
        watch.stop()
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream(
        self,
        send: Send,
        request: ChatRequest,
        plan: _ReplyPlan,
        record: RequestRecord,
        watch: _DisconnectWatch,
    ) -> None:
        if not await pause(plan.timing.wait_ms / 1000.0, watch.event):
            return
        chunks = responses.ChunkWriter(
            model=request.model,
            system_fingerprint=self.state.system_fingerprint,
            include_usage=request.include_usage,
        )
        headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for index in range(request.n):
            await _send_body(send, chunks.role(index))

        tokens = self.state.scenario.output_tokens
        if plan.fault in ("truncated_stream", "disconnect"):
            tokens = max(1, tokens // 2)
        for token in range(tokens):
            if token > 0 and not await pause(plan.timing.token_gaps_ms[token - 1] / 1000.0, watch.event):
                return
            for index, pieces in enumerate(plan.replies):
                await _send_body(send, chunks.content(index, pieces[token]))
                record.content_sent.append(perf_counter())
            if plan.fault == "malformed":
                # An event whose data stops mid-object, in an otherwise well-formed stream.
                broken = chunks.content(0, plan.replies[0][min(1, tokens - 1)])
                await _send_body(send, broken[: len(broken) // 2] + b"\n\n")
                watch.stop()
                await send({"type": "http.response.body", "body": responses.DONE_EVENT, "more_body": False})
                return

        if plan.fault == "disconnect":
            raise ConnectionDropped
        if plan.fault == "truncated_stream":
            # A clean end of the HTTP body, but no finish_reason and no [DONE].
            watch.stop()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        for index in range(request.n):
            await _send_body(send, chunks.finish(index))
        if request.include_usage:
            await _send_body(send, chunks.usage(plan.usage))
        watch.stop()
        await send({"type": "http.response.body", "body": responses.DONE_EVENT, "more_body": False})


class _DisconnectWatch:
    """Listens for `http.disconnect` while the endpoint sleeps, so a client that gave up
    ends the wait at once instead of holding a stalled handler for its full delay."""

    def __init__(self, receive: Receive) -> None:
        self.event = asyncio.Event()
        self.disconnected_at: float | None = None
        self._task = asyncio.create_task(self._watch(receive))

    def stop(self) -> None:
        # Called before the last body message: the server reports the end of a
        # response as `http.disconnect` too, and that must not count as the client leaving.
        self._task.cancel()

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected_at = perf_counter()
                self.event.set()
                return


async def _list_models(request: Request) -> Response:
    return JSONResponse(responses.models_list())


async def _invalid_url(request: Request, exc: Exception) -> Response:
    # The API answers a wrong method on a known path like an unknown path.
    message = f"Invalid URL ({request.method} {request.url.path})"
    return JSONResponse(responses.error(message, "invalid_request_error"), status_code=404)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client went away first."""
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _send_body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _send_json(
    send: Send, status: int, body: Any, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = responses.encode_json(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header_safe(value: str) -> str:
    # The model name is the client's to choose; keep it from breaking (or injecting) headers.
    return "".join(char if " " <= char <= "~" else "?" for char in value)
