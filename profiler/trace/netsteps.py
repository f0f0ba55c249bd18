"""Each attempt's network steps, noted by a pass-through network backend: the monitor's cheap source.

httpcore's ``trace`` extension reports every step of an exchange, at a price a service pays on
every call: per event a ``Trace`` object's two f-strings, a check of what the callback returned
and the callback itself, a dozen events a call; about 35 µs of CPU a call on the 2-core machine
(docs/performance.md). The same exchange seen from under the connection pool is a handful of
operations — connect, TLS, the request's writes, the response's reads — and noting those costs a
few µs. This module notes them, as the same step codes (``profiler.trace.events``), into the
recording of the call making them (``CURRENT_CALL``), so ``derive`` reads both sources alike:

- ``connect_tcp`` / ``connect_unix_socket``: CONNECT; ``start_tls``: TLS;
- an attempt's first write: SEND_HEADERS (h11 writes the head in one piece); its later writes:
  SEND_BODY, one span each; an empty write (h11's end of a sized body) sends nothing and is no step;
- the reads up to the head's blank line: RECEIVE_HEADERS, from the first of them; later reads:
  RECEIVE_BODY, one span each;
- an operation that raises: its step failed, with the exception's class, as the trace names it.
  A response that ends before its head is a failed RECEIVE_HEADERS and a sized body cut short a
  failed RECEIVE_BODY, both ``RemoteProtocolError``: what httpcore raises for them.

Where the two differ, by microseconds of the client's own work (docs/metrics.md): h11 building
the head counts as queue rather than send; parsing between two reads of a body is contention
rather than download; body bytes that came in the head's read take no download time at all.

Only plain HTTP/1.1 pools on httpcore2's own backends take it (no HTTP/2, no proxy, no custom
transport); a client that cannot take it keeps the trace extension. Connections the client
opened before are taken over too. Reads and writes outside a call (a stream the caller iterates after the
SDK returned it) are not noted: a streamed body is timed per chunk instead.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpcore2
import httpx2
from httpcore2._backends.auto import AutoBackend

from profiler.trace.events import Outcome, Step, encode
from profiler.trace.recording import CURRENT_CALL, CallRecording

__all__ = ["AsyncStepBackend", "StepBackend", "install_step_backend"]

_T = TypeVar("_T")
_perf = time.perf_counter
_STARTED, _COMPLETE = int(Outcome.STARTED), int(Outcome.COMPLETE)
_SENT = frozenset({encode(Step.SEND_HEADERS, Outcome.COMPLETE), encode(Step.SEND_BODY, Outcome.COMPLETE)})
_HEAD_PENDING = encode(Step.RECEIVE_HEADERS, Outcome.STARTED)
_HEAD_READ = frozenset(
    {encode(Step.RECEIVE_HEADERS, Outcome.COMPLETE), encode(Step.RECEIVE_BODY, Outcome.COMPLETE)}
)
_CUT_SHORT = "RemoteProtocolError"


def _recording() -> CallRecording | None:
    recording = CURRENT_CALL.get()
    return recording if recording is not None and recording.backend_steps else None


def _note(recording: CallRecording, step: Step, outcome: int) -> None:
    recording.times.append(_perf())
    recording.codes.append(step * 4 + outcome)


def _failed(recording: CallRecording, step: Step, error_type: str) -> None:
    recording.failures[len(recording.codes)] = error_type
    _note(recording, step, Outcome.FAILED)


def _begin_write(recording: CallRecording) -> Step:
    codes = recording.codes
    step = Step.SEND_BODY if codes and codes[-1] in _SENT else Step.SEND_HEADERS
    _note(recording, step, _STARTED)
    return step


def _begin_read(recording: CallRecording) -> Step:
    codes = recording.codes
    last = codes[-1] if codes else None
    if last == _HEAD_PENDING:  # the last read did not finish the head: its wait goes on
        return Step.RECEIVE_HEADERS
    step = Step.RECEIVE_BODY if last in _HEAD_READ else Step.RECEIVE_HEADERS
    _note(recording, step, _STARTED)
    return step


def _end_read(recording: CallRecording, step: Step, data: bytes) -> None:
    if step is Step.RECEIVE_BODY:
        if data or recording.read_to_close:
            _note(recording, step, _COMPLETE)
        else:  # h11 reads only while the body is short of its length: the server closed too soon
            _failed(recording, step, _CUT_SHORT)
        return
    if not data:  # "Server disconnected without sending a response."
        _failed(recording, step, _CUT_SHORT)
        return
    head = recording.partial_head + data if recording.partial_head else data
    end = head.find(b"\r\n\r\n")
    if end < 0:
        recording.partial_head = head  # the head goes on in the next read
        return
    if recording.partial_head:
        recording.partial_head = b""
    recording.read_to_close = not _sized(head[:end])
    _note(recording, step, _COMPLETE)


def _sized(head: bytes) -> bool:
    """Whether a response head gives its body's end (a length, or chunks) rather than the close."""
    lowered = head.lower()
    return b"\ncontent-length:" in lowered or b"\ntransfer-encoding:" in lowered


def _timed(step: Step, operation: Callable[..., _T], *args: Any) -> _T:
    recording = _recording()
    if recording is None:
        return operation(*args)
    _note(recording, step, _STARTED)
    try:
        result = operation(*args)
    except BaseException as exc:
        _failed(recording, step, type(exc).__name__)
        raise
    _note(recording, step, _COMPLETE)
    return result


