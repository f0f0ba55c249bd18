"""Chunk timing for streamed calls, whichever API streams.

For every chunk we keep when the caller asked for it and when the SDK handed
it over. The gap inside is time blocked on the network (plus SSE parsing); the
gap outside is the caller's own work between chunks. When the caller is slower
than the stream, chunks queue in the socket buffer and the blocked time drops
towards zero: that is the signature of a local bottleneck.

What counts as output (the first one is the TTFT; docs/metrics.md):
chat — a delta with content, a refusal or a tool call; Responses — an
``output_text``, ``refusal`` or ``function_call_arguments`` delta (reasoning
deltas do not count: they are not output the caller sees); legacy completions —
a non-empty ``text``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from profiler.trace.exceptions import kind_of_exception
from profiler.trace.kinds import STREAM_INTERRUPTED
from profiler.trace.netio import read_observer
from profiler.trace.recording import CallRecording

ChunkNote = Callable[[CallRecording, Any], int]

_RESPONSES_OUTPUT_DELTAS = frozenset(
    {"response.output_text.delta", "response.refusal.delta", "response.function_call_arguments.delta"}
)
_RESPONSES_ENDED = frozenset({"response.completed", "response.incomplete"})


def _note_chat_chunk(recording: CallRecording, chunk: Any) -> int:
    """Usage and finish reasons of a chat chunk; the choice that got output, or -1.

    On the hot path: one call per chunk, so plain attribute reads and no helpers.
    """
    output_choice = -1
    choices = chunk.choices
    if choices:
        for choice in choices:
            delta = choice.delta
            if (
                output_choice < 0
                and delta is not None
                and (delta.content or delta.tool_calls or delta.refusal)
            ):
                output_choice = choice.index
            if choice.finish_reason is not None:
                recording.stream_finished_choices += 1
    usage = chunk.usage
    if usage is not None:
        recording.usage_output_tokens = usage.completion_tokens
        recording.usage_input_tokens = usage.prompt_tokens
    return output_choice


def _note_completion_chunk(recording: CallRecording, chunk: Any) -> int:
    output_choice = -1
    for choice in chunk.choices or ():
        if output_choice < 0 and choice.text:
            output_choice = choice.index
        if choice.finish_reason is not None:
            recording.stream_finished_choices += 1
    usage = chunk.usage
    if usage is not None:
        recording.usage_output_tokens = usage.completion_tokens
        recording.usage_input_tokens = usage.prompt_tokens
    return output_choice


def _note_responses_event(recording: CallRecording, event: Any) -> int:
    kind = getattr(event, "type", None)
    if kind in _RESPONSES_OUTPUT_DELTAS:
        return event.output_index if event.delta else -1
    if kind in _RESPONSES_ENDED:
        recording.stream_finished_choices += 1
        usage = event.response.usage
        if usage is not None:
            recording.usage_output_tokens = usage.output_tokens
            recording.usage_input_tokens = usage.input_tokens
    return -1


def _note_nothing(recording: CallRecording, chunk: Any) -> int:
    return -1


def chunk_note_for(api: str) -> ChunkNote:
    if api == "chat.completions":
        return _note_chat_chunk
    if api == "responses":
        return _note_responses_event
    if api == "completions":
        return _note_completion_chunk
    return _note_nothing


def _finish(
    recording: CallRecording, error: BaseException | None, closed_early: bool, note: ChunkNote
) -> None:
    recording.stream_ended = time.perf_counter()
    if isinstance(error, KeyboardInterrupt | SystemExit):
        recording.interrupted = True
    elif error is not None:
        recording.error_kind = kind_of_exception(error, in_stream_body=True)
        recording.error_type = type(error).__name__
    elif not closed_early and note is not _note_nothing and recording.stream_finished_choices < recording.n:
        # The body ended without every choice finishing: a truncated stream.
        recording.error_kind = STREAM_INTERRUPTED
        recording.error_type = "TruncatedStream"
    recording.done()


def timed_chunks(inner: Iterator[Any], recording: CallRecording) -> Iterator[Any]:
    note = chunk_note_for(recording.api)
    recording.begin_stream()
    clock, cpu_clock, next_chunk = time.perf_counter, time.thread_time, inner.__next__
    asked_at, ready_at = recording.chunk_requested.append, recording.chunk_ready.append
    choice_of, cpu_of = recording.chunk_choice.append, recording.chunk_cpu.append
    observe, bind, unbind = recording.note_read, read_observer.set, read_observer.reset
    error: BaseException | None = None
    closed_early = False
    try:
        while True:
            asked, cpu_before = clock(), cpu_clock()
            asked_at(asked)
            reads = bind(observe)  # the body is read here, after the SDK call returned: this call's reads
            try:
                chunk = next_chunk()
            except StopIteration:
                break
            finally:
                unbind(reads)
            ready_at(clock())
            cpu_of(cpu_clock() - cpu_before)
            choice_of(note(recording, chunk))
            yield chunk
    except GeneratorExit:
        closed_early = True
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        recording.cpu_s = (recording.cpu_s or 0.0) + sum(recording.chunk_cpu)
        _finish(recording, error, closed_early, note)


async def atimed_chunks(inner: AsyncIterator[Any], recording: CallRecording) -> AsyncIterator[Any]:
    note = chunk_note_for(recording.api)
    recording.begin_stream()
    clock, next_chunk = time.perf_counter, inner.__anext__
    asked_at, ready_at, choice_of = (
        recording.chunk_requested.append,
        recording.chunk_ready.append,
        recording.chunk_choice.append,
    )
    observe, bind, unbind = recording.note_read, read_observer.set, read_observer.reset
    error: BaseException | None = None
    closed_early = False
    try:
        while True:
            asked_at(clock())
            reads = bind(observe)
            try:
                chunk = await next_chunk()
            except StopAsyncIteration:
                break
            finally:
                unbind(reads)
            ready_at(clock())
            choice_of(note(recording, chunk))
            yield chunk
    except GeneratorExit:
        closed_early = True
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        _finish(recording, error, closed_early, note)
