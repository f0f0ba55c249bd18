"""The Flask /chat service: real SDK, real HTTP to the simulator, Flask's test client in front."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import openai
import pytest
from flask.testing import FlaskClient

from profiler.app import create_app
from profiler.monitor.error_log import ERROR_LOGGER
from profiler.simulator import SimulatorProcess, load_scenario
from tests.test_monitor_support import metric_total

CALLS = "gen_ai_client_operation_duration_seconds_count"


def _client_for(scenario_name: str, **changes: object) -> Iterator[FlaskClient]:
    scenario = dataclasses.replace(load_scenario(scenario_name), **changes)
    with SimulatorProcess(scenario) as simulator:
        sdk = openai.OpenAI(
            base_url=simulator.base_url, api_key="sk-test-app-key", max_retries=0, timeout=0.5
        )
        yield create_app(sdk).test_client()


@pytest.fixture(scope="module")
def app_client() -> Iterator[FlaskClient]:
    yield from _client_for("instant")


def test_chat_with_a_prompt(app_client: FlaskClient) -> None:
    response = app_client.post("/chat", json={"prompt": "Two books for a rainy day?"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["request_id"].startswith("req_")
    # Its own id is the request's: the one answered in X-Request-ID, and new for every request.
    assert body["id"] == response.headers["X-Request-ID"]
    again = app_client.post("/chat", json={"prompt": "hi"}, headers={"X-Request-ID": "caller-42"})
    assert again.get_json()["id"] == "caller-42" != body["id"]
    assert body["choices"][0]["message"]["content"]
    assert body["usage"]["output_tokens"] == 8
    assert "timing" not in body  # asked for with ?timing=1: deriving it costs the request


@pytest.mark.parametrize("flag", ["1", "true"])
def test_chat_answers_with_its_timing_when_asked(app_client: FlaskClient, flag: str) -> None:
    response = app_client.post(f"/chat?timing={flag}", json={"prompt": "Two books for a rainy day?"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["request_id"].startswith("req_") and body["usage"]["output_tokens"] == 8
    phases = body["timing"]["phases_ms"]
    assert {"server_wait", "network", "local", "local_pre", "local_post"} <= set(phases)
    assert phases["server_wait"] > 0
    assert body["timing"]["attempts"] == 1
    assert body["timing"]["latency_ms"] >= phases["network"] + phases["local_pre"]


def test_chat_refuses_an_unknown_timing_flag(app_client: FlaskClient) -> None:
    response = app_client.post("/chat?timing=yes", json={"prompt": "hi"})
    assert response.status_code == 400
    assert "'timing' must be 1, true, 0 or false" in response.get_json()["error"]["message"]


def test_a_call_answered_without_timing_still_reaches_the_metrics(app_client: FlaskClient) -> None:
    def calls() -> float:  # /metrics flushes the monitor's worker first
        exposition = app_client.get("/metrics").get_data(as_text=True)
        return metric_total(exposition, CALLS, error_type="", gen_ai_operation_name="chat")

    before = calls()
    for _ in range(3):
        assert "timing" not in app_client.post("/chat?timing=0", json={"prompt": "hi"}).get_json()
    assert calls() == before + 3


def test_chat_with_messages_streamed(app_client: FlaskClient) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A book?"}]
    response = app_client.post("/chat", json={"messages": messages, "stream": True})
    assert response.status_code == 200
    body = response.get_json()
    assert body["choices"][0]["message"]["content"] and body["request_id"].startswith("req_")
    assert body["usage"]["output_tokens"] > 0
    metrics = app_client.get("/metrics").get_data(as_text=True)
    assert "gen_ai_client_operation_time_to_first_chunk_seconds_count" in metrics


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "needs 'messages'"),
        (b'{"messages": []}', "list of 1 to"),
        (b'{"messages": [{"role": "user", "content": 5}]}', "messages[0]"),
        (b'{"messages": [{"role": "wizard", "content": "x"}]}', "known 'role'"),
        (b'{"prompt": 7}', "'prompt' must be"),
        (b'{"prompt": "x", "model": 3}', "'model' must be"),
        (b'{"prompt": "x", "stream": "yes"}', "'stream' must be"),
        (b'{"prompt": "' + b"x" * 70_000 + b'"}', "larger than"),
    ],
)
def test_bad_input_gets_400_with_a_clear_message(
    app_client: FlaskClient, payload: bytes, message: str
) -> None:
    response = app_client.post("/chat", data=payload, content_type="application/json")
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]


def test_health_and_metrics(app_client: FlaskClient) -> None:
    assert app_client.get("/healthz").get_json() == {"status": "ok"}
    app_client.post("/chat", json={"prompt": "hi"})
    metrics = app_client.get("/metrics").get_data(as_text=True)
    assert (
        'gen_ai_client_operation_duration_seconds_bucket{error_type="",gen_ai_operation_name="chat"'
        in metrics
    )
    assert 'le="81.92"' in metrics
    assert 'gen_ai_client_token_usage_bucket{gen_ai_operation_name="chat"' in metrics
    assert (
        'http_server_request_duration_seconds_count{http_request_method="POST",http_response_status_code="200",http_route="/chat"}'
        in metrics
    )
    assert "rainy" not in metrics and "req_" not in metrics  # no prompts or ids as labels


@pytest.mark.parametrize(
    ("fault", "status", "kind"),
    [
        ("rate_limit", 503, "rate_limit"),
        ("server_error", 502, "server_error"),
        ("timeout", 504, "timeout"),
        ("disconnect", 502, "connection"),
        ("malformed", 502, "invalid_response"),
    ],
)
def test_upstream_failure_is_generic_for_the_caller_and_detailed_in_the_log(
    fault: str, status: int, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    faults = {name: 0.0 for name in ("rate_limit", "server_error", "timeout", "disconnect", "malformed")}
    for client in _client_for("instant", faults={**faults, fault: 1.0}, stall_s=2.0, retry_after_s=0.01):
        with caplog.at_level(logging.WARNING, logger=ERROR_LOGGER):
            response = client.post("/chat", json={"prompt": "hi"})
            client.application.extensions["profiler.monitor"].telemetry.flush()  # records come from a worker
        assert response.status_code == status
        error = response.get_json()["error"]
        assert error["kind"] == kind
        assert "try again later" in error["message"]
        text = response.get_data(as_text=True)
        assert "Traceback" not in text and "Error(" not in text and "sk-test" not in text
        failed = [r for r in caplog.records if getattr(r, "event", None) == "request_failed"]
        assert len(failed) == 1 and failed[0].exc_info is not None  # the traceback goes to the log
        assert failed[0].error_kind == kind
        metrics = client.get("/metrics").get_data(as_text=True)
        labels = f'error_kind="{kind}",gen_ai_operation_name="chat"'
        assert f"profiler_openai_errors_total{{{labels}}} 1.0" in metrics
