"""Instrumentation of the OpenAI SDK: every HTTP request the SDK makes, sync or async,
whichever method issued it, becomes a :class:`CallRecording` in the active :class:`Collector`.

Where it hooks in, and why there:

* ``SyncAPIClient.request`` / ``AsyncAPIClient.request``: every request of the
  SDK passes there — ``create``, ``parse``, the stream helpers, raw and
  streaming responses, pagination, the low-level ``client.post`` — and the
  SDK's retries loop inside it, so one call there is one call for its caller,
  and every attempt is seen.
* The public methods of the generation APIs (``chat.completions``,
  ``responses``, ``completions``, ``embeddings``) only mark when the caller
  entered them, so the time they spend building the request is ``local_pre``,
  and which method it was. A method that calls another is still one call.
* The SDK's HTTP client (``httpx2``) gets a request hook that marks each
  attempt and sets httpcore's ``trace`` extension, so every connect/TLS/send/
  wait/download step is timestamped, and a response hook that keeps each
  attempt's status and headers. Of those, ``x-request-id``,
  ``openai-processing-ms`` and ``retry-after`` are read when the call is
  derived, off the request's path, and so is the request's ``Idempotency-Key``;
  no other header is read.
* ``Stream.__init__`` / ``AsyncStream.__init__``: a stream of a recorded
  response gets its iterator replaced by one that times each chunk, however
  late it is built (a raw response parsed later included); ``_parse`` of a
  recorded response keeps its usage.

When no collector is active the wrappers cost one global read and call through.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from openai import _base_client, _legacy_response, _response, _streaming

from profiler.trace import netio
from profiler.trace.events import Outcome, trace_code
from profiler.trace.exceptions import kind_of_exception
from profiler.trace.operations import normalise_path, operation_of
from profiler.trace.recording import AttemptResponse, CallRecording, Collector
from profiler.trace.stream import atimed_chunks, timed_chunks

_active_collector: Collector | None = None  # the run's: seen from every thread
_local_collector: ContextVar[Collector | None] = ContextVar("profiler_local_collector", default=None)
_current_call: ContextVar[CallRecording | None] = ContextVar("profiler_current_call", default=None)
# Set by a public SDK method while it builds its request: (perf_counter, thread CPU, "resource.method").
_method_entry: ContextVar[tuple[float, float, str] | None] = ContextVar("profiler_method_entry", default=None)
# Set by an open-loop load generator: when the call in this context was due (perf_counter). The time
# between that and the SDK call's entry is the client's own queue, counted apart from the call.
scheduled_at: ContextVar[float | None] = ContextVar("profiler_scheduled_at", default=None)
_hooked_clients: weakref.WeakSet[Any] = weakref.WeakSet()
# HTTP clients whose arrival times were taken care of: why not, or "kernel" (kept per client).
_arrival_clients: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
KERNEL_ARRIVALS = "kernel"
_installed = False
_FAILED = int(Outcome.FAILED)
RECORDING_KEY = "profiler.recording"  # where a response's recording is kept, in its extensions

# The public methods whose request building counts as part of the call (module path, class, methods).
_GENERATION_METHODS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("openai.resources.chat.completions.completions", "Completions", "chat.completions", ("create", "parse")),
    ("openai.resources.responses.responses", "Responses", "responses", ("create", "parse", "retrieve")),
    ("openai.resources.completions", "Completions", "completions", ("create",)),
    ("openai.resources.embeddings", "Embeddings", "embeddings", ("create",)),
)


def active_collector() -> Collector | None:
    return _local_collector.get() or _active_collector


def current_call() -> CallRecording | None:
    """The call whose request is being made in this thread or task, if any."""
    return _current_call.get()


# --- httpx2 event hooks: one attempt each --------------------------------------------------------


# Trace names whose event is not a failure, and their codes: all the hot path looks up.
_PLAIN_CODES: dict[str, int] = {}


def _code_of_event(name: str, info: dict[str, Any], recording: CallRecording) -> int:
    """The code of an event not seen yet, or of a failure, which also notes the exception's class."""
    code = trace_code(name)
    if code % 4 == _FAILED:
        recording.failures[len(recording.codes)] = type(info.get("exception")).__name__
    else:
        _PLAIN_CODES[name] = code
    return code


