"""Every public way the `openai` SDK makes a request, once each, sync then async.

tests/test_frameworks.py runs this under the profiler against the simulator and
compares each recorded call, in order, with the list in `CALLS` (the method it
was, its api/operation/stream) and with the simulator's ground truth. Each step
prints its label and, once it finished, a short proof that its result parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from openai import AsyncOpenAI, OpenAI
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE = {"include_usage": True}


class Person(BaseModel):
    name: str
    age: int


# (label, method recorded, api, operation, stream), in the order the calls are made.
CALLS: list[tuple[str, str | None, str, str, bool]] = [
    ("chat.create", "chat.completions.create", "chat.completions", "chat", False),
    ("chat.create stream", "chat.completions.create", "chat.completions", "chat", True),
    ("chat.parse", "chat.completions.parse", "chat.completions", "chat", False),
    ("chat.stream helper", "chat.completions.create", "chat.completions", "chat", True),
    ("chat.with_raw_response.create", "chat.completions.create", "chat.completions", "chat", False),
    ("chat.with_streaming_response.create", "chat.completions.create", "chat.completions", "chat", True),
    ("responses.create", "responses.create", "responses", "chat", False),
    ("responses.create stream", "responses.create", "responses", "chat", True),
    ("responses.stream helper", "responses.create", "responses", "chat", True),
    ("responses.parse", "responses.parse", "responses", "chat", False),
    ("responses.with_raw_response.create", "responses.create", "responses", "chat", False),
    ("embeddings.create", "embeddings.create", "embeddings", "embeddings", False),
    ("embeddings.with_raw_response.create", "embeddings.create", "embeddings", "embeddings", False),
    ("completions.create", "completions.create", "completions", "text_completion", False),
    ("completions.create stream", "completions.create", "completions", "text_completion", True),
    ("client.post", None, "chat.completions", "chat", False),
    ("async chat.create", "chat.completions.create", "chat.completions", "chat", False),
    ("async chat.create stream", "chat.completions.create", "chat.completions", "chat", True),
    ("async chat.parse", "chat.completions.parse", "chat.completions", "chat", False),
    ("async chat.stream helper", "chat.completions.create", "chat.completions", "chat", True),
    ("async chat.with_raw_response.create", "chat.completions.create", "chat.completions", "chat", False),
    ("async responses.create", "responses.create", "responses", "chat", False),
    ("async responses.create stream", "responses.create", "responses", "chat", True),
    ("async responses.stream helper", "responses.create", "responses", "chat", True),
    ("async responses.parse", "responses.parse", "responses", "chat", False),
    ("async embeddings.create", "embeddings.create", "embeddings", "embeddings", False),
    ("async completions.create", "completions.create", "completions", "text_completion", False),
    ("async completions.create stream", "completions.create", "completions", "text_completion", True),
    ("async client.post", None, "chat.completions", "chat", False),
]


def sync_calls(client: OpenAI) -> list[tuple[str, Callable[[], object]]]:
    chat, responses = client.chat.completions, client.responses

    def chat_stream() -> object:
        return "".join(
            c.choices[0].delta.content or ""
            for c in chat.create(model=MODEL, messages=MESSAGES, stream=True, stream_options=USAGE)
            if c.choices
        )

    def chat_stream_helper() -> object:
        with chat.stream(model=MODEL, messages=MESSAGES) as stream:
            return stream.get_final_completion().choices[0].message.content

    def chat_raw() -> object:
        raw = chat.with_raw_response.create(model=MODEL, messages=MESSAGES)
        return raw.headers.get("x-request-id") and raw.parse().choices[0].message.content

    def chat_streaming_response() -> object:
        with chat.with_streaming_response.create(model=MODEL, messages=MESSAGES, stream=True) as response:
            return sum(1 for line in response.iter_lines() if line.startswith("data:"))

    def responses_stream() -> object:
        return "".join(
            e.delta
            for e in responses.create(model=MODEL, input="Hi", stream=True)
            if e.type == "response.output_text.delta"
        )

    def responses_stream_helper() -> object:
        with responses.stream(model=MODEL, input="Hi") as stream:
            return stream.get_final_response().output_text

    def completions_stream() -> object:
        return "".join(
            c.choices[0].text
            for c in client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Hi", stream=True)
            if c.choices
        )

    return [
        ("chat.create", lambda: chat.create(model=MODEL, messages=MESSAGES).choices[0].message.content),
        ("chat.create stream", chat_stream),
        (
            "chat.parse",
            lambda: (
                chat.parse(model=MODEL, messages=MESSAGES, response_format=Person).choices[0].message.parsed
            ),
        ),
        ("chat.stream helper", chat_stream_helper),
        ("chat.with_raw_response.create", chat_raw),
        ("chat.with_streaming_response.create", chat_streaming_response),
        ("responses.create", lambda: responses.create(model=MODEL, input="Hi").output_text),
        ("responses.create stream", responses_stream),
        ("responses.stream helper", responses_stream_helper),
        (
            "responses.parse",
            lambda: responses.parse(model=MODEL, input="Hi", text_format=Person).output_parsed,
        ),
        (
            "responses.with_raw_response.create",
            lambda: responses.with_raw_response.create(model=MODEL, input="Hi").parse().output_text,
        ),
        (
            "embeddings.create",
            lambda: len(
                client.embeddings.create(model="text-embedding-3-small", input="Hi").data[0].embedding
            ),
        ),
        (
            "embeddings.with_raw_response.create",
            lambda: len(
                client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="Hi")
                .parse()
                .data[0]
                .embedding
            ),
        ),
        (
            "completions.create",
            lambda: client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Hi").choices[0].text,
        ),
        ("completions.create stream", completions_stream),
        (
            "client.post",
            lambda: (
                client.post(
                    "/chat/completions", body={"model": MODEL, "messages": MESSAGES}, cast_to=ChatCompletion
                )
                .choices[0]
                .message.content
            ),
        ),
    ]


def async_calls(client: AsyncOpenAI) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    chat, responses = client.chat.completions, client.responses

    async def chat_create() -> object:
        return (await chat.create(model=MODEL, messages=MESSAGES)).choices[0].message.content

    async def chat_stream() -> object:
        stream = await chat.create(model=MODEL, messages=MESSAGES, stream=True, stream_options=USAGE)
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    async def chat_parse() -> object:
        reply = await chat.parse(model=MODEL, messages=MESSAGES, response_format=Person)
        return reply.choices[0].message.parsed

    async def chat_stream_helper() -> object:
        async with chat.stream(model=MODEL, messages=MESSAGES) as stream:
            return (await stream.get_final_completion()).choices[0].message.content

    async def chat_raw() -> object:
        raw = await chat.with_raw_response.create(model=MODEL, messages=MESSAGES)
        return raw.parse().choices[0].message.content

    async def responses_create() -> object:
        return (await responses.create(model=MODEL, input="Hi")).output_text

    async def responses_stream() -> object:
        stream = await responses.create(model=MODEL, input="Hi", stream=True)
        return "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])

    async def responses_stream_helper() -> object:
        async with responses.stream(model=MODEL, input="Hi") as stream:
            return (await stream.get_final_response()).output_text

    async def responses_parse() -> object:
        return (await responses.parse(model=MODEL, input="Hi", text_format=Person)).output_parsed

    async def embeddings_create() -> object:
        reply: CreateEmbeddingResponse = await client.embeddings.create(
            model="text-embedding-3-small", input="Hi"
        )
        return len(reply.data[0].embedding)

    async def completions_create() -> object:
        reply: Completion = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Hi")
        return reply.choices[0].text

    async def completions_stream() -> object:
        stream = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Hi", stream=True)
        return "".join([c.choices[0].text async for c in stream if c.choices])

    async def post() -> object:
        reply = await client.post(
            "/chat/completions", body={"model": MODEL, "messages": MESSAGES}, cast_to=ChatCompletion
        )
        return reply.choices[0].message.content

    return [
        ("async chat.create", chat_create),
        ("async chat.create stream", chat_stream),
        ("async chat.parse", chat_parse),
        ("async chat.stream helper", chat_stream_helper),
        ("async chat.with_raw_response.create", chat_raw),
        ("async responses.create", responses_create),
        ("async responses.create stream", responses_stream),
        ("async responses.stream helper", responses_stream_helper),
        ("async responses.parse", responses_parse),
        ("async embeddings.create", embeddings_create),
        ("async completions.create", completions_create),
        ("async completions.create stream", completions_stream),
        ("async client.post", post),
    ]


def show(label: str, result: object) -> None:
    text = repr(result)
    print(f"{label}: {text[:60]}", flush=True)
    assert result, f"{label} returned nothing"


async def run_async() -> None:
    async with AsyncOpenAI() as client:
        for label, call in async_calls(client):
            show(label, await call())


def main() -> None:
    with OpenAI() as client:
        for label, call in sync_calls(client):
            show(label, call())
    asyncio.run(run_async())
    print("done:", len(CALLS), "calls")


if __name__ == "__main__":
    main()
