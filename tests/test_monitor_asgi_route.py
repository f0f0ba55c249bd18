"""The ASGI middleware's records of a call carry the route the router matched, even when they are
handled while the request is still going on. The real SDK over real HTTP to an unreachable port (a
connection refused), the app and the middleware served in process by httpx2's ASGI transport."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path

import httpx2
import openai
import pytest
from fastapi import FastAPI, Response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

import profiler.monitor
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.telemetry import Telemetry
from tests.test_monitor_support import metric_total


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


def test_the_request_id_is_answered_once_and_a_routes_own_is_kept() -> None:
    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)
    app = FastAPI()
    profiler.monitor.init_app(app, telemetry=telemetry, metrics_path=None)

    @app.get("/books")
    async def books() -> dict[str, str]:
        return {"shelf": "rainy-day"}

    @app.get("/own-id")
    async def own_id() -> Response:
        return Response("ok", headers={"X-Request-ID": "set-by-the-route"})

    async def ask() -> list[list[str]]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            answers = [
                await client.get("/books", headers={"X-Request-ID": "proxy-7"}),
                await client.get("/books"),
                await client.get("/own-id", headers={"X-Request-ID": "proxy-8"}),
            ]
        return [answer.headers.get_list("x-request-id") for answer in answers]

    try:
        sent, made, own = asyncio.run(ask())
    finally:
        telemetry.close()
    assert sent == ["proxy-7"]  # the caller's (or its proxy's) id, answered back
    assert len(made) == 1 and made[0]  # one made up when none was sent
    assert own == ["set-by-the-route"]  # a route that answers its own id keeps it, once


def test_metrics_are_served_below_the_apps_root_path() -> None:
    """Behind a proxy's prefix (uvicorn --root-path) or mounted as a sub-app, ``path`` holds the prefix."""
    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)
    app = FastAPI()
    profiler.monitor.init_app(app, telemetry=telemetry)

    async def ask(root_path: str, path: str, method: str = "GET") -> httpx2.Response:
        transport = httpx2.ASGITransport(app=app, root_path=root_path)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, path)

    try:
        below_prefix = asyncio.run(ask("/api", "/api/metrics"))
        plain = asyncio.run(ask("", "/metrics"))
        elsewhere = asyncio.run(ask("/api", "/api/metricsx"))
        posted = asyncio.run(ask("", "/metrics", "POST"))
        head = asyncio.run(ask("", "/metrics", "HEAD"))
    finally:
        telemetry.close()
    for answer in (below_prefix, plain):
        assert answer.status_code == 200 and "http_server_request_duration" in answer.text
    assert elsewhere.status_code == 404
    # The path is the monitor's: another method is not allowed there (as in Flask), not "not found".
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    assert head.status_code == 200 and head.content == b""


def test_answers_of_starlettes_error_middleware_carry_the_id_and_are_timed_with_their_status() -> None:
    """Starlette answers an exception the app did not handle outside any middleware the app added: a
    500, or the app's own handler for Exception. The monitor sits outside it and sees that answer."""
    errors = io.StringIO()
    metrics = ServiceMetrics()
    telemetry = Telemetry(metrics=metrics, error_stream=errors)
    app = FastAPI()
    profiler.monitor.init_app(app, telemetry=telemetry, metrics_path=None)
    handled = FastAPI()
    profiler.monitor.init_app(handled, telemetry=telemetry, metrics_path=None)

    @app.get("/boom")
    @handled.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in the route")

    @handled.exception_handler(Exception)
    async def unavailable(_request: object, _exc: Exception) -> Response:
        return Response("try later", status_code=503)

    async def ask(target: FastAPI) -> httpx2.Response:
        transport = httpx2.ASGITransport(app=target, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/boom", headers={"X-Request-ID": "boom-1"})

    try:
        plain, with_handler = asyncio.run(ask(app)), asyncio.run(ask(handled))
        exposition = telemetry.exposition().decode()
    finally:
        telemetry.close()
    assert (plain.status_code, plain.headers.get_list("x-request-id")) == (500, ["boom-1"])
    assert (with_handler.status_code, with_handler.headers.get_list("x-request-id")) == (503, ["boom-1"])
    timed = [
        line
        for line in exposition.splitlines()
        if line.startswith("http_server_request_duration_seconds_count")
    ]
    assert any('http_response_status_code="500"' in line and 'http_route="/boom"' in line for line in timed)
    assert any('http_response_status_code="503"' in line for line in timed), timed
    records = [json.loads(line) for line in errors.getvalue().splitlines()]
    assert [(r["event"], r["http_request_id"], r["http_route"]) for r in records] == [
        ("unhandled_error", "boom-1", "/boom"),
        ("unhandled_error", "boom-1", "/boom"),
    ]


def test_an_app_that_serves_its_own_metrics_path_is_refused_at_start_up() -> None:
    app = FastAPI()

    @app.get("/metrics")
    async def own_metrics() -> str:
        return "mine"

    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)
    try:
        with pytest.raises(ValueError, match="already serves /metrics; pass metrics_path=None"):
            profiler.monitor.init_app(app, telemetry=telemetry)
        profiler.monitor.init_app(
            app, telemetry=telemetry, metrics_path="/internal/metrics"
        )  # elsewhere: fine
    finally:
        telemetry.close()


