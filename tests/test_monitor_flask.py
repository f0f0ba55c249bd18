"""The Flask extension per request: the id it answers and the duration it observes by route and
status, and the calls of a body streamed after the request. Real SDK, real HTTP to the simulator,
Flask's test client in front, or werkzeug's server where a streamed body needs a real one."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator

import httpx2
import openai
import pytest
from flask import Flask, Response, send_file, stream_with_context
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wsgi import FileWrapper

import profiler.monitor
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.telemetry import Telemetry
from profiler.simulator import SimulatorProcess, load_scenario
from tests.test_monitor_support import metric_total

DURATION = "http_server_request_duration_seconds_count"
CALLS = "gen_ai_client_operation_duration_seconds_count"


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with SimulatorProcess(load_scenario("instant")) as simulator:
        yield openai.OpenAI(base_url=simulator.base_url, api_key="sk-test-flask-monitor", max_retries=0)


@pytest.fixture
def app(client: openai.OpenAI) -> Iterator[Flask]:
    app = Flask("monitored")
    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)
    profiler.monitor.init_app(app, telemetry=telemetry)

    def ask() -> str:
        completion = client.chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}]
        )
        return completion.choices[0].message.content or ""

    @app.get("/chat")
    def chat() -> str:
        return ask()

    @app.get("/own-id")
    def own_id() -> Response:
        return Response("ok", headers={"x-request-id": "set-by-the-route"})

    @app.get("/broken")
    def broken() -> str:
        raise RuntimeError("a bug of the app's")

    yield app
    telemetry.close()


def _count(app: Flask, metric: str, **labels: str) -> float:
    return metric_total(app.extensions["profiler.monitor"].telemetry.exposition().decode(), metric, **labels)


def test_the_request_id_is_echoed_when_plain_and_made_otherwise(app: Flask) -> None:
    web = app.test_client()
    assert web.get("/chat", headers={"X-Request-ID": "proxy-7"}).headers.get_all("X-Request-ID") == [
        "proxy-7"
    ]
    made = web.get("/chat", headers={"X-Request-ID": "no spaces allowed\u00e9"}).headers.get_all(
        "X-Request-ID"
    )
    assert len(made) == 1 and made[0] != "no spaces allowed\u00e9" and made[0]
    first, second = (web.get("/chat").headers["X-Request-ID"] for _ in range(2))
    assert first != second
    # A route that answers its own id keeps it, once.
    assert web.get("/own-id").headers.get_all("X-Request-ID") == ["set-by-the-route"]


def test_every_request_is_timed_by_route_and_status(app: Flask) -> None:
    web = app.test_client()
    statuses = [web.get(path).status_code for path in ("/chat", "/chat", "/missing", "/broken")]
    statuses += [web.post("/chat").status_code, web.delete("/metrics").status_code]
    assert statuses == [200, 200, 404, 500, 405, 405]
    assert _count(app, DURATION, http_route="/chat", http_response_status_code="200") == 2
    assert _count(app, DURATION, http_route="", http_response_status_code="404") == 1
    # A method the route does not take: the route's template, as in ASGI (Starlette's partial match).
    assert _count(app, DURATION, http_route="/chat", http_response_status_code="405") == 1
    assert _count(app, DURATION, http_route="/metrics", http_response_status_code="405") == 1
    assert _count(app, DURATION, http_route="/broken", http_response_status_code="500") == 1
    assert _count(app, CALLS, gen_ai_operation_name="chat") == 2


BODY_PAUSE_S = 0.2  # how long a streamed body goes on after its call: the request's duration includes it


@pytest.fixture
def streaming_app(client: openai.OpenAI) -> Iterator[tuple[Flask, io.StringIO]]:
    """Routes whose body is generated after Flask has torn the request down (SSE, the usual way)."""
    app = Flask("streaming")
    errors = io.StringIO()
    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=errors)
    profiler.monitor.init_app(app, telemetry=telemetry)
    unreachable = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-test", max_retries=0)

    def deltas(sdk: openai.OpenAI) -> Iterator[str]:
        for chunk in sdk.chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            yield f"data: {len(chunk.choices)}\n\n"
        time.sleep(BODY_PAUSE_S)
        yield "data: [DONE]\n\n"

    @app.get("/sse")
    def sse() -> Response:  # the call is made while the body is generated
        return Response(stream_with_context(deltas(client)), mimetype="text/event-stream")

    @app.get("/sse-plain")
    def sse_plain() -> Response:  # a plain generator, no request context in the body
        return Response(deltas(client), mimetype="text/event-stream")

    @app.get("/sse-failing")
    def sse_failing() -> Response:
        def body() -> Iterator[str]:
            try:
                yield from deltas(unreachable)
            except openai.APIConnectionError:
                yield "data: upstream unreachable\n\n"

        return Response(body(), mimetype="text/event-stream")

    yield app, errors
    telemetry.close()


def test_calls_made_while_a_body_streams_are_the_requests(
    streaming_app: tuple[Flask, io.StringIO],
) -> None:
    app, errors = streaming_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=10) as web:
            answers = {path: web.get(path) for path in ("/sse", "/sse-plain", "/sse-failing")}
    finally:
        server.shutdown()
        server.server_close()
    assert all(answer.status_code == 200 for answer in answers.values())
    assert all(
        answer.text.endswith("data: [DONE]\n\n") for path, answer in answers.items() if path != "/sse-failing"
    )
    assert answers["/sse-failing"].text == "data: upstream unreachable\n\n"
    # Both streamed calls are counted; the failed one by its error type.
    assert _count(app, CALLS, gen_ai_operation_name="chat", error_type="") == 2
    assert _count(app, CALLS, gen_ai_operation_name="chat", error_type="connection") == 1
    # Each request is timed to the end of its body, not to its headers.
    exposition = app.extensions["profiler.monitor"].telemetry.exposition().decode()
    for route in ("/sse", "/sse-plain"):
        assert metric_total(exposition, DURATION, http_route=route) == 1
        assert (
            metric_total(exposition, "http_server_request_duration_seconds_sum", http_route=route)
            >= BODY_PAUSE_S
        )
    # The failed call's records carry the id the request was answered with.
    records = [json.loads(line) for line in errors.getvalue().splitlines()]
    failed = [record for record in records if record["event"] == "request_failed"]
    assert [record["http_request_id"] for record in failed] == [
        answers["/sse-failing"].headers["X-Request-ID"]
    ]
    assert failed[0]["http_route"] == "/sse-failing"


def test_a_streamed_body_leaves_no_scope_behind(
    client: openai.OpenAI, streaming_app: tuple[Flask, io.StringIO]
) -> None:
    app, _ = streaming_app
    web = app.test_client()
    unread = web.get("/sse", buffered=False)  # its body is not read, and never closed
    read = web.get("/sse")  # the test client reads it all: the call is made, and the request timed
    assert unread.status_code == read.status_code == 200 and read.text.endswith("[DONE]\n\n")
    assert _count(app, CALLS, gen_ai_operation_name="chat") == 1
    assert _count(app, DURATION, http_route="/sse") == 1
    # A call this thread makes outside any request is not taken for one of the app's.
    client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])
    assert _count(app, CALLS, gen_ai_operation_name="chat") == 1
    unread.close()  # a body closed unread: the request ends there, and no call was made
    assert _count(app, DURATION, http_route="/sse") == 2
    assert _count(app, CALLS, gen_ai_operation_name="chat") == 1


def test_a_file_the_server_may_send_itself_is_not_wrapped(app: Flask) -> None:
    class Unsized(io.RawIOBase):  # a file-like object whose size send_file cannot tell
        def __init__(self) -> None:
            self._left = [b"a file's bytes"]

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            data = self._left.pop() if self._left else b""
            buffer[: len(data)] = data
            return len(data)

    @app.get("/file")
    def file() -> Response:
        return send_file(Unsized(), mimetype="application/octet-stream")

    environ = EnvironBuilder(path="/file").get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper  # as gunicorn offers one, to send a file with sendfile
    started: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: started.append(status))
    assert started == ["200 OK"]
    assert isinstance(body, FileWrapper)  # still the server's to send as it can
    assert b"".join(body) == b"a file's bytes"
    body.close()
    assert _count(app, DURATION, http_route="/file") == 1