def _make_tracer(recording: CallRecording, chained: Callable[..., Any] | None) -> Callable[[str, dict], None]:
    times, codes, clock, plain = recording.times, recording.codes, time.perf_counter, _PLAIN_CODES

    def trace(name: str, info: dict[str, Any]) -> None:  # ~10 events a call: kept to a few opcodes
        times.append(clock())
        try:
            codes.append(plain[name])
        except KeyError:  # an event not seen yet, or a failure: free in 3.11 when not raised
            codes.append(_code_of_event(name, info, recording))

    if chained is None:
        return trace

    def trace_and_chain(name: str, info: dict[str, Any]) -> None:
        trace(name, info)
        chained(name, info)

    return trace_and_chain


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
    if recording.request_headers is None:
        recording.request_headers = request.headers
    request.extensions["trace"] = make_tracer(recording, request.extensions.get("trace"))


def _keep_response(response: Any) -> None:
    recording = _current_call.get()
    if recording is None:
        return
    at = time.perf_counter()
    # Its headers are read when the call is derived, after the request that made it.
    recording.responses.append(
        AttemptResponse(recording.attempts - 1, response.status_code, at, response.headers)
    )
    response.extensions[RECORDING_KEY] = recording


def _on_request(request: Any) -> None:
    _start_attempt(request, _make_tracer)


def _on_response(response: Any) -> None:
    _keep_response(response)


async def _on_request_async(request: Any) -> None:
    _start_attempt(request, _make_async_tracer)


async def _on_response_async(response: Any) -> None:
    _keep_response(response)


def _timestamp_arrivals(http_client: Any, collector: Collector) -> None:
    """Put the kernel-timestamping network backend under the client, once; note how it went."""
    note = _arrival_clients.get(http_client)
    if note is None:
        try:
            installation = netio.install(http_client)
            note = KERNEL_ARRIVALS if installation else f"unavailable: {installation.reason}"
        except Exception as exc:  # a client we do not know how to reach: measure without arrivals
            note = f"unavailable: {type(exc).__name__}"
        _arrival_clients[http_client] = note
    collector.arrival_notes[note] = collector.arrival_notes.get(note, 0) + 1


_HOOKED = "_profiler_hooked"  # marks an httpx2 client we put our hooks on (an attribute: no weakref per call)


def _hook_http_client(sdk_client: Any, is_async: bool) -> None:
    http_client = getattr(sdk_client, "_client", None)
    if http_client is None or getattr(http_client, _HOOKED, False) or http_client in _hooked_clients:
        return
    hooks = http_client.event_hooks  # the client's own lists: inserting is enough
    hooks["request"].insert(0, _on_request_async if is_async else _on_request)
    hooks["response"].insert(0, _on_response_async if is_async else _on_response)
    try:
        setattr(http_client, _HOOKED, True)
    except AttributeError:  # a client class with __slots__: remember it the slower way
        _hooked_clients.add(http_client)


# --- one call: the scope shared by the sync and async request wrappers -------------------------


class _CallScope:
    """Entered around the SDK's ``request``: the call's recording is current inside it."""

    __slots__ = ("_cpu_before", "_observe_io", "_reads", "_token", "_writes", "recording")

    def __init__(self, recording: CallRecording, cpu_before: float | None, observe_io: bool) -> None:
        self.recording = recording
        self._cpu_before = cpu_before
        self._observe_io = observe_io  # only our network backend reports reads and writes
        self._token: Token[CallRecording | None] | None = None
        self._reads: Token[Any] | None = None
        self._writes: Token[Any] | None = None

    def __enter__(self) -> CallRecording:
        self._token = _current_call.set(self.recording)
        if self._observe_io:
            self._reads = netio.read_observer.set(self.recording.note_read)
            self._writes = netio.write_observer.set(self.recording.note_write)
        return self.recording

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        recording = self.recording
        if self._cpu_before is not None:
            recording.cpu_s = time.thread_time() - self._cpu_before
        recording.exited = time.perf_counter()
        assert self._token is not None
        _current_call.reset(self._token)
        if self._reads is not None:
            netio.read_observer.reset(self._reads)
        if self._writes is not None:
            netio.write_observer.reset(self._writes)
        if exc is not None:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                recording.interrupted = True
            else:
                recording.error_kind = kind_of_exception(exc)
                recording.error_type = type(exc).__name__
        if exc is not None or not recording.stream_wrapped:
            recording.done()  # a stream's call ends with its last chunk instead