def _versioned_api(framework: str, mount_static: Path) -> Starlette:
    """/v1 and /v2 mounted side by side, each with /books/{shelf}; /health; static files under /static."""

    async def books(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["shelf"])

    async def health(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    if framework == "starlette":
        versions = [Mount(f"/{v}", app=Router([Route("/books/{shelf:str}", books)])) for v in ("v1", "v2")]
        static = Mount("/static", app=StaticFiles(directory=mount_static))
        return Starlette(routes=[Route("/health", health), *versions, static])
    app = FastAPI()
    for version in ("v1", "v2"):
        api = FastAPI()
        api.add_api_route("/books/{shelf:str}", books)
        app.mount(f"/{version}", api)
    app.add_api_route("/health", health)
    app.mount("/static", StaticFiles(directory=mount_static))
    return app


@pytest.mark.parametrize("framework", ["fastapi", "starlette"])
def test_a_mounted_apps_route_is_its_mounts_path_and_its_own(framework: str, tmp_path: Path) -> None:
    """A mounted app's router puts its own route in ``scope["route"]`` (Starlette's over its mount's;
    FastAPI's never puts the mount): two versions of an API side by side are still two routes, a
    path inside a mount that matches nothing has none, and static files have their mount's."""
    (tmp_path / "cover.txt").write_text("rain")
    metrics = ServiceMetrics()
    telemetry = Telemetry(metrics=metrics, error_stream=None)
    app = _versioned_api(framework, tmp_path)
    profiler.monitor.init_app(app, telemetry=telemetry, metrics_path=None)

    async def ask() -> list[int]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            paths = (
                "/v1/books/rainy", "/v2/books/sunny", "/v2/books/cloudy", "/health", "/v1/nothing",
                "/static/cover.txt",
            )  # fmt: skip
            return [(await client.get(path)).status_code for path in paths]

    try:
        assert asyncio.run(ask()) == [200, 200, 200, 200, 404, 200]
        exposition = telemetry.exposition().decode()
    finally:
        telemetry.close()
    count = "http_server_request_duration_seconds_count"
    assert metric_total(exposition, count, http_route="/v1/books/{shelf}") == 1
    assert metric_total(exposition, count, http_route="/v2/books/{shelf}") == 2
    assert metric_total(exposition, count, http_route="/health") == 1
    assert metric_total(exposition, count, http_route="", http_response_status_code="404") == 1
    assert metric_total(exposition, count, http_route="/static/{path}") == 1
    assert metric_total(exposition, count) == 6


def test_a_mounted_app_wrapped_in_a_middleware_keeps_its_routes() -> None:
    """A middleware around a mounted app hides its routes from the mount: the router inside still
    reports the route it matched, and that is the template under the mount's prefix."""
    from starlette.middleware.gzip import GZipMiddleware

    async def books(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["shelf"])

    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)
    inner = Starlette(routes=[Route("/books/{shelf}", books)])
    app = Starlette(routes=[Mount("/v1", app=GZipMiddleware(inner))])
    profiler.monitor.init_app(app, telemetry=telemetry, metrics_path=None)

    async def ask() -> list[int]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            return [(await client.get(path)).status_code for path in ("/v1/books/rainy", "/v1/nothing")]

    try:
        assert asyncio.run(ask()) == [200, 404]
        exposition = telemetry.exposition().decode()
    finally:
        telemetry.close()
    count = "http_server_request_duration_seconds_count"
    assert metric_total(exposition, count, http_route="/v1/books/{shelf}") == 1
    assert metric_total(exposition, count, http_route="/v1/{path}", http_response_status_code="404") == 1


def test_a_hand_wrapped_app_keeps_its_own_other_methods_on_the_metrics_path() -> None:
    """Wrapped by hand (no init_app to check the app), GET /metrics is the monitor's and a POST
    there is still the app's; through init_app, which refused an app with the path, it is 405."""
    from profiler.monitor import MonitorMiddleware

    async def receive_metrics(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("pushed", status_code=202)

    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)
    inner = Starlette(routes=[Route("/metrics", receive_metrics, methods=["POST"])])
    app = MonitorMiddleware(inner, telemetry=telemetry)

    async def ask(method: str) -> httpx2.Response:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, "/metrics")

    try:
        scraped, pushed = asyncio.run(ask("GET")), asyncio.run(ask("POST"))
    finally:
        telemetry.close()
    assert scraped.status_code == 200 and "http_server_request_duration" in scraped.text
    assert (pushed.status_code, pushed.text) == (202, "pushed")
