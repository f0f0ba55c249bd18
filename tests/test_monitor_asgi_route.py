"""The ASGI middleware's records of a call carry the route the router matched, even when they are
handled while the request is still going on. The real SDK over real HTTP to an unreachable port (a
connection refused), the app and the middleware served in process by httpx2's ASGI transport."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json

import httpx2
import openai
from fastapi import FastAPI

import profiler.monitor
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.telemetry import Telemetry


def test_a_calls_records_carry_the_route_while_its_request_goes_on() -> None:
    errors = io.StringIO()
    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=errors)
    app = FastAPI()
    profiler.monitor.init_app(app, telemetry=telemetry, metrics_path=None)
    unreachable = openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-test", max_retries=0)

    @app.get("/books/{shelf}")
    async def books(shelf: str) -> dict[str, str]:
        with contextlib.suppress(openai.APIConnectionError):
            await unreachable.chat.completions.create(
                model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}]
            )
        # A scrape now makes the worker handle the failed call before the request ends, as it does
        # on its own once a call is older than its linger (a long stream, a slow second call).
        telemetry.flush()
        handled = [json.loads(line)["http_route"] for line in errors.getvalue().splitlines()]
        return {"shelf": shelf, "routes_when_handled": ",".join(handled)}

    async def ask() -> httpx2.Response:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/books/rainy-day", headers={"X-Request-ID": "shelf-1"})

    try:
        answer = asyncio.run(ask())
    finally:
        telemetry.close()
    assert answer.status_code == 200
    # attempt_failed and request_failed, both handled during the request, both with its route.
    assert answer.json()["routes_when_handled"] == "/books/{shelf},/books/{shelf}"
    records = [json.loads(line) for line in errors.getvalue().splitlines()]
    assert [(r["event"], r["http_request_id"]) for r in records] == [
        ("attempt_failed", "shelf-1"),
        ("request_failed", "shelf-1"),
    ]
