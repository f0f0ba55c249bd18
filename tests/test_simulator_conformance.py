"""Everything the simulator sends, checked against the spec rather than against our own code.

Each case below is sent over real HTTP; every JSON body and every SSE event that
comes back is validated twice: against the SDK's generated pydantic type for
that endpoint (strict JSON mode, no undeclared fields) and against the
component schema of OpenAI's published OpenAPI document.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from array import array
from collections.abc import Iterator
from typing import Any

import httpx2
import pydantic
import pytest
from openai.pagination import SyncPage
from openai.types import Completion, CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from profiler.simulator import SimulatorProcess
from tests.test_simulator_support import (
    INSTANT,
    USER,
    Start,
    check_sdk_type,
    check_spec,
    faulty,
    simulators,
    spec_event_components,
    sse_frames,
)

pytestmark = pytest.mark.timeout(120)

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
TIME = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}
CHAT_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER, "strict": True}},
    {"type": "function", "function": {"name": "get_time", "parameters": TIME}},
]
RESPONSES_TOOLS = [
    {"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True},
    {"type": "function", "name": "get_time", "parameters": TIME, "strict": False},
]
BOOK = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer", "minimum": 1800, "maximum": 2024},
        "genres": {"type": "array", "items": {"type": "string", "enum": ["novel", "poetry"]}},
        "rating": {"anyOf": [{"type": "number", "minimum": 0, "maximum": 5}, {"type": "null"}]},
    },
    "required": ["title", "year", "genres", "rating"],
    "additionalProperties": False,
}
CHAT_SCHEMA = {"type": "json_schema", "json_schema": {"name": "book", "schema": BOOK, "strict": True}}
RESPONSES_SCHEMA = {"format": {"type": "json_schema", "name": "book", "schema": BOOK, "strict": True}}
TOOL_RESULT = [
    *USER,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"zone":"UTC"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "12:00"},
]

# (name, path, body): every shape of answer the endpoints give.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("chat", "/chat/completions", {"messages": USER}),
    ("chat n=2", "/chat/completions", {"messages": USER, "n": 2}),
    ("chat stream", "/chat/completions", {"messages": USER, "stream": True}),
    (
        "chat stream n=2 usage",
        "/chat/completions",
        {"messages": USER, "stream": True, "n": 2, "stream_options": {"include_usage": True}},
    ),
    ("chat json_schema", "/chat/completions", {"messages": USER, "response_format": CHAT_SCHEMA}),
    (
        "chat json_schema stream",
        "/chat/completions",
        {"messages": USER, "response_format": CHAT_SCHEMA, "stream": True},
    ),
    (
        "chat json_object",
        "/chat/completions",
        {
            "messages": [{"role": "user", "content": "Answer in JSON."}],
            "response_format": {"type": "json_object"},
        },
    ),
    ("chat tools", "/chat/completions", {"messages": USER, "tools": CHAT_TOOLS}),
    ("chat tools stream", "/chat/completions", {"messages": USER, "tools": CHAT_TOOLS, "stream": True}),
    (
        "chat tools named stream n=2",
        "/chat/completions",
        {
            "messages": USER,
            "tools": CHAT_TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "get_time"}},
            "stream": True,
            "n": 2,
        },
    ),
    ("chat tool results", "/chat/completions", {"messages": TOOL_RESULT, "tools": CHAT_TOOLS}),
    ("chat length", "/chat/completions", {"messages": USER, "max_completion_tokens": 2}),
    ("chat length stream", "/chat/completions", {"messages": USER, "max_tokens": 2, "stream": True}),
    ("responses", "/responses", {"input": "Two novels?", "instructions": "Be brief."}),
    ("responses stream", "/responses", {"input": USER, "stream": True}),
    ("responses json_schema", "/responses", {"input": "A book.", "text": RESPONSES_SCHEMA}),
    (
        "responses json_schema stream",
        "/responses",
        {"input": "A book.", "text": RESPONSES_SCHEMA, "stream": True},
    ),
    ("responses tools", "/responses", {"input": "Weather?", "tools": RESPONSES_TOOLS}),
    ("responses tools stream", "/responses", {"input": "Weather?", "tools": RESPONSES_TOOLS, "stream": True}),
    (
        "responses tool results",
        "/responses",
        {
            "input": [
                {"role": "user", "content": "Time?"},
                {"type": "function_call", "call_id": "call_1", "name": "get_time", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "12:00"},
            ],
            "tools": RESPONSES_TOOLS,
        },
    ),
    ("responses incomplete", "/responses", {"input": "x", "max_output_tokens": 16, "stream": True}),
    ("responses background", "/responses", {"input": "x", "background": True}),
    ("completions", "/completions", {"prompt": "Once upon a time"}),
    ("completions list n=2", "/completions", {"prompt": ["a", "b"], "n": 2}),
    (
        "completions stream usage",
        "/completions",
        {"prompt": "a", "stream": True, "stream_options": {"include_usage": True}},
    ),
    ("completions length stream", "/completions", {"prompt": [1, 2, 3], "max_tokens": 3, "stream": True}),
    (
        "embeddings float",
        "/embeddings",
        {"input": ["one", "two"], "model": "text-embedding-3-small", "encoding_format": "float"},
    ),
    ("embeddings base64", "/embeddings", {"input": "one", "encoding_format": "base64", "dimensions": 64}),
    (
        "embeddings tokens",
        "/embeddings",
        {"input": [[1, 2], [3]], "model": "text-embedding-3-large", "dimensions": 8},
    ),
]
GETS = ["/models", "/models/gpt-4o"]

# The SDK type and the spec component of a plain body, and of one stream event, per path.
PLAIN = {
    "/chat/completions": (ChatCompletion, "CreateChatCompletionResponse"),
    "/responses": (Response, "Response"),
    "/completions": (Completion, "CreateCompletionResponse"),
    "/embeddings": (CreateEmbeddingResponse, "CreateEmbeddingResponse"),
    "/models": (SyncPage[Model], "ListModelsResponse"),
    "/models/gpt-4o": (Model, "Model"),
}
EVENT = {
    "/chat/completions": (ChatCompletionChunk, "CreateChatCompletionStreamResponse"),
    "/completions": (Completion, "CreateCompletionResponse"),
}


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Start]:
    yield from simulators(tmp_path_factory)


def send(sim: SimulatorProcess, path: str, body: dict[str, Any]) -> httpx2.Response:
    body = {"model": "gpt-4o", **body}
    return httpx2.post(f"{sim.base_url}{path}", json=body, timeout=10)


def check_answer(path: str, response: httpx2.Response, *, complete: bool = True) -> int:
    """Validate every body or event of one answer; returns how many were checked."""
    assert response.status_code == 200, response.text
    if not response.headers["content-type"].startswith("text/event-stream"):
        check_body(path, response.content)
        return 1
    frames = sse_frames(response.text)
    if path == "/responses":
        check_responses_events(frames, complete=complete)
        return len(frames)
    sdk_type, component = EVENT[path]
    if complete:
        assert frames[-1].data == "[DONE]"
    for frame in frames:
        assert frame.event is None, "chat and completions streams have no event: lines"
        if frame.data != "[DONE]":
            data = frame.json()
            if path == "/completions":
                data = _as_if_finished(data)
            check_sdk_type(sdk_type, json.dumps(data))
            check_spec(component, data)
    return len(frames)


def _as_if_finished(chunk: dict[str, Any]) -> dict[str, Any]:
    """A legacy completion chunk with its null finish_reason filled in, for the types to accept.

    The API sends `"finish_reason": null` on every chunk but the last, as the
    simulator does; the SDK's Completion type (which it reuses for chunks, and
    never validates a stream against) and the spec's schema both type the field
    as a non-null string. That one field is the only allowance made.
    """
    choices = [
        {**choice, "finish_reason": "stop"} if choice.get("finish_reason", "") is None else choice
        for choice in chunk["choices"]
    ]
    return {**chunk, "choices": choices}


def check_body(path: str, raw: bytes) -> None:
    sdk_type, component = PLAIN[path]
    value = json.loads(raw)
    if path == "/embeddings":
        # The SDK decodes base64 itself before its type sees the vector; so does the spec.
        for item in value["data"]:
            if isinstance(item["embedding"], str):
                item["embedding"] = array("f", base64.b64decode(item["embedding"])).tolist()
        raw = json.dumps(value).encode()
    check_sdk_type(sdk_type, raw)
    check_spec(component, value)


def check_responses_events(frames: list[Any], *, complete: bool) -> None:
    components = spec_event_components()
    assert [frame.json()["sequence_number"] for frame in frames] == list(range(len(frames)))
    for frame in frames:
        assert frame.data != "[DONE]", "the Responses API ends without [DONE]"
        data = frame.json()
        assert frame.event == data["type"], "each event travels under an event: line naming its type"
        check_sdk_type(ResponseStreamEvent, frame.data)
        check_spec(components[data["type"]], data)
    if complete:
        assert frames[-1].event in ("response.completed", "response.incomplete")


@pytest.mark.parametrize(("name", "path", "body"), CASES, ids=[case[0] for case in CASES])
def test_every_answer_validates_against_the_sdk_types_and_the_openapi_spec(
    start: Start, name: str, path: str, body: dict[str, Any]
) -> None:
    assert check_answer(path, send(start(), path, body)) >= 1


@pytest.mark.parametrize("path", GETS)
def test_model_lookups_validate(start: Start, path: str) -> None:
    check_answer(path, httpx2.get(f"{start().base_url}{path}", timeout=10))


def test_a_retrieved_background_response_validates_in_each_state(start: Start) -> None:
    slow = dataclasses.replace(INSTANT, name="slow-background", ttft_ms=300.0)
    sim = start(slow)
    created = send(sim, "/responses", {"input": "x", "background": True})
    check_answer("/responses", created)
    assert created.json()["status"] == "queued"
    first = httpx2.get(f"{sim.base_url}/responses/{created.json()['id']}", timeout=10)
    check_answer("/responses", first)
    assert first.json()["status"] in ("in_progress", "completed")


STREAMED = [case for case in CASES if case[2].get("stream")]


@pytest.mark.parametrize("fault", ["truncated_stream", "timeout"])
@pytest.mark.parametrize(("name", "path", "body"), STREAMED, ids=[case[0] for case in STREAMED])
def test_what_a_200_fault_sends_is_valid_as_far_as_it_goes(
    start: Start, fault: str, name: str, path: str, body: dict[str, Any]
) -> None:
    # A short stall: the client waits it out and gets the normal reply.
    sim = start(faulty(fault, stall_s=0.05) if fault == "timeout" else faulty(fault))
    check_answer(path, send(sim, path, body), complete=fault == "timeout")


def test_malformed_streams_break_only_the_one_event(start: Start) -> None:
    sim = start(faulty("malformed"))
    for path, body in [("/chat/completions", {"messages": USER}), ("/responses", {"input": "x"})]:
        frames = sse_frames(send(sim, path, {**body, "stream": True}).text)
        broken = [frame for frame in frames if frame.data != "[DONE]" and not _parses(frame.data)]
        assert len(broken) == 1
        good = [frame for frame in frames if frame not in broken and frame.data != "[DONE]"]
        for frame in good:
            check_sdk_type(ResponseStreamEvent if path == "/responses" else ChatCompletionChunk, frame.data)


def test_error_bodies_match_the_spec(start: Start) -> None:
    response = send(start(), "/chat/completions", {"messages": []})
    assert response.status_code == 400
    check_spec("ErrorResponse", response.json())


# --- the checks themselves must be able to fail ---------------------------------------------------


def test_a_missing_required_field_fails_both_checks(start: Start) -> None:
    body = send(start(), "/chat/completions", {"messages": USER}).json()
    check_sdk_type(ChatCompletion, json.dumps(body))
    del body["created"]
    with pytest.raises(pydantic.ValidationError, match=r"created\s+Field required"):
        check_sdk_type(ChatCompletion, json.dumps(body))
    with pytest.raises(AssertionError, match="'created' is a required property"):
        check_spec("CreateChatCompletionResponse", body)

    event = sse_frames(send(start(), "/responses", {"input": "x", "stream": True}).text)[4].json()
    del event["item_id"]
    with pytest.raises(pydantic.ValidationError):
        check_sdk_type(ResponseStreamEvent, json.dumps(event))


def test_a_wrong_type_or_an_unknown_field_fails_the_sdk_check(start: Start) -> None:
    body = send(start(), "/chat/completions", {"messages": USER}).json()
    with pytest.raises(pydantic.ValidationError, match="Input should be a valid integer"):
        check_sdk_type(ChatCompletion, json.dumps({**body, "created": str(body["created"])}))
    misspelt = {**body, "choices": [{**body["choices"][0], "finish_reasons": "stop"}]}
    with pytest.raises(
        AssertionError, match=r"\$\.choices\[0\]: fields the SDK does not know: \['finish_reasons'\]"
    ):
        check_sdk_type(ChatCompletion, json.dumps(misspelt))


def _parses(data: str) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
