"""The sample ChatGPT workload: the job ``python -m profiler.run`` profiles by default.

``--client threads`` (the default) makes the calls from worker threads sharing
one sync client; ``--client async`` from tasks on one event loop. Both run a
closed loop (``--concurrency`` calls in flight, the next one as soon as one
ends) or an open loop (``--rate`` calls started per second, Poisson or evenly
spaced, at most ``--concurrency`` in flight).
"""

from __future__ import annotations

from typing import Any

import openai

from profiler.workload.prompt import (
    CHOICES,
    MODEL,
    QUESTION,
    SYSTEM_PROMPT,
    WorkloadConfig,
    WorkloadResult,
    aask,
    ask,
    build_messages,
    burn_cpu,
    extract_titles,
    stream_texts,
)
from profiler.workload.threads import ThreadContext, run_threads


def run_workload(
    client: openai.OpenAI | openai.AsyncOpenAI, config: WorkloadConfig, **threads: Any
) -> WorkloadResult:
    """Make ``config.requests`` calls with the client the config names (see :func:`run_threads`)."""
    if config.client == "async":
        from profiler.workload.aio import run_async

        assert isinstance(client, openai.AsyncOpenAI), "--client async needs an AsyncOpenAI client"
        return run_async(client, config)
    assert isinstance(client, openai.OpenAI)
    return run_threads(client, config, **threads)


__all__ = [
    "CHOICES",
    "MODEL",
    "QUESTION",
    "SYSTEM_PROMPT",
    "ThreadContext",
    "WorkloadConfig",
    "WorkloadResult",
    "aask",
    "ask",
    "build_messages",
    "burn_cpu",
    "extract_titles",
    "run_threads",
    "run_workload",
    "stream_texts",
]
