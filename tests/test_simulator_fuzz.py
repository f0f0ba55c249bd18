"""Random JSON and random bytes thrown at every endpoint over real HTTP: never a 500, never a
traceback in a body, and the server still answers a normal request afterwards.

Examples are derandomised (the same ones every run) and few, so the whole module
takes a few seconds; `HYPOTHESIS_PROFILE=thorough` runs many more, locally.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_simulator_support import USER, shared_simulator

pytestmark = pytest.mark.timeout(120)

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=2000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

POSTS = ["/chat/completions", "/responses", "/completions", "/embeddings"]
# Names the endpoints read, so random values reach the checks behind the first ones.
KEYS = [
    "model", "messages", "input", "prompt", "instructions", "n", "stream", "stream_options", "max_tokens",
    "max_completion_tokens", "max_output_tokens", "temperature", "top_p", "tools", "tool_choice",
    "parallel_tool_calls", "response_format", "text", "background", "store", "previous_response_id",
    "encoding_format", "dimensions", "metadata", "best_of", "logprobs", "presence_penalty", "user",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["gpt-4o", "function", "json_schema", "json_object", "user", "tool", "auto", "base64"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)
# Mostly well-formed requests with wrong values here and there: what reaches the deep checks.
near_requests = st.fixed_dictionaries(
    {"model": st.sampled_from(["gpt-4o", "text-embedding-3-small"])},
    optional={key: json_values for key in KEYS if key != "model"}
    | {
        "messages": st.just(USER) | json_values,
        "input": st.just("hello") | json_values,
        "tools": st.just([{"type": "function", "function": {"name": "f"}, "name": "f"}]) | json_values,
    },
)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=shared_simulator().base_url, timeout=30) as client:
        yield client


def assert_handled(response: httpx2.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if response.status_code >= 400:
            assert set(body["error"]) == {"message", "type", "param", "code"}


def still_serves(http: httpx2.Client) -> None:
    response = http.post("/chat/completions", json={"model": "m", "messages": USER})
    assert response.status_code == 200


@pytest.mark.parametrize("path", POSTS)
@given(payload=json_values)
def test_random_json(http: httpx2.Client, path: str, payload: Any) -> None:
    assert_handled(http.post(path, content=json.dumps(payload), headers={"content-type": "application/json"}))


@pytest.mark.parametrize("path", POSTS)
@given(payload=near_requests)
def test_nearly_valid_requests(http: httpx2.Client, path: str, payload: dict[str, Any]) -> None:
    assert_handled(http.post(path, content=json.dumps(payload), headers={"content-type": "application/json"}))


@pytest.mark.parametrize("path", POSTS)
@given(body=st.binary(max_size=200))
def test_random_bytes(http: httpx2.Client, path: str, body: bytes) -> None:
    assert_handled(http.post(path, content=body, headers={"content-type": "application/json"}))


@given(tail=st.text(max_size=30), prefix=st.sampled_from(["/responses/", "/models/", "/"]))
def test_random_lookups(http: httpx2.Client, prefix: str, tail: str) -> None:
    assert_handled(http.get(prefix + quote(tail, safe="")))


def test_the_server_still_answers_afterwards(http: httpx2.Client) -> None:
    still_serves(http)
    assert http.get("/models").status_code == 200
