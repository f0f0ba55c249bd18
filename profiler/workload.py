"""The sample ChatGPT workload: the job ``python -m profiler.run`` profiles by default.

It does what a small real app does around each call: build the messages, call
``chat.completions.create`` through the real SDK, then pull the book titles out
of every choice. ``local_work_ms`` adds exactly that much real CPU work to the
post-processing, so local time can be made visible and checked.

Concurrency uses sync clients in worker threads (one shared client, whose
connection pool is thread-safe): that is how most apps call the sync SDK, and
it keeps per-call CPU time measurable (``time.thread_time``), which the
asyncio client cannot give per call.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import count
from typing import Any

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
    concurrency: int = 1
    stream: bool = False
    local_work_ms: float = 0.0
    model: str = MODEL
    n: int = CHOICES


@dataclass(slots=True)
class WorkloadResult:
    failures: int = 0  # calls that raised (the trace also knows of streams that ended early)
    started: float = 0.0  # perf_counter when the first call could start
    wall_s: float = 0.0
    cpu_s: float = 0.0
    interrupted: bool = False


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


def ask(client: openai.OpenAI, config: WorkloadConfig) -> list[str]:
    """One request of the workload: build, call, post-process. Returns the titles found."""
    messages = build_messages()
    extra: dict[str, Any] = {}
    if config.stream:
        extra = {"stream": True, "stream_options": {"include_usage": True}}
    response = client.chat.completions.create(model=config.model, messages=messages, n=config.n, **extra)
    texts = _texts_of(response, config)
    titles = [title for text in texts for title in extract_titles(text)]
    burn_cpu(config.local_work_ms)
    return titles


ThreadContext = Callable[[], AbstractContextManager[Any]]


def run_workload(
    client: openai.OpenAI,
    config: WorkloadConfig,
    *,
    on_done: Callable[[bool], None] | None = None,
    thread_context: ThreadContext = nullcontext,
    stop: threading.Event | None = None,
) -> WorkloadResult:
    """Make ``config.requests`` calls with at most ``config.concurrency`` in flight.

    ``thread_context`` is entered in every thread that makes calls (profilers
    use it to attach to each worker). ``stop`` ends the run early; requests in
    flight finish. Failures are counted, never raised: the trace records them.
    Jobs are handed out by a counter, not queued up front: memory does not grow
    with ``config.requests``.
    """
    result = WorkloadResult()
    stop = stop or threading.Event()
    tickets = count()  # a closed loop: each worker takes the next request as soon as it is free
    lock = threading.Lock()

    def work() -> None:
        with thread_context():
            while not stop.is_set():
                with lock:
                    ticket = next(tickets)
                if ticket >= config.requests:
                    return
                ok = _one(client, config, result, lock)
                if on_done is not None:
                    on_done(ok)

    wall_before, cpu_before = time.perf_counter(), time.process_time()
    result.started = wall_before
    try:
        if config.concurrency <= 1:
            work()
        else:
            workers = [threading.Thread(target=work, daemon=True) for _ in range(config.concurrency)]
            for worker in workers:
                worker.start()
            _join_all(workers)
    except KeyboardInterrupt:
        stop.set()
        result.interrupted = True
    finally:
        result.wall_s = time.perf_counter() - wall_before
        result.cpu_s = time.process_time() - cpu_before
    return result


def _join_all(workers: list[threading.Thread]) -> None:
    # Join with a timeout so Ctrl-C reaches the main thread promptly.
    for worker in workers:
        while worker.is_alive():
            worker.join(0.1)


def _one(
    client: openai.OpenAI,
    config: WorkloadConfig,
    result: WorkloadResult,
    lock: threading.Lock,
) -> bool:
    try:
        ask(client, config)
    except Exception:  # any failure: SDK errors, a body that is not JSON, a stream cut mid-way
        with lock:
            result.failures += 1
        return False
    return True
