"""Issue 13: what a request or a scenario may ask for, and the OpenAI-shaped 400 when it asks too much."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from profiler.simulator import (
    BUILTIN_SCENARIOS,
    ScenarioError,
    SimulatorError,
    SimulatorProcess,
    load_scenario,
)
from profiler.simulator.__main__ import parse_args
from profiler.simulator.limits import (
    MAX_BODY_BYTES,
    MAX_CHOICES,
    MAX_JSON_DEPTH,
    MAX_OUTPUT_TOKENS,
    MAX_TOKENS_PARAM,
)
from profiler.simulator.safe_json import JSONRejected, loads, nesting_depth
from tests.test_simulator_support import USER, Start, ground_truth, simulators

pytestmark = pytest.mark.timeout(60)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEEP = 100_000


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Start]:
    yield from simulators(tmp_path_factory)


@pytest.fixture(scope="module")
def http(start: Start) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=start().base_url, timeout=20) as client:
        yield client


def post(http: httpx2.Client, path: str, body: bytes | dict[str, Any]) -> httpx2.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=content, headers={"content-type": "application/json"})


def refused(response: httpx2.Response, *, code: str | None = None, message: str = "") -> dict[str, Any]:
    """Assert an OpenAI-shaped 400 and return its error object."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert "Traceback" not in response.text
    if code is not None:
        assert error["code"] == code
    assert message in error["message"]
    return error


def still_serves(http: httpx2.Client) -> None:
    assert post(http, "/chat/completions", {"model": "m", "messages": USER}).status_code == 200


# --- bodies ----------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_after_being_read(http: httpx2.Client) -> None:
    body = b'{"model":"m","messages":[{"role":"user","content":"' + b"x" * MAX_BODY_BYTES + b'"}]}'
    refused(
        post(http, "/chat/completions", body), code="request_too_large", message=f"{MAX_BODY_BYTES} bytes"
    )
    still_serves(http)  # on the same keep-alive connection: the body was drained, not left in the socket


@pytest.mark.parametrize("opener", ["[", '{"a":', '{"messages":['])
@pytest.mark.parametrize("path", ["/chat/completions", "/responses", "/completions", "/embeddings"])
def test_a_body_nested_100000_deep_gets_a_400_not_a_recursion_error(
    http: httpx2.Client, path: str, opener: str
) -> None:
    body = (opener * DEEP).encode()
    error = refused(post(http, path, body), code="json_too_deep")
    assert f"more than the {MAX_JSON_DEPTH} allowed" in error["message"]
    still_serves(http)


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": Infinity}',
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": -Infinity}',
        b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}',
        b'{"model": "m", "messages": [{"role": "user", "content": "\\udc00\\ud83d"}]}',
        b'{"model": "m", "messages": [{"role": "user", "content": "\xed\xa0\x80"}]}',
        b'{"model": "m", "messages": [{"role": "user", "content": "\xff"}]}',
        b'{"model": "m", "n": 1' + b"0" * 5000 + b', "messages": []}',
        b"[]",
        b"",
    ],
    ids=[
        "NaN",
        "Infinity",
        "-Infinity",
        "lone-high",
        "reversed-pair",
        "utf8-surrogate",
        "not-utf8",
        "5000-digits",
        "array",
        "empty",
    ],
)
def test_what_strict_json_refuses_the_api_refuses(http: httpx2.Client, body: bytes) -> None:
    refused(
        post(http, "/chat/completions", body), message="We could not parse the JSON body of your request."
    )


def test_a_surrogate_pair_is_fine(http: httpx2.Client) -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "\\ud83d\\ude00 \\u00e9"}]}'
    assert post(http, "/chat/completions", body).status_code == 200


# --- parameters ------------------------------------------------------------------------------

CHAT = {"model": "m", "messages": USER}
TOO_MANY = MAX_TOKENS_PARAM + 1