def _begin(sdk_client: Any, options: Any, stream: bool, is_async: bool) -> _CallScope | None:
    collector = _local_collector.get() or _active_collector
    if collector is None or _current_call.get() is not None:
        return None
    if not getattr(getattr(sdk_client, "_client", None), _HOOKED, False):  # hooked once, not looked up again
        _hook_http_client(sdk_client, is_async)
    observe_io = collector.arrival_times
    if observe_io:
        _timestamp_arrivals(sdk_client._client, collector)
    recording = collector.new_call()
    entry = _method_entry.get()
    if entry is None:
        cpu_before = None if is_async else time.thread_time()
    else:
        entered, method_cpu, recording.method = entry
        recording.started_at -= recording.entered - entered
        recording.entered = entered
        cpu_before = None if is_async else method_cpu
    base_path, recording.server_address, recording.server_port = _server_of(sdk_client)
    recording.operation, recording.api = _operation(options.method, str(options.url), base_path)
    body = options.json_data
    if isinstance(body, dict):
        model = body.get("model")
        if isinstance(model, str):
            recording.model = model
        n = body.get("n")
        if isinstance(n, int) and n > 1:
            recording.n = n
    # The fields below keep their class defaults (False, None) unless set: most calls set neither.
    if stream:
        recording.stream = True
    scheduled = scheduled_at.get()
    if scheduled is not None:
        recording.scheduled = scheduled
    return _CallScope(recording, cpu_before, observe_io)


def _server_of(sdk_client: Any) -> tuple[str, str, int]:
    """(base path, host, port) of a client's base URL, worked out once per base URL it has."""
    # The SDK's `_base_url` property imports a module on every read (2.7 µs here): the attribute
    # behind it, where the SDK has one.
    base_url = sdk_client.__dict__.get("_configured_base_url") or sdk_client._base_url
    facts = sdk_client.__dict__.get("_profiler_server")
    if facts is None or facts[0] is not base_url:
        port = base_url.port or (443 if base_url.scheme == "https" else 80)
        facts = (base_url, base_url.raw_path.decode("ascii", "replace"), base_url.host, port)
        sdk_client.__dict__["_profiler_server"] = facts
    return facts[1], facts[2], facts[3]


@functools.lru_cache(maxsize=1024)
def _operation(method: str, url: str, base_path: str) -> tuple[str, str]:
    return operation_of(method, normalise_path(url, base_path))


