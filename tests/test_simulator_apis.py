"""What each API honours: tools and tool_choice, structured outputs, the Responses store and background
mode, legacy completions, embeddings; faults and ground truth on every endpoint; determinism."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import jsonschema
import openai
import pytest

from profiler.simulator import SimulatorProcess
from profiler.simulator.api.output import write_outputs
from profiler.simulator.api.responses_reply import ResponseObject
from profiler.simulator.api.responses_request import parse_responses_request
from profiler.simulator.api.responses_store import ResponseStore
from tests.test_simulator_support import (
    INSTANT,
    TOKENS,
    USER,
    Start,
    faulty,
    ground_truth,
    sdk_client,
    simulators,
    sse_frames,
)

pytestmark = pytest.mark.timeout(60)


def tool(name: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    parameters = {
        "type": "object",
        "properties": properties or {"q": {"type": "string"}},
        "required": list(properties or {"q": None}),
        "additionalProperties": False,
    }
    return {"type": "function", "function": {"name": name, "parameters": parameters, "strict": True}}


TOOLS = [tool("a"), tool("b", {"n": {"type": "integer", "minimum": 3, "maximum": 4}}), tool("c"), tool("d")]


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Start]:
    yield from simulators(tmp_path_factory)


@pytest.fixture(scope="module")
def sim(start: Start) -> SimulatorProcess:
    return start()


def client(sim: SimulatorProcess, **options: Any) -> openai.OpenAI:
    return sdk_client(sim, **options)


def names(completion: Any) -> list[str]:
    return [call.function.name for call in completion.choices[0].message.tool_calls or []]


# --- tools -----------------------------------------------------------------------------------


def test_parallel_tool_calls_call_each_tool_up_to_three(sim: SimulatorProcess) -> None:
    completion = client(sim).chat.completions.create(model="m", messages=USER, tools=TOOLS)
    assert names(completion) == ["a", "b", "c"]
    for call, spec in zip(completion.choices[0].message.tool_calls or [], TOOLS, strict=False):
        jsonschema.validate(json.loads(call.function.arguments), spec["function"]["parameters"])
    assert len({call.id for call in completion.choices[0].message.tool_calls or []}) == 3


def test_tool_choice_rules(sim: SimulatorProcess) -> None:
    create = client(sim).chat.completions.create
    assert names(create(model="m", messages=USER, tools=TOOLS, parallel_tool_calls=False)) == ["a"]
    named = {"type": "function", "function": {"name": "c"}}
    assert names(create(model="m", messages=USER, tools=TOOLS, tool_choice=named)) == ["c"]
    none = create(model="m", messages=USER, tools=TOOLS, tool_choice="none")
    assert none.choices[0].finish_reason == "stop" and none.choices[0].message.content


def test_tool_results_end_the_loop_unless_a_call_is_required(sim: SimulatorProcess) -> None:
    create = client(sim).chat.completions.create
    first = create(model="m", messages=USER, tools=TOOLS[:1])
    call = (first.choices[0].message.tool_calls or [])[0]
    history = [
        *USER,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "done"},
    ]
    answer = create(model="m", messages=history, tools=TOOLS[:1])
    assert answer.choices[0].finish_reason == "stop" and answer.choices[0].message.content
    assert names(create(model="m", messages=history, tools=TOOLS[:1], tool_choice="required")) == ["a"]
    # A new question after the results asks for tools again.
    again = create(model="m", messages=[*history, {"role": "user", "content": "And now?"}], tools=TOOLS[:1])
    assert names(again) == ["a"]


def test_streamed_tool_calls_accumulate_in_the_sdk_helper(sim: SimulatorProcess) -> None:
    with client(sim).chat.completions.stream(model="m", messages=USER, tools=TOOLS[:2]) as stream:
        deltas = [
            event
            for event in stream
            if event.type == "tool_calls.function.arguments.delta" and event.arguments_delta
        ]
        final = stream.get_final_completion()
    assert len(deltas) == TOKENS, "one argument delta per token, split across the calls"
    assert final.choices[0].finish_reason == "tool_calls"
    assert [call.function.name for call in final.choices[0].message.tool_calls or []] == ["a", "b"]
    for call in final.choices[0].message.tool_calls or []:
        assert call.function.parsed_arguments is not None  # strict tools: the SDK parsed the JSON


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tool_choice": "required"}, "'tool_choice' is only allowed when 'tools' are specified"),
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "zz"}}},
            "no function named 'zz'",
        ),
        ({"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "does not match pattern"),
        ({"tools": [{"type": "function"}]}, "Missing required parameter: 'tools[0].function'."),
        (
            {"tools": TOOLS, "tool_choice": "sometimes"},
            "Supported values are: 'none', 'auto', and 'required'.",
        ),
    ],
)
def test_bad_tool_requests_are_refused(sim: SimulatorProcess, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(openai.BadRequestError, match=re.escape(message)):
        client(sim).chat.completions.create(model="m", messages=USER, **extra)


def test_responses_function_calls_and_their_results(sim: SimulatorProcess) -> None:
    functions = [{"type": "function", **spec["function"]} for spec in TOOLS[:2]]
    first = client(sim).responses.create(model="m", input="Go.", tools=functions)
    assert [item.type for item in first.output] == ["function_call", "function_call"]
    results = [
        {"type": "function_call_output", "call_id": item.call_id, "output": "ok"} for item in first.output
    ]
    second = client(sim).responses.create(
        model="m", input=results, previous_response_id=first.id, tools=functions
    )
    assert second.output_text and second.previous_response_id == first.id


# --- structured outputs ----------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "books": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "published": {"type": "string", "format": "date"},
                },
                "required": ["title", "published"],
                "additionalProperties": False,
            },
        },
        "mood": {"enum": ["calm", "tense"]},
    },
    "required": ["books", "mood"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("stream", [False, True])
def test_json_schema_content_validates_and_streams_as_deltas(sim: SimulatorProcess, stream: bool) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "shelf", "schema": SCHEMA, "strict": True},
    }
    raw = client(sim).chat.completions.with_raw_response.create(
        model="m", messages=USER, response_format=response_format, stream=stream
    )
    if stream:
        chunks = list(raw.parse())
        pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        assert len(pieces) == TOKENS
        content = "".join(pieces)
    else:
        content = raw.parse().choices[0].message.content or ""
    jsonschema.validate(
        json.loads(content), SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert ground_truth(sim, raw.headers["x-request-id"])["content_kind"] == "json"


def test_responses_text_format_json_schema(sim: SimulatorProcess) -> None:
    text = {"format": {"type": "json_schema", "name": "shelf", "schema": SCHEMA, "strict": True}}
    response = client(sim).responses.create(model="m", input="Books?", text=text)  # type: ignore[arg-type]
    jsonschema.validate(json.loads(response.output_text), SCHEMA)
    assert response.text is not None and response.text.format.type == "json_schema"


def test_json_object_needs_the_word_json(sim: SimulatorProcess) -> None:
    with pytest.raises(openai.BadRequestError, match="must contain the word 'json'"):
        client(sim).chat.completions.create(model="m", messages=USER, response_format={"type": "json_object"})
    ok = client(sim).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Reply in JSON."}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(ok.choices[0].message.content or ""), dict)


def test_a_token_limit_cuts_the_reply_short(sim: SimulatorProcess) -> None:
    completion = client(sim).chat.completions.create(model="m", messages=USER, max_completion_tokens=2)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 2
    with pytest.raises(openai.LengthFinishReasonError):
        client(sim).chat.completions.parse(
            model="m",
            messages=USER,
            max_tokens=2,
            response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}},
        )
    response = client(sim).responses.create(model="m", input="x", max_output_tokens=16)
    assert response.status == "completed"  # 16 >= the 6 tokens planned: nothing to cut


# --- the Responses store and background mode -------------------------------------------------


def test_background_responses_complete_after_their_generation_time(start: Start) -> None:
    sim = start(dataclasses.replace(INSTANT, name="generating", ttft_ms=250.0, token_ms=10.0))
    api = client(sim).responses
    raw = api.with_raw_response.create(model="m", input="x", background=True)
    queued = raw.parse()
    assert queued.status == "queued" and queued.background is True and queued.output == []
    record = ground_truth(sim, raw.headers["x-request-id"])
    assert record["background"] is True and record["planned_wait_ms"] == 0
    assert record["planned_background_ms"] == 310.0
    assert api.retrieve(queued.id).status == "in_progress"  # the retrieve itself waits ~250 ms
    deadline = time.monotonic() + 5
    while (done := api.retrieve(queued.id)).status != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.output_text and done.usage is not None


def test_unknown_response_ids(sim: SimulatorProcess) -> None:
    with pytest.raises(openai.NotFoundError, match="Response with id 'resp_nope' not found"):
        client(sim).responses.retrieve("resp_nope")
    with pytest.raises(openai.BadRequestError, match="Previous response with id 'resp_nope' not found"):
        client(sim).responses.create(model="m", input="x", previous_response_id="resp_nope")


def test_store_false_is_not_kept(sim: SimulatorProcess) -> None:
    response = client(sim).responses.create(model="m", input="x", store=False)
    with pytest.raises(openai.NotFoundError):
        client(sim).responses.retrieve(response.id)


def test_the_store_is_a_bounded_lru() -> None:
    store = ResponseStore(capacity=2)
    request = parse_responses_request({"model": "m", "input": "x"})
    import random

    made = []
    for _ in range(3):
        (output,) = write_outputs(
            random.Random(0), choices=1, tokens=3, limit=None, text_format=None, calls=[]
        )
        made.append(ResponseObject(request, output))
    store.put(made[0])
    store.put(made[1])
    assert store.get(made[0].id) is not None  # touched: made[1] is now the least recently used
    store.put(made[2])
    assert len(store) == 2 and made[1].id not in store and made[0].id in store


# --- legacy completions and embeddings -------------------------------------------------------


def test_completions_answer_each_prompt_n_times(sim: SimulatorProcess) -> None:
    raw = client(sim).completions.with_raw_response.create(model="m", prompt=["a", "b", "c"], n=2)
    completion = raw.parse()
    assert [choice.index for choice in completion.choices] == list(range(6))
    assert completion.usage is not None and completion.usage.completion_tokens == 6 * TOKENS
    assert ground_truth(sim, raw.headers["x-request-id"])["n"] == 6


def test_embeddings_depend_on_seed_model_and_text_only(start: Start, sim: SimulatorProcess) -> None:
    embed = client(sim).embeddings.create
    alone = embed(model="text-embedding-3-small", input="x", encoding_format="float").data[0].embedding
    among = embed(model="text-embedding-3-small", input=["y", "x"], encoding_format="float").data[1].embedding
    assert alone == among
    other_model = embed(model="text-embedding-3-large", input="x", encoding_format="float").data[0].embedding
    assert len(other_model) == 3072 and other_model[:8] != alone[:8]
    other_seed = start(dataclasses.replace(INSTANT, name="seed7", seed=7))
    assert (
        client(other_seed).embeddings.create(model="text-embedding-3-small", input="x").data[0].embedding
        != alone
    )


def test_shorter_dimensions_are_the_full_vector_cut_and_renormalised(sim: SimulatorProcess) -> None:
    embed = client(sim).embeddings.create
    full = embed(model="text-embedding-3-small", input="x", encoding_format="float").data[0].embedding
    short = (
        embed(model="text-embedding-3-small", input="x", dimensions=4, encoding_format="float")
        .data[0]
        .embedding
    )
    scale = sum(value * value for value in full[:4]) ** 0.5
    assert short == pytest.approx([value / scale for value in full[:4]], rel=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "text-embedding-ada-002", "dimensions": 10}, "does not support specifying dimensions"),
        ({"model": "text-embedding-3-small", "dimensions": 2000}, "returns at most 1536 dimensions"),
        ({"model": "m", "input": ""}, "empty string"),
        ({"model": "m", "input": []}, "empty array"),
        ({"model": "m", "input": ["a", 1]}, "expected a string, an array of strings"),
        ({"model": "m", "encoding_format": "int8"}, "Supported values are: 'float' and 'base64'."),
    ],
)
def test_bad_embedding_requests(sim: SimulatorProcess, kwargs: dict[str, Any], message: str) -> None:
    kwargs = {"input": "x", **kwargs}
    with pytest.raises(openai.BadRequestError, match=message):
        client(sim).embeddings.create(**kwargs)


# --- faults and ground truth on every endpoint -----------------------------------------------


def faulty_sim(start: Start, fault: str) -> SimulatorProcess:
    return start(faulty(fault))


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.embeddings.create(model="m", input="x"),
        lambda c: c.models.list(),
        lambda c: c.completions.create(model="m", prompt="x"),
        lambda c: c.responses.create(model="m", input="x"),
    ],
    ids=["embeddings", "models", "completions", "responses"],
)
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("rate_limit", openai.RateLimitError),
        ("server_error", openai.InternalServerError),
        ("disconnect", openai.APIConnectionError),
        ("malformed", json.JSONDecodeError),
    ],
)
def test_faults_apply_to_every_endpoint(start: Start, call: Any, fault: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        call(client(faulty_sim(start, fault)))


def test_a_timeout_stall_on_embeddings(start: Start) -> None:
    with pytest.raises(openai.APITimeoutError):
        client(faulty_sim(start, "timeout"), timeout=0.3).embeddings.create(model="m", input="x")


def test_a_truncated_responses_stream_never_completes(start: Start) -> None:
    sim = faulty_sim(start, "truncated_stream")
    events = list(client(sim).responses.create(model="m", input="x", stream=True))
    kinds = [event.type for event in events]
    assert 0 < kinds.count("response.output_text.delta") < TOKENS and "response.completed" not in kinds
    with (
        pytest.raises(RuntimeError, match=r"Didn't receive a `response\.completed` event"),
        client(sim).responses.stream(model="m", input="x") as stream,
    ):
        for _ in stream:
            pass
        stream.get_final_response()


@pytest.mark.parametrize(
    ("path", "body", "api", "kind", "stream"),
    [
        ("/chat/completions", {"messages": USER, "stream": True}, "chat.completions", "text", True),
        (
            "/chat/completions",
            {"messages": USER, "tools": TOOLS[:1], "stream": True},
            "chat.completions",
            "tool_calls",
            True,
        ),
        ("/responses", {"input": "x", "stream": True}, "responses", "text", True),
        (
            "/responses",
            {"input": "x", "stream": True, "tools": [{"type": "function", "name": "f"}]},
            "responses",
            "tool_calls",
            True,
        ),
        ("/completions", {"prompt": "x", "stream": True}, "completions", "text", True),
        ("/responses", {"input": "x"}, "responses", "text", False),
        ("/embeddings", {"input": "x"}, "embeddings", "embedding", False),
    ],
)
def test_ground_truth_names_path_and_api_and_times_the_content_events(
    sim: SimulatorProcess, path: str, body: dict[str, Any], api: str, kind: str, stream: bool
) -> None:
    response = httpx2.post(f"{sim.base_url}{path}", json={"model": "gpt-4o", **body}, timeout=10)
    assert response.status_code == 200
    record = ground_truth(sim, response.headers["x-request-id"])
    assert (record["path"], record["api"], record["content_kind"], record["stream"]) == (
        f"/v1{path}",
        api,
        kind,
        stream,
    )
    assert record["status"] == 200 and record["response_complete"] is True
    if stream:
        assert record["content_chunks"] == TOKENS
        assert len(record["token_delays_ms"]) == TOKENS - 1
        assert record["ttft_ms"] >= record["server_wait_ms"] >= 0
        assert record["output_tokens"] == TOKENS
        content_events = (
            {
                "text": ("response.output_text.delta",),
                "tool_calls": ("response.function_call_arguments.delta",),
            }[kind]
            if api == "responses"
            else None
        )
        if content_events:
            frames = sse_frames(response.text)
            assert sum(frame.event in content_events for frame in frames) == record["content_chunks"]
    else:
        assert record["ttft_ms"] is None and record["content_chunks"] == 0
    if api == "embeddings":
        assert record["output_tokens"] is None and record["model"] == "gpt-4o"


def test_model_lookups_are_logged_too(sim: SimulatorProcess) -> None:
    response = httpx2.get(f"{sim.base_url}/models/gpt-4o", timeout=10)
    record = ground_truth(sim, response.headers["x-request-id"])
    assert (record["api"], record["method"], record["request_read_ms"], record["status"]) == (
        "models",
        "GET",
        None,
        200,
    )


# --- determinism -----------------------------------------------------------------------------


def test_the_same_seed_and_requests_give_the_same_answers(start: Start) -> None:
    def transcript(sim: SimulatorProcess) -> list[Any]:
        c = client(sim)
        response_format = {"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}}
        return [
            c.chat.completions.create(model="m", messages=USER).choices[0].message.content,
            c.chat.completions.create(model="m", messages=USER, response_format=response_format)
            .choices[0]
            .message.content,
            [
                call.function.arguments
                for call in c.chat.completions.create(model="m", messages=USER, tools=TOOLS)
                .choices[0]
                .message.tool_calls
                or []
            ],
            c.responses.create(model="m", input="x").output_text,
        ]

    scenario = dataclasses.replace(INSTANT, name="replay", seed=42)
    with SimulatorProcess(scenario) as first, SimulatorProcess(scenario) as second:
        assert transcript(first) == transcript(second)