@pytest.mark.parametrize(
    ("path", "extra", "param", "code"),
    [
        ("/chat/completions", {"max_tokens": 0}, "max_tokens", "integer_below_min_value"),
        ("/chat/completions", {"max_tokens": -5}, "max_tokens", "integer_below_min_value"),
        ("/chat/completions", {"max_tokens": "5"}, "max_tokens", "invalid_type"),
        ("/chat/completions", {"max_tokens": 2.5}, "max_tokens", "invalid_type"),
        ("/chat/completions", {"max_tokens": True}, "max_tokens", "invalid_type"),
        ("/chat/completions", {"max_completion_tokens": TOO_MANY}, "max_completion_tokens", "invalid_value"),
        ("/chat/completions", {"max_tokens": 10**40}, "max_tokens", "invalid_value"),
        ("/chat/completions", {"temperature": 2.01}, "temperature", "decimal_above_max_value"),
        ("/chat/completions", {"temperature": -0.1}, "temperature", "decimal_below_min_value"),
        ("/chat/completions", {"temperature": "hot"}, "temperature", "invalid_type"),
        ("/chat/completions", {"top_p": 1.5}, "top_p", "decimal_above_max_value"),
        ("/chat/completions", {"n": 0}, "n", "integer_below_min_value"),
        ("/chat/completions", {"n": MAX_CHOICES + 1}, "n", "integer_above_max_value"),
        ("/chat/completions", {"presence_penalty": 3}, "presence_penalty", "decimal_above_max_value"),
        ("/responses", {"max_output_tokens": 15}, "max_output_tokens", "integer_below_min_value"),
        ("/responses", {"max_output_tokens": TOO_MANY}, "max_output_tokens", "invalid_value"),
        ("/responses", {"temperature": 3}, "temperature", "decimal_above_max_value"),
        ("/completions", {"max_tokens": 0}, "max_tokens", "integer_below_min_value"),
        ("/completions", {"n": 200}, "n", "integer_above_max_value"),
        ("/completions", {"top_p": -1}, "top_p", "decimal_below_min_value"),
    ],
)
def test_out_of_range_parameters_are_named(
    http: httpx2.Client, path: str, extra: dict[str, Any], param: str, code: str
) -> None:
    base = {"/chat/completions": CHAT, "/responses": {"model": "m", "input": "x"}}.get(
        path, {"model": "m", "prompt": "x"}
    )
    error = refused(post(http, path, {**base, **extra}), code=code)
    assert error["param"] == param
    assert param in error["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/chat/completions", {**CHAT, "temperature": 2, "top_p": 0, "n": 2, "max_tokens": MAX_TOKENS_PARAM}),
        ("/responses", {"model": "m", "input": "x", "max_output_tokens": 16, "temperature": 0}),
        ("/completions", {"model": "m", "prompt": "x", "max_tokens": 1, "temperature": 0.0}),
    ],
)
def test_the_edges_of_each_range_are_accepted(http: httpx2.Client, path: str, body: dict[str, Any]) -> None:
    assert post(http, path, body).status_code == 200


def test_a_refused_request_is_in_the_ground_truth_without_a_fault(start: Start, http: httpx2.Client) -> None:
    response = post(http, "/responses", {"model": "m", "input": "x", "top_p": 2})
    record = ground_truth(start(), response.headers["x-request-id"])
    assert (record["status"], record["fault"], record["api"], record["path"]) == (
        400,
        None,
        "responses",
        "/v1/responses",
    )


# --- the depth-checked parser itself ---------------------------------------------------------


def test_nesting_is_counted_without_recursion_and_strings_do_not_count() -> None:
    assert nesting_depth('[1, {"a": "[[[[{{{"}, [[]]]') == 3
    assert nesting_depth('"\\"[[[" [') == 1
    assert nesting_depth("[" * DEEP) == DEEP
    with pytest.raises(JSONRejected) as caught:
        loads("[" * DEEP + "]" * DEEP, max_depth=MAX_JSON_DEPTH)
    assert caught.value.reason == "depth"
    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, max_depth=MAX_JSON_DEPTH) is not None


