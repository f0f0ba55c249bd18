"""/chat takes what the Chat Completions API takes and answers 400 to what it refuses; the CLI checks
every option while parsing. Real SDK, real HTTP to the simulator, Flask's test client in front."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import openai
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiler.app import create_app
from profiler.monitor.error_log import ERROR_LOGGER
from profiler.simulator import SimulatorProcess, load_scenario
from tests.conftest import REPO, clean_env

TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "find_book", "arguments": '{"q":"rain"}'},
}


@pytest.fixture(scope="module")
def client() -> Iterator[FlaskClient]:
    with SimulatorProcess(load_scenario("instant")) as simulator:
        sdk = openai.OpenAI(base_url=simulator.base_url, api_key="sk-test-input", max_retries=0, timeout=2)
        yield create_app(sdk).test_client()


def _post(client: FlaskClient, body: object) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post("/chat", data=data, content_type="application/json")
    return response.status_code, response.get_json()


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        [
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": "A book for a rainy day?"},
            {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"title": "Rebecca"}'},
        ],
        [
            {"role": "developer", "content": "Answer in English.", "name": "house_rules"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "I cannot see images."}]},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "{}"}]},
        ],
    ],
    ids=["text-parts", "tool-round-trip", "every-role"],
)
def test_what_the_api_accepts_is_served(client: FlaskClient, messages: list) -> None:
    status, body = _post(client, {"messages": messages})
    assert status == 200, body
    assert body["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        ({"role": "tool", "content": "x"}, "tool_call_id"),
        ({"role": "assistant", "content": None}, "content is required"),
        ({"role": "user", "content": None, "tool_calls": [TOOL_CALL]}, "unknown field 'tool_calls'"),
        ({"role": "user", "content": []}, "empty list"),
        ({"role": "user", "content": [{"type": "video", "video": {}}]}, "content[0].type"),
        (
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
            "content[0].type",
        ),
        ({"role": "user", "content": [{"type": "text"}]}, "content[0].text must be a string"),
        ({"role": "user", "content": "x", "colour": "red"}, "unknown field 'colour'"),
        ({"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]}, "function"),
        ({"role": "user", "content": "x", "name": 3}, "name must be a string"),
    ],
)
def test_what_the_api_refuses_is_a_400_naming_it(client: FlaskClient, message: dict, complaint: str) -> None:
    status, body = _post(client, {"messages": [message]})
    assert status == 400
    assert complaint in body["error"]["message"]


def test_a_lone_surrogate_is_the_callers_bad_input(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=ERROR_LOGGER):
        for body in (
            b'{"prompt": "\\ud800"}',
            b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "a\\udfff"}]}]}',
            b'{"prompt": "hi", "model": "gpt\\ud800"}',
        ):
            status, answer = _post(client, body)
            assert status == 400 and "surrogate" in answer["error"]["message"]
        client.application.extensions["profiler.monitor"].telemetry.flush()
    assert not [r for r in caplog.records if r.name == ERROR_LOGGER], "not an upstream failure"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "profiler_openai_errors_total{" not in metrics


@pytest.mark.parametrize("depth", [990, 100_000])
def test_deeply_nested_json_is_a_400(client: FlaskClient, depth: int) -> None:
    body = b'{"prompt": ' + b"[" * depth + b"]" * depth + b"}"
    status, answer = _post(client, body)
    assert status == 400, answer
    assert "nested" in answer["error"]["message"] or "larger than" in answer["error"]["message"]


def test_990_levels_fit_in_2_kb_and_are_refused_for_their_depth(client: FlaskClient) -> None:
    body = b"[" * 990 + b"]" * 990
    assert len(body) < 2048
    status, answer = _post(client, body)
    assert (status, "nested more than 64 levels" in answer["error"]["message"]) == (400, True)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ROLE_SHAPED = st.fixed_dictionaries(
    {"messages": st.lists(st.dictionaries(st.sampled_from(["role", "content", "name", "tool_calls"]), JSON))}
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=JSON
    | ROLE_SHAPED
    | st.dictionaries(st.sampled_from(["prompt", "model", "stream", "messages"]), JSON)
)
def test_random_json_never_gets_a_500_nor_a_traceback(client: FlaskClient, body: object) -> None:
    response = client.post("/chat", data=json.dumps(body), content_type="application/json")
    text = response.get_data(as_text=True)
    assert response.status_code in (200, 400, 502, 503, 504), text
    assert "Traceback" not in text and 'File "' not in text
    assert client.post("/chat", json={"prompt": "still there?"}).status_code == 200


def _app_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "profiler.app", *args],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "option", "secret"),
    [
        (["--port", "70000"], "--port", None),
        (["--port", "http"], "--port", None),
        (["--timeout", "-1"], "--timeout", None),
        (["--max-retries", "many"], "--max-retries", None),
        (["--scenario", "no-such-scenario"], "--scenario", None),
        (["--host", "999.1.1.1"], "--host", None),
        (["--base-url", "ftp://user:hunter2@example.com/v1?key=sk-zzz"], "--base-url", "hunter2"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_and_exit_2(
    args: list[str], option: str, secret: str | None
) -> None:
    began = time.monotonic()
    result = _app_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], result.stderr
    assert lines[0].startswith("python -m profiler.app: error: argument")
    if secret:
        assert secret not in result.stderr and "sk-zzz" not in result.stderr
    assert time.monotonic() - began < 30, "refused while parsing, before any server starts"


def test_a_port_in_use_is_one_line_and_exit_1_before_saying_it_serves() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _app_cli("--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"python -m profiler.app: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert "serving on" not in result.stdout
