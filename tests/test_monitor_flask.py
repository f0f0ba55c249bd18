"""The Flask extension per request: the id it answers and the duration it observes by route and
status. Real SDK, real HTTP to the simulator, Flask's test client in front."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from flask import Flask, Response

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
    assert statuses == [200, 200, 404, 500]
    assert _count(app, DURATION, http_route="/chat", http_response_status_code="200") == 2
    assert _count(app, DURATION, http_route="", http_response_status_code="404") == 1
    assert _count(app, DURATION, http_route="/broken", http_response_status_code="500") == 1
    assert _count(app, CALLS, gen_ai_operation_name="chat") == 2