async def _atimed(step: Step, operation: Callable[..., Awaitable[_T]], *args: Any) -> _T:
    recording = _recording()
    if recording is None:
        return await operation(*args)
    _note(recording, step, _STARTED)
    try:
        result = await operation(*args)
    except BaseException as exc:
        _failed(recording, step, type(exc).__name__)
        raise
    _note(recording, step, _COMPLETE)
    return result


class StepStream(httpcore2.NetworkStream):
    __slots__ = ("_inner",)

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        recording = _recording()
        if recording is None:
            return self._inner.read(max_bytes, timeout)
        step = _begin_read(recording)
        try:
            data = self._inner.read(max_bytes, timeout)
        except BaseException as exc:
            _failed(recording, step, type(exc).__name__)
            raise
        _end_read(recording, step, data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        recording = _recording() if buffer else None
        if recording is None:
            self._inner.write(buffer, timeout)
            return
        step = _begin_write(recording)
        try:
            self._inner.write(buffer, timeout)
        except BaseException as exc:
            _failed(recording, step, type(exc).__name__)
            raise
        _note(recording, step, _COMPLETE)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> StepStream:
        return StepStream(_timed(Step.TLS, self._inner.start_tls, ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class StepBackend(httpcore2.NetworkBackend):
    """Notes the steps of the current call's attempt and passes every operation on to ``inner``."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> StepStream:
        connect = self.inner.connect_tcp
        return StepStream(_timed(Step.CONNECT, connect, host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> StepStream:
        return StepStream(_timed(Step.CONNECT, self.inner.connect_unix_socket, path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class AsyncStepStream(httpcore2.AsyncNetworkStream):
    __slots__ = ("_inner",)

    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        recording = _recording()
        if recording is None:
            return await self._inner.read(max_bytes, timeout)
        step = _begin_read(recording)
        try:
            data = await self._inner.read(max_bytes, timeout)
        except BaseException as exc:
            _failed(recording, step, type(exc).__name__)
            raise
        _end_read(recording, step, data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        recording = _recording() if buffer else None
        if recording is None:
            await self._inner.write(buffer, timeout)
            return
        step = _begin_write(recording)
        try:
            await self._inner.write(buffer, timeout)
        except BaseException as exc:
            _failed(recording, step, type(exc).__name__)
            raise
        _note(recording, step, _COMPLETE)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> AsyncStepStream:
        start_tls = self._inner.start_tls
        return AsyncStepStream(await _atimed(Step.TLS, start_tls, ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class AsyncStepBackend(httpcore2.AsyncNetworkBackend):
    """`StepBackend` for async clients."""

    def __init__(self, inner: httpcore2.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncStepStream:
        connect = self.inner.connect_tcp
        stream = await _atimed(Step.CONNECT, connect, host, port, timeout, local_address, socket_options)
        return AsyncStepStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> AsyncStepStream:
        connect = self.inner.connect_unix_socket
        return AsyncStepStream(await _atimed(Step.CONNECT, connect, path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def install_step_backend(client: httpx2.Client | httpx2.AsyncClient) -> bool:
    """Put the step backend under every transport of ``client``; False, changing nothing, when one
    of them cannot take it (then the client's calls keep the trace extension)."""
    asynchronous = isinstance(client, httpx2.AsyncClient)
    transport_type = httpx2.AsyncHTTPTransport if asynchronous else httpx2.HTTPTransport
    pool_type = httpcore2.AsyncConnectionPool if asynchronous else httpcore2.ConnectionPool
    ours = AsyncStepBackend if asynchronous else StepBackend
    pools = []
    for transport in (client._transport, *(t for t in client._mounts.values() if t is not None)):
        pool = getattr(transport, "_pool", None)
        # Exactly a pool: a proxy's (a subclass) writes and reads a tunnel's set-up on the same stream.
        if not isinstance(transport, transport_type) or type(pool) is not pool_type:
            return False
        if isinstance(pool._network_backend, ours):
            continue
        if pool._http2 or not _stock(pool._network_backend, asynchronous):
            return False  # HTTP/2's frames belong to no one request
        pools.append(pool)
    for pool in pools:
        backend = pool._network_backend = ours(pool._network_backend)
        _take_over_open_connections(pool, backend, AsyncStepStream if asynchronous else StepStream)
    return True


def _take_over_open_connections(pool: Any, backend: Any, stream_type: type) -> None:
    """The connections a client opened before: their streams noted too, and their connects, if still
    to come, through the step backend (each attribute swap is atomic; a stream in use by another
    call passes everything through, as that call does not take its steps from here)."""
    for connection in pool.connections:
        http11 = getattr(connection, "_connection", None)
        if http11 is None:  # not connected yet: it connects through the backend it was given
            connection._network_backend = backend
            continue
        stream = getattr(http11, "_network_stream", None)
        if stream is not None and not isinstance(stream, stream_type):
            http11._network_stream = stream_type(stream)


def _stock(backend: Any, asynchronous: bool) -> bool:
    from profiler.trace.netio import AsyncTimestampingBackend, TimestampingBackend

    if asynchronous:
        return isinstance(backend, AutoBackend | httpcore2.AnyIOBackend | AsyncTimestampingBackend)
    return isinstance(backend, httpcore2.SyncBackend | TimestampingBackend)
