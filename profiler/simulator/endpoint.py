"""The one request flow every endpoint shares: read, check, plan, wait, answer, or fail as planned.

Handlers (`api/handlers.py`) say what the answer is; this module owns when and
how it goes out, and how a fault breaks it: a 429 or 5xx at once, a stall, a
connection dropped mid-body, JSON cut in half, a stream that stops early.
Each `send` is timed where it happens, for the ground-truth log.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

from starlette.types import Receive, Scope, Send

from .api.handlers import Handler
from .api.reply import Answer, Script
from .body import BodyTooLarge, read_body
from .disconnect import DisconnectWatch
from .errors import NOT_JSON, InvalidRequest, error_body
from .faults import ConnectionDropped
from .ground_truth import RequestRecord
from .latency import pause
from .limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from .safe_json import JSONRejected, loads
from .state import ReplyPlan, SimulatorState
from .wire import encode_json

__all__ = ["RECORD", "Endpoint", "send_json"]

logger = logging.getLogger("profiler.simulator")

# Where the bookkeeping middleware leaves the request's record for the endpoint to fill in.
RECORD = "profiler.simulator.record"


class Endpoint:
    """An ASGI app for one route, driving its handler through the shared flow."""

    def __init__(self, state: SimulatorState, handler: Handler) -> None:
        self.state = state
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        record: RequestRecord = scope[RECORD]
        record.api = self.handler.api
        payload: dict[str, Any] | None = None
        try:
            if self.handler.reads_body:
                try:
                    body = await read_body(receive, MAX_BODY_BYTES)
                except BodyTooLarge as exc:
                    raise InvalidRequest(
                        f"The request body is {exc.size} bytes, more than the {exc.limit} bytes allowed.",
                        code="request_too_large",
                    ) from None
                if body is None:
                    record.client_disconnected = True
                    return
                payload = parse_payload(body)
            answer = self.handler.answer(payload, scope, self.state)
        except InvalidRequest as exc:
            await send_json(send, exc.status, exc.body)
            return

        plan = self.state.plan(answer)
        _note(record, answer, plan)
        watch = DisconnectWatch(receive)
        try:
            await self._respond(send, answer, plan, record, watch)
        finally:
            watch.stop()
            if watch.disconnected_at is not None:
                record.client_disconnected = True
                record.client_disconnected_at = watch.disconnected_at

    async def _respond(
        self, send: Send, answer: Answer, plan: ReplyPlan, record: RequestRecord, watch: DisconnectWatch
    ) -> None:
        scenario = self.state.scenario
        if plan.fault == "rate_limit":
            record.retry_after_s = scenario.retry_after_s
            where = f" for {answer.model}" if answer.model else ""
            message = (
                f"Rate limit reached{where} on requests per min (RPM): "
                f"Limit {self.state.budget.limit_requests}. Please try again in {scenario.retry_after_s:g}s."
            )
            watch.stop()
            retry_after = [(b"retry-after", f"{scenario.retry_after_s:g}".encode())]
            await send_json(
                send, 429, error_body(message, "requests", code="rate_limit_exceeded"), retry_after
            )
            return
        if plan.fault == "server_error":
            status = self.state.faults.next_server_error_status()
            if status == 500:
                body = error_body(
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    code="server_error",
                )
            else:
                body = error_body(
                    "The server is overloaded or not ready yet.", "server_error", code="service_unavailable"
                )
            watch.stop()
            await send_json(send, status, body)
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
        if not await pause(plan.timing.wait_ms / 1000.0, watch.event):
            return
        if answer.script is not None:
            await self._stream(send, answer, answer.script(), plan, record, watch)
        else:
            await self._plain(send, answer, plan, watch)

    async def _plain(self, send: Send, answer: Answer, plan: ReplyPlan, watch: DisconnectWatch) -> None:
        body = encode_json(answer.body())
        if plan.fault == "malformed":
            # Cut in half: a well-framed HTTP response whose JSON stops mid-object.
            body = body[: len(body) // 2]
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        _delivered(answer)
        if plan.fault == "disconnect":
            await _send_body(send, body[: len(body) // 2])
            raise ConnectionDropped
        watch.stop()
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream(
        self,
        send: Send,
        answer: Answer,
        script: Script,
        plan: ReplyPlan,
        record: RequestRecord,
        watch: DisconnectWatch,
    ) -> None:
        headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        _delivered(answer)
        for frame in script.preamble():
            await _send_body(send, frame)

        rounds = answer.tokens
        if plan.fault in ("truncated_stream", "disconnect"):
            rounds = max(1, rounds // 2)
        last_content = b""
        for token in range(rounds):
            if token > 0 and not await pause(plan.timing.token_gaps_ms[token - 1] / 1000.0, watch.event):
                return
            for frame, is_content in script.round(token):
                handed_over = perf_counter()  # before the write, as the headers are (bookkeeping.py)
                await _send_body(send, frame)
                if is_content:
                    if not record.content_sent:
                        record.first_content_written = perf_counter()
                    record.content_sent.append(handed_over)
                    last_content = frame
            if plan.fault == "malformed":
                # An event whose data stops mid-object, in an otherwise well-formed stream.
                await _send_body(send, last_content[: len(last_content) // 2] + b"\n\n")
                watch.stop()
                await send({"type": "http.response.body", "body": script.terminator, "more_body": False})
                return

        if plan.fault == "disconnect":
            raise ConnectionDropped
        if plan.fault == "truncated_stream":
            # A clean end of the HTTP body, but no finish event and no terminator.
            watch.stop()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        for frame in script.closing():
            await _send_body(send, frame)
        watch.stop()
        await send({"type": "http.response.body", "body": script.terminator, "more_body": False})


def parse_payload(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or the 400 the API answers for anything else."""
    try:
        payload = loads(body, max_depth=MAX_JSON_DEPTH)
    except JSONRejected as exc:
        if exc.reason == "depth":
            raise InvalidRequest(f"The JSON body of your request is {exc}.", code="json_too_deep") from None
        # NaN, Infinity and lone surrogates are not JSON to the API: the same answer as a syntax error.
        raise InvalidRequest(NOT_JSON) from None
    if not isinstance(payload, dict):
        raise InvalidRequest(NOT_JSON)
    return payload


def _note(record: RequestRecord, answer: Answer, plan: ReplyPlan) -> None:
    record.model = answer.model
    record.stream = answer.stream
    record.n = answer.n
    record.fault = plan.fault
    record.output_tokens = answer.tokens if answer.content_kind in ("text", "json", "tool_calls") else None
    record.content_kind = answer.content_kind
    record.tokens_charged = answer.usage_tokens
    record.planned_wait_ms = round(plan.timing.wait_ms, 3)
    record.planned_token_delays_ms = [round(gap, 3) for gap in plan.timing.token_gaps_ms]
    if answer.background_ms is not None:
        record.background = True
        record.planned_background_ms = round(answer.background_ms, 3)


def _delivered(answer: Answer) -> None:
    if answer.on_delivered is not None:
        answer.on_delivered()


async def _send_body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def send_json(
    send: Send, status: int, body: Any, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = encode_json(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})