def test_unterminated_strings_stay_linear() -> None:
    # A backtracking string pattern would retry from every quote: quadratic on this input.
    for body in ('"\\' * 200_000, '"' * 400_000, '["' + "\\n" * 200_000):
        with pytest.raises(JSONRejected):
            loads(body, max_depth=MAX_JSON_DEPTH)


# --- scenarios -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * DEEP, "nested 100000 levels deep, more than the 128 allowed"),
        ('{"a":' * DEEP, "nested 100000 levels deep"),
        ('{"ttft_ms": NaN}', "NaN is not a JSON number"),
        (f'{{"output_tokens": {MAX_OUTPUT_TOKENS + 1}}}', f"output_tokens must be <= {MAX_OUTPUT_TOKENS}"),
        (
            '{"token_ms": 1000, "output_tokens": 1000}',
            "ttft_ms + output_tokens × token_ms must be <= 600000 ms",
        ),
        ('{"ttft_ms": 1e300}', "ttft_ms must be <= 600000"),
        ('{"jitter_ms": 1e9}', "jitter_ms must be <= 60000"),
        ('{"retry_after_s": 1e6}', "retry_after_s must be <= 3600"),
        ('{"seed": 1' + "0" * 30 + "}", "seed must be <= 9223372036854775807"),
    ],
)
def test_scenarios_cannot_ask_for_absurd_work(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "absurd.json"
    path.write_text(content)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_scenario_objects_are_bounded_too() -> None:
    with pytest.raises(ScenarioError, match="output_tokens must be <= 100000"):
        dataclasses.replace(BUILTIN_SCENARIOS["default"], output_tokens=MAX_OUTPUT_TOKENS + 1)
    with pytest.raises(ScenarioError, match="an integer of 16610 bits"):
        dataclasses.replace(BUILTIN_SCENARIOS["default"], seed=10**5000)


# --- the command line and the process --------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "profiler.simulator", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=20)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--port", "-1"], "--port"),
        (["--port", "http"], "--port"),
        (["--host", ""], "--host"),
        (["--scenario", "nope"], "--scenario"),
        (["--scenario-json", "[" * DEEP], "--scenario-json"),
        (["--scenario-json", '{"ttft": 1}'], "--scenario-json"),
        (["--ground-truth", "/no/such/dir/gt.jsonl"], "--ground-truth"),
        (["--tls-cert", "setup.cfg"], "--tls-key"),
        (["--tls-cert", "setup.cfg", "--tls-key", "setup.cfg"], "--tls-cert"),
        (["--tls", "--tls-cert", "setup.cfg", "--tls-key", "setup.cfg"], "--tls"),
        (["--log-level", "loud"], "--log-level"),
    ],
)
def test_every_option_is_checked_at_parse_time_in_one_line(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process: the same parser `python -m profiler.simulator` runs (the subprocess test below).
    monkeypatch.chdir(REPO_ROOT)
    with pytest.raises(SystemExit) as caught:
        parse_args(args)
    out, err = capsys.readouterr()
    assert caught.value.code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert named in err


def test_a_port_out_of_range_is_one_line_and_exit_2() -> None:
    result = _cli("--port", "70000")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "python -m profiler.simulator: error: argument --port: port must be between 0 and 65535, got 70000 "
        "(see --help)\n"
    )


def test_a_start_that_fails_says_why_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SimulatorError) as caught:
        SimulatorProcess(BUILTIN_SCENARIOS["instant"], host="192.0.2.1").start()
    assert str(caught.value) == (
        "the simulator exited with code 1 before it was ready: "
        "cannot listen on 192.0.2.1:0: Cannot assign requested address"
    )


def test_a_start_that_times_out_is_not_blamed_on_its_shutdown() -> None:
    # Giving up closes the child's stdin and makes it shut down; that used to surface as
    # "OSError: [Errno 9] Bad file descriptor", as if the socket were the cause.
    with pytest.raises(SimulatorError) as caught:
        SimulatorProcess(BUILTIN_SCENARIOS["instant"], startup_timeout_s=0.01).start()
    message = str(caught.value)
    assert message.startswith("the simulator was not ready within 0.01 s")
    assert "Bad file descriptor" not in message
    assert "\n" not in message
