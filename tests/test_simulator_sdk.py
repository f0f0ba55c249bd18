"""The real openai SDK, end to end against the simulator: sync and async, over HTTP and HTTPS.

Each case names an SDK method as a program calls it and checks what the program
gets back, through the SDK's own parsing, stream helpers and pydantic models.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import math
import ssl
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
import jsonschema
import openai
import pydantic
import pytest

from profiler.simulator import SimulatorProcess
from tests.test_simulator_support import TOKENS, USER, Start, default_ssl_context, sdk_client, simulators

pytestmark = pytest.mark.timeout(120)


class Book(pydantic.BaseModel):
    title: str
    year: int
    genres: list[Literal["novel", "poetry", "essay"]]
    rating: float | None


class GetWeather(pydantic.BaseModel):
    city: str
    days: int = pydantic.Field(ge=1, le=7)


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}
BOOK_SCHEMA = Book.model_json_schema()


@dataclass(frozen=True)
class Case:
    """One SDK call: `kind` says how a program consumes it, `check` what it must see."""

    method: str
    kwargs: dict[str, Any]
    check: Callable[[Any], None]
    kind: Literal["value", "stream", "helper"] = "value"
    final: str = ""  # the helper's method giving the final object
    id: str = field(default="")


def _chat_text(completion: Any) -> None:
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content.startswith('1. "')


def _chat_stream(chunks: list[Any]) -> None:
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == TOKENS
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == TOKENS


def _chat_n(completion: Any) -> None:
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    assert len({choice.message.content for choice in completion.choices}) == 3


def _chat_tools(completion: Any) -> None:
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather" and call.id.startswith("call_")
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_SCHEMA)


def _chat_schema(completion: Any) -> None:
    jsonschema.validate(json.loads(completion.choices[0].message.content), BOOK_SCHEMA)


def _chat_parsed(completion: Any) -> None:
    assert isinstance(completion.choices[0].message.parsed, Book)


def _chat_helper_tools(completion: Any) -> None:
    (call,) = completion.choices[0].message.tool_calls
    assert isinstance(call.function.parsed_arguments, GetWeather)


def _responses_text(response: Any) -> None:
    assert response.status == "completed"
    assert response.output_text.startswith('1. "')
    assert response.usage.output_tokens == TOKENS


def _responses_stream(events: list[Any]) -> None:
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds.count("response.output_text.delta") == TOKENS
    assert kinds[-1] == "response.completed"


def _responses_parsed(response: Any) -> None:
    assert isinstance(response.output_parsed, Book)


def _responses_tools(response: Any) -> None:
    (call,) = response.output
    assert call.type == "function_call" and call.name == "get_weather"
    jsonschema.validate(json.loads(call.arguments), WEATHER_SCHEMA)


def _completion_text(completion: Any) -> None:
    assert completion.object == "text_completion"
    assert [choice.index for choice in completion.choices] == [0, 1, 2, 3]


def _completion_stream(chunks: list[Any]) -> None:
    assert sum(1 for chunk in chunks if chunk.choices and chunk.choices[0].text) == TOKENS
    assert chunks[-1].choices[0].finish_reason == "stop"


def _embedding_floats(response: Any) -> None:
    assert [item.index for item in response.data] == [0, 1]
    vector = response.data[0].embedding
    assert len(vector) == 1536 and math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-5)


def _embedding_decoded(response: Any) -> None:
    # No encoding_format: the SDK asks for base64 and decodes it into floats itself.
    assert len(response.data[0].embedding) == 256
    assert math.isclose(math.hypot(*response.data[0].embedding), 1.0, rel_tol=1e-5)


def _embedding_base64(response: Any) -> None:
    raw = base64.b64decode(response.data[0].embedding)
    assert len(array("f", raw)) == 64


def _models(page: Any) -> None:
    assert "gpt-4o" in {model.id for model in page.data}


CHAT_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": True},
}
CASES = [
    Case("chat.completions.create", {"messages": USER}, _chat_text, id="chat"),
    Case(
        "chat.completions.create",
        {"messages": USER, "stream": True, "stream_options": {"include_usage": True}},
        _chat_stream,
        kind="stream",
        id="chat-stream",
    ),
    Case("chat.completions.create", {"messages": USER, "n": 3}, _chat_n, id="chat-n3"),
    Case("chat.completions.create", {"messages": USER, "tools": [CHAT_TOOL]}, _chat_tools, id="chat-tools"),
    Case(
        "chat.completions.create",
        {
            "messages": USER,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "book", "schema": BOOK_SCHEMA},
            },
        },
        _chat_schema,
        id="chat-response-format",
    ),
    Case(
        "chat.completions.parse", {"messages": USER, "response_format": Book}, _chat_parsed, id="chat-parse"
    ),
    Case(
        "chat.completions.stream",
        {"messages": USER, "response_format": Book},
        _chat_parsed,
        kind="helper",
        final="get_final_completion",
        id="chat-stream-helper",
    ),
    Case(
        "chat.completions.stream",
        {"messages": USER, "tools": [openai.pydantic_function_tool(GetWeather)]},
        _chat_helper_tools,
        kind="helper",
        final="get_final_completion",
        id="chat-stream-helper-tools",
    ),
    Case("responses.create", {"input": "Two novels?"}, _responses_text, id="responses"),
    Case(
        "responses.create",
        {"input": "Two novels?", "stream": True},
        _responses_stream,
        kind="stream",
        id="responses-stream",
    ),
    Case(
        "responses.parse", {"input": "A book.", "text_format": Book}, _responses_parsed, id="responses-parse"
    ),
    Case(
        "responses.stream",
        {"input": "Two novels?"},
        _responses_text,
        kind="helper",
        final="get_final_response",
        id="responses-stream-helper",
    ),
    Case(
        "responses.create",
        {
            "input": "Weather?",
            "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}],
        },
        _responses_tools,
        id="responses-tools",
    ),
    Case("completions.create", {"prompt": ["a", "b"], "n": 2}, _completion_text, id="completions"),
    Case(
        "completions.create",
        {"prompt": "a", "stream": True},
        _completion_stream,
        kind="stream",
        id="completions-stream",
    ),
    Case(
        "embeddings.create",
        {"input": ["one", "two"], "encoding_format": "float", "model": "text-embedding-3-small"},
        _embedding_floats,
        id="embeddings-float",
    ),
    Case(
        "embeddings.create",
        {"input": "one", "dimensions": 256},
        _embedding_decoded,
        id="embeddings-default-base64",
    ),
    Case(
        "embeddings.create",
        {"input": "one", "dimensions": 64, "encoding_format": "base64"},
        _embedding_base64,
        id="embeddings-base64",
    ),
    Case("models.list", {}, _models, id="models"),
]
MODEL_FREE = {"models.list"}


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Start]:
    yield from simulators(tmp_path_factory)


def _method(client: Any, path: str) -> Any:
    target = client
    for name in path.split("."):
        target = getattr(target, name)
    return target


def _kwargs(case: Case) -> dict[str, Any]:
    if case.method in MODEL_FREE:
        return dict(case.kwargs)
    return {"model": "gpt-4o", **case.kwargs}


def run_sync(sim: SimulatorProcess, case: Case) -> Any:
    method = _method(sdk_client(sim), case.method)
    if case.kind == "value":
        return method(**_kwargs(case))
    if case.kind == "stream":
        return list(method(**_kwargs(case)))
    with method(**_kwargs(case)) as stream:
        for _ in stream:
            pass
        return getattr(stream, case.final)()


async def run_async(sim: SimulatorProcess, case: Case) -> Any:
    http_client = httpx2.AsyncClient(verify=_ssl_context(sim))
    async with openai.AsyncOpenAI(
        base_url=sim.base_url, api_key="sk-test", max_retries=0, http_client=http_client
    ) as client:
        method = _method(client, case.method)
        if case.kind == "value":
            return await method(**_kwargs(case))
        if case.kind == "stream":
            return [item async for item in await method(**_kwargs(case))]
        async with method(**_kwargs(case)) as stream:
            async for _ in stream:
                pass
            return await getattr(stream, case.final)()


def _ssl_context(sim: SimulatorProcess) -> ssl.SSLContext:
    return _test_ca_context(sim) if sim.tls else default_ssl_context()


@functools.cache
def _test_ca_context(sim: SimulatorProcess) -> ssl.SSLContext:
    return sim.ssl_context()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("transport", ["http", "https"])
def test_sdk_call(start: Start, transport: str, mode: str, case: Case) -> None:
    sim = start(tls=transport == "https")
    assert sim.base_url.startswith(f"{transport}://")
    result = run_sync(sim, case) if mode == "sync" else asyncio.run(run_async(sim, case))
    case.check(result)


def test_models_retrieve_and_an_unknown_model(start: Start) -> None:
    client = sdk_client(start())
    assert client.models.retrieve("text-embedding-3-small").owned_by == "system"
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.models.retrieve("gpt-9")


def test_base64_and_float_embeddings_are_the_same_float32_vector(start: Start) -> None:
    client = sdk_client(start())
    floats = client.embeddings.create(model="m", input="same text", encoding_format="float").data[0].embedding
    packed = (
        client.embeddings.create(model="m", input="same text", encoding_format="base64").data[0].embedding
    )
    assert array("f", base64.b64decode(packed)).tolist() == floats
    assert base64.b64decode(packed) == array("f", floats).tobytes()  # little-endian float32, like the API


def test_https_really_handshakes(start: Start) -> None:
    sim = start(tls=True)
    events: list[str] = []

    def trace(request: httpx2.Request) -> None:
        request.extensions["trace"] = lambda name, info: events.append(name)

    http_client = httpx2.Client(verify=sim.ssl_context(), event_hooks={"request": [trace]})
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", http_client=http_client, max_retries=0)
    client.chat.completions.create(model="m", messages=USER)
    assert "connection.start_tls.complete" in events
    with pytest.raises(openai.APIConnectionError):
        # Without the test CA the certificate is refused: the handshake is real, not skipped.
        openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0).models.list()
