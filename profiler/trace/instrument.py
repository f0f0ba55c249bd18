"""Instrumentation of the OpenAI SDK: every ``chat.completions.create`` call,
sync or async, becomes a :class:`CallRecording` in the active :class:`Collector`.

How it hooks in, and why there:

* ``Completions.create`` (and the async twin) is wrapped at class level, so every
  client is covered, including ``with_raw_response`` / ``with_streaming_response``
  (they call ``create``) and clients built with their own ``http_client``. The
  wrapper takes the entry/exit time and the thread's CPU time.
* The SDK's HTTP client (``httpx2``) gets a request hook that marks the start
  of each attempt and sets httpcore's ``trace`` extension, so every
  connect/TLS/send/wait/download step of every attempt is timestamped, and a
  response hook that keeps the status, ``x-request-id`` and
  ``openai-processing-ms`` of each attempt. No other header is read.
* Streams get their iterator replaced by one that times each chunk.

When no collector is active the wrappers cost one global read and call through.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import openai
from openai.resources.chat.completions import completions as _completions

from profiler.monitor.errors import kind_of_exception
from profiler.trace.events import Outcome, trace_code
from profiler.trace.recording import AttemptResponse, CallRecording, Collector
from profiler.trace.stream import atimed_chunks, timed_chunks

_active_collector: Collector | None = None  # the run's: seen from every thread
_local_collector: ContextVar[Collector | None] = ContextVar("profiler_local_collector", default=None)
_current_call: ContextVar[CallRecording | None] = ContextVar("profiler_current_call", default=None)
_hooked_clients: weakref.WeakSet[Any] = weakref.WeakSet()
_originals: dict[type, Callable[..., Any]] = {}
_FAILED = int(Outcome.FAILED)


def _make_tracer(recording: CallRecording, chained: Callable[..., Any] | None) -> Callable[[str, dict], None]:
    times, codes, failures, clock = recording.times, recording.codes, recording.failures, time.perf_counter

    def trace(name: str, info: dict[str, Any]) -> None:
        times.append(clock())
        code = trace_code(name)
        codes.append(code)
        if code % 4 == _FAILED:
            failures[len(codes) - 1] = type(info.get("exception")).__name__
        if chained is not None:
            chained(name, info)

    return trace


def _make_async_tracer(recording: CallRecording, chained: Callable[..., Any] | None) -> Callable[..., Any]:
    sync_trace = _make_tracer(recording, None)

    async def trace(name: str, info: dict[str, Any]) -> None:
        sync_trace(name, info)
        if chained is not None:
            await chained(name, info)

    return trace


def _start_attempt(request: Any, make_tracer: Callable[..., Any]) -> None:
    recording = _current_call.get()
    if recording is None:
        return
    recording.mark_attempt()
    if recording.idempotency_key is None:
        recording.idempotency_key = request.headers.get("idempotency-key")
    request.extensions["trace"] = make_tracer(recording, request.extensions.get("trace"))


def _keep_response(response: Any) -> None:
    recording = _current_call.get()
    if recording is None:
        return
    headers = response.headers
    processing = headers.get("openai-processing-ms")
    try:
        processing_ms = float(processing) if processing is not None else None
    except ValueError:
        processing_ms = None
    recording.responses.append(
        AttemptResponse(
            attempt=recording.attempts - 1,
            status=response.status_code,
            x_request_id=headers.get("x-request-id"),
            processing_ms=processing_ms,
            retry_after=headers.get("retry-after"),
        )
    )


def _on_request(request: Any) -> None:
    _start_attempt(request, _make_tracer)


def _on_response(response: Any) -> None:
    _keep_response(response)


async def _on_request_async(request: Any) -> None:
    _start_attempt(request, _make_async_tracer)


async def _on_response_async(response: Any) -> None:
    _keep_response(response)


def _hook_http_client(sdk_client: Any, is_async: bool) -> None:
    http_client = getattr(sdk_client, "_client", None)
    if http_client is None or http_client in _hooked_clients:
        return
    hooks = http_client.event_hooks  # the client's own lists: inserting is enough
    if is_async:
        hooks["request"].insert(0, _on_request_async)
        hooks["response"].insert(0, _on_response_async)
    else:
        hooks["request"].insert(0, _on_request)
        hooks["response"].insert(0, _on_response)
    _hooked_clients.add(http_client)


def _begin(collector: Collector, resource: Any, kwargs: dict[str, Any], is_async: bool) -> CallRecording:
    _hook_http_client(resource._client, is_async)
    recording = collector.new_call()
    recording.model = kwargs.get("model")
    recording.n = kwargs.get("n") or 1
    recording.stream = bool(kwargs.get("stream"))
    return recording


def _keep_usage(recording: CallRecording, result: Any) -> None:
    usage = getattr(result, "usage", None)  # a ChatCompletion; raw responses are parsed later, if ever
    if usage is not None:
        recording.usage_output_tokens = getattr(usage, "completion_tokens", None)
        recording.usage_input_tokens = getattr(usage, "prompt_tokens", None)


def _fail(recording: CallRecording, exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        recording.interrupted = True
        return
    recording.error_kind = kind_of_exception(exc)
    recording.error_type = type(exc).__name__


def _wrap_sync(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        collector = _local_collector.get() or _active_collector
        if collector is None or _current_call.get() is not None:
            return original(self, *args, **kwargs)
        recording = _begin(collector, self, kwargs, is_async=False)
        token = _current_call.set(recording)
        cpu_before = time.thread_time()
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            _fail(recording, exc)
            raise
        finally:
            recording.cpu_s = time.thread_time() - cpu_before
            recording.exited = time.perf_counter()
            _current_call.reset(token)
        if isinstance(result, openai.Stream):
            result._iterator = timed_chunks(result._iterator, recording)
        else:
            _keep_usage(recording, result)
        return result

    return create


def _wrap_async(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        collector = _local_collector.get() or _active_collector
        if collector is None or _current_call.get() is not None:
            return await original(self, *args, **kwargs)
        recording = _begin(collector, self, kwargs, is_async=True)
        token = _current_call.set(recording)
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as exc:
            _fail(recording, exc)
            raise
        finally:
            # CPU time of one coroutine cannot be told apart from its neighbours' on the same thread.
            recording.exited = time.perf_counter()
            _current_call.reset(token)
        if isinstance(result, openai.AsyncStream):
            result._iterator = atimed_chunks(result._iterator, recording)
        else:
            _keep_usage(recording, result)
        return result

    return create


def install() -> None:
    """Wrap the SDK's create methods (idempotent)."""
    for cls, wrap in ((_completions.Completions, _wrap_sync), (_completions.AsyncCompletions, _wrap_async)):
        if cls not in _originals:
            _originals[cls] = cls.create
            cls.create = wrap(cls.create)


def uninstall() -> None:
    for cls, original in _originals.items():
        cls.create = original
    _originals.clear()


@contextmanager
def collecting(collector: Collector | None = None) -> Iterator[Collector]:
    """Record every chat completion call made inside the block."""
    global _active_collector
    install()
    collector = collector or Collector()
    previous, _active_collector = _active_collector, collector
    try:
        yield collector
    finally:
        _active_collector = previous


@contextmanager
def collecting_here(collector: Collector | None = None) -> Iterator[Collector]:
    """Record the calls made in this context only (this thread or task), e.g. one web request.

    Unlike :func:`collecting`, concurrent requests each get their own collector.
    """
    install()
    collector = collector or Collector()
    token = _local_collector.set(collector)
    try:
        yield collector
    finally:
        _local_collector.reset(token)
