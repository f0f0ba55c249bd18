"""One request of the sample ChatGPT workload: build the messages, call, post-process.

It does what a small real app does around each call: build the messages, call
``chat.completions.create`` through the real SDK, then pull the book titles out
of every choice. ``local_work_ms`` adds exactly that much real CPU work to the
post-processing, so local time can be made visible and checked.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import openai

SYSTEM_PROMPT = "You are a helpful assistant."
QUESTION = "What's a good book to read on a rainy day? please just name 2."
MODEL = "gpt-3.5-turbo"
CHOICES = 3

# "1. "The Night Circus" by Erin Morgenstern" -> The Night Circus
_QUOTED_TITLE = re.compile(r"[\"“*_]+([^\"”*_\n]{2,80})[\"”*_]+")
_NUMBERED_TITLE = re.compile(r"^\s*\d+[.)]\s*(.+?)(?:\s+by\s+.*)?$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class WorkloadConfig:
    requests: int = 10
    concurrency: int = 1  # calls in flight at most
    stream: bool = False
    local_work_ms: float = 0.0
    model: str = MODEL
    n: int = CHOICES
    client: Literal["threads", "async"] = "threads"
    rate: float | None = None  # open loop: calls started per second; None: closed loop
    arrival: Literal["poisson", "constant"] = "poisson"
    seed: int = 0  # of the Poisson arrivals
    uvloop: bool = False  # async client on uvloop's event loop


@dataclass(slots=True)
class WorkloadResult:
    failures: int = 0  # calls that raised (the trace also knows of streams that ended early)
    started: float = 0.0  # perf_counter when the first call could start
    wall_s: float = 0.0
    cpu_s: float = 0.0
    interrupted: bool = False
    loop_lag_s: list[float] | None = None  # async: how late the event loop woke a 10 ms timer


def build_messages(question: str = QUESTION) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]


def extract_titles(text: str) -> list[str]:
    """Book titles named in a reply: quoted ones first, else numbered lines."""
    titles = [match.strip() for match in _QUOTED_TITLE.findall(text)]
    if not titles:
        titles = [match.strip() for match in _NUMBERED_TITLE.findall(text)]
    return titles


def burn_cpu(milliseconds: float) -> None:
    """Spend exactly this much CPU time of the calling thread (not wall time)."""
    if milliseconds <= 0:
        return
    deadline = time.thread_time() + milliseconds / 1000.0
    value = 0
    while time.thread_time() < deadline:
        for i in range(200):  # a little real arithmetic between clock reads
            value = (value * 31 + i) % 1_000_003


def stream_texts(chunks: Iterable[Any]) -> list[str]:
    """The text of every choice of a streamed chat completion, in choice order."""
    parts: dict[int, list[str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            if choice.delta is not None and choice.delta.content:
                parts.setdefault(choice.index, []).append(choice.delta.content)
    return ["".join(pieces) for _, pieces in sorted(parts.items())]


def _texts_of(response: Any, config: WorkloadConfig) -> list[str]:
    if not config.stream:
        return [choice.message.content or "" for choice in response.choices]
    return stream_texts(response)


def _arguments(config: WorkloadConfig) -> dict[str, Any]:
    extra: dict[str, Any] = (
        {"stream": True, "stream_options": {"include_usage": True}} if config.stream else {}
    )
    return {"model": config.model, "messages": build_messages(), "n": config.n, **extra}


def _titles(texts: list[str], config: WorkloadConfig) -> list[str]:
    titles = [title for text in texts for title in extract_titles(text)]
    burn_cpu(config.local_work_ms)
    return titles


def ask(client: openai.OpenAI, config: WorkloadConfig) -> list[str]:
    """One request of the workload: build, call, post-process. Returns the titles found."""
    response = client.chat.completions.create(**_arguments(config))
    return _titles(_texts_of(response, config), config)


async def _astream_texts(chunks: AsyncIterable[Any]) -> list[str]:
    parts: dict[int, list[str]] = {}
    async for chunk in chunks:
        for choice in chunk.choices:
            if choice.delta is not None and choice.delta.content:
                parts.setdefault(choice.index, []).append(choice.delta.content)
    return ["".join(pieces) for _, pieces in sorted(parts.items())]


async def aask(client: openai.AsyncOpenAI, config: WorkloadConfig) -> list[str]:
    """The same request with the async client (the post-processing runs on the event loop, as it would)."""
    response = await client.chat.completions.create(**_arguments(config))
    if config.stream:
        texts = await _astream_texts(response)
    else:
        texts = [choice.message.content or "" for choice in response.choices]
    return _titles(texts, config)
