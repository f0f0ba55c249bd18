"""Chunk timing for streamed calls.

For every chunk we keep when the caller asked for it and when the SDK handed
it over. The gap inside is time blocked on the network (plus SSE parsing); the
gap outside is the caller's own work between chunks. When the caller is slower
than the stream, chunks queue in the socket buffer and the blocked time drops
towards zero: that is the signature of a local bottleneck.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from profiler.monitor.errors import STREAM_INTERRUPTED, kind_of_exception
from profiler.trace.recording import CallRecording


def _note_chunk(recording: CallRecording, chunk: Any) -> int:
    """Record usage and finish reasons; return the choice index that got content, or -1.

    On the hot path: one call per chunk, so plain attribute reads and no helpers.
    """
    content_choice = -1
    choices = chunk.choices
    if choices:
        for choice in choices:
            delta = choice.delta
            if content_choice < 0 and delta is not None and delta.content:
                content_choice = choice.index
            if choice.finish_reason is not None:
                recording.stream_finished_choices += 1
    usage = chunk.usage
    if usage is not None:
        recording.usage_output_tokens = usage.completion_tokens
        recording.usage_input_tokens = usage.prompt_tokens
    return content_choice


def _finish(recording: CallRecording, error: BaseException | None, closed_early: bool) -> None:
    recording.stream_ended = time.perf_counter()
    if isinstance(error, KeyboardInterrupt | SystemExit):
        recording.interrupted = True
    elif error is not None:
        recording.error_kind = kind_of_exception(error, in_stream_body=True)
        recording.error_type = type(error).__name__
    elif not closed_early and recording.stream_finished_choices < recording.n:
        # The body ended without every choice finishing: a truncated stream.
        recording.error_kind = STREAM_INTERRUPTED
        recording.error_type = "TruncatedStream"


def timed_chunks(inner: Iterator[Any], recording: CallRecording) -> Iterator[Any]:
    clock, cpu_clock, next_chunk = time.perf_counter, time.thread_time, inner.__next__
    asked_at, ready_at = recording.chunk_requested.append, recording.chunk_ready.append
    choice_of, cpu_of = recording.chunk_choice.append, recording.chunk_cpu.append
    error: BaseException | None = None
    closed_early = False
    try:
        while True:
            asked, cpu_before = clock(), cpu_clock()
            asked_at(asked)
            try:
                chunk = next_chunk()
            except StopIteration:
                break
            ready_at(clock())
            cpu_of(cpu_clock() - cpu_before)
            choice_of(_note_chunk(recording, chunk))
            yield chunk
    except GeneratorExit:
        closed_early = True
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        recording.cpu_s = (recording.cpu_s or 0.0) + sum(recording.chunk_cpu)
        _finish(recording, error, closed_early)


async def atimed_chunks(inner: AsyncIterator[Any], recording: CallRecording) -> AsyncIterator[Any]:
    clock = time.perf_counter
    requested, ready, choices = recording.chunk_requested, recording.chunk_ready, recording.chunk_choice
    error: BaseException | None = None
    closed_early = False
    try:
        while True:
            requested.append(clock())
            try:
                chunk = await inner.__anext__()
            except StopAsyncIteration:
                break
            ready.append(clock())
            choices.append(_note_chunk(recording, chunk))
            yield chunk
    except GeneratorExit:
        closed_early = True
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        _finish(recording, error, closed_early)