def _wrap_request(original: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def arequest(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
            scope = _begin(self, options, kwargs.get("stream", False), is_async=True)
            if scope is None:
                return await original(self, cast_to, options, *args, **kwargs)
            with scope:
                return await original(self, cast_to, options, *args, **kwargs)

        return arequest

    @functools.wraps(original)
    def request(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        scope = _begin(self, options, kwargs.get("stream", False), is_async=False)
        if scope is None:
            return original(self, cast_to, options, *args, **kwargs)
        with scope:
            return original(self, cast_to, options, *args, **kwargs)

    return request


def _wrap_method(original: Callable[..., Any], label: str) -> Callable[..., Any]:
    # The SDK decorates some async methods (``@required_args``) with a plain function: look beneath.
    if inspect.iscoroutinefunction(inspect.unwrap(original)):

        @functools.wraps(original)
        async def amethod(*args: Any, **kwargs: Any) -> Any:
            if (_active_collector is None and _local_collector.get() is None) or _method_entry.get():
                return await original(*args, **kwargs)
            token = _method_entry.set((time.perf_counter(), time.thread_time(), label))
            try:
                return await original(*args, **kwargs)
            finally:
                _method_entry.reset(token)

        return amethod

    @functools.wraps(original)
    def method(*args: Any, **kwargs: Any) -> Any:
        if (_active_collector is None and _local_collector.get() is None) or _method_entry.get():
            return original(*args, **kwargs)
        token = _method_entry.set((time.perf_counter(), time.thread_time(), label))
        try:
            return original(*args, **kwargs)
        finally:
            _method_entry.reset(token)

    return method


# --- what the call's response becomes: a stream to time, a body with usage ---------------------


def _wrap_stream_init(original: Callable[..., Any], timed: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        recording = self.response.extensions.get(RECORDING_KEY)
        if recording is not None and not recording.stream_wrapped:
            recording.stream_wrapped = True
            self._iterator = timed(self._iterator, recording)

    return __init__


def keep_usage(recording: CallRecording, result: Any) -> None:
    """Token counts of a parsed body, whichever API's names it uses."""
    usage = getattr(result, "usage", None)
    if usage is None:
        return
    output = getattr(usage, "completion_tokens", None)
    if output is None:
        output = getattr(usage, "output_tokens", None)
    prompt = getattr(usage, "prompt_tokens", None)
    if prompt is None:
        prompt = getattr(usage, "input_tokens", None)
    recording.usage_output_tokens = output if isinstance(output, int) else None
    recording.usage_input_tokens = prompt if isinstance(prompt, int) else None


def _wrap_parse(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def _parse(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        recording = self.http_response.extensions.get(RECORDING_KEY)
        if recording is not None:
            keep_usage(recording, result)
        return result

    return _parse


def install() -> None:
    """Patch the SDK's classes once per process; inactive until a collector is set."""
    global _installed
    if _installed:
        return
    _installed = True
    for cls in (_base_client.SyncAPIClient, _base_client.AsyncAPIClient):
        cls.request = _wrap_request(cls.request)  # type: ignore[method-assign]
    _streaming.Stream.__init__ = _wrap_stream_init(_streaming.Stream.__init__, timed_chunks)  # type: ignore[method-assign]
    _streaming.AsyncStream.__init__ = _wrap_stream_init(_streaming.AsyncStream.__init__, atimed_chunks)  # type: ignore[method-assign]
    for cls in (_response.BaseAPIResponse, _legacy_response.LegacyAPIResponse):
        cls._parse = _wrap_parse(cls._parse)  # type: ignore[method-assign]
    for module_name, class_name, resource, methods in _GENERATION_METHODS:
        module = importlib.import_module(module_name)
        for cls in (getattr(module, class_name), getattr(module, "Async" + class_name)):
            for name in methods:
                setattr(cls, name, _wrap_method(getattr(cls, name), f"{resource}.{name}"))


@contextmanager
def collecting(collector: Collector | None = None) -> Iterator[Collector]:
    """Record every SDK call made inside the block, from any thread."""
    global _active_collector
    install()
    collector = collector or Collector()
    previous, _active_collector = _active_collector, collector
    try:
        yield collector
    finally:
        _active_collector = previous


def collect_here(collector: Collector) -> Token[Collector | None]:
    """Record this context's calls in ``collector`` until `stop_collecting_here`: `collecting_here`
    without its object, for a caller that holds the token itself (a request scope)."""
    install()
    return _local_collector.set(collector)


def stop_collecting_here(token: Token[Collector | None]) -> None:
    _local_collector.reset(token)


class collecting_here:  # a context manager, named like one written as a function
    """Record the calls made in this context only (this thread or task), e.g. one web request.

    Unlike :func:`collecting`, concurrent requests each get their own collector. A class rather
    than a generator: a monitored service enters it on every request.
    """

    __slots__ = ("_token", "collector")

    def __init__(self, collector: Collector | None = None) -> None:
        self.collector = collector or Collector()
        self._token: Token[Collector | None] | None = None

    def __enter__(self) -> Collector:
        self._token = collect_here(self.collector)
        return self.collector

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        stop_collecting_here(self._token)


__all__ = [
    "RECORDING_KEY",
    "active_collector",
    "collect_here",
    "collecting",
    "collecting_here",
    "current_call",
    "install",
    "scheduled_at",
    "stop_collecting_here",
]
