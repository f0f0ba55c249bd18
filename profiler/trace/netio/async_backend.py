"""The asyncio backend: httpcore2's ``AsyncNetworkBackend`` with timestamped reads.

Readiness comes from the event loop (``add_reader``/``add_writer``), the reads themselves
are our own ``recvmsg`` calls, so any loop with ``add_reader`` works (uvloop included).
Under another async library (trio) the connection is made by httpcore2's own backend and
wrapped so that reads are still reported, with ``arrived=None``: no figure is invented.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpcore2
from httpcore2._backends.auto import AutoBackend
from httpcore2._synchronization import current_async_library

from profiler.trace.netio.async_fallback import ReportingAsyncStream
from profiler.trace.netio.clock import clock_pair
from profiler.trace.netio.observers import Observed
from profiler.trace.netio.prepare import prepare, switch_to_tls
from profiler.trace.netio.receiver import Received, Receiver
from profiler.trace.netio.support import unsupported_reason
from profiler.trace.netio.sync_backend import _extra
from profiler.trace.netio.tls import RECORD_READ, TLSSession

_perf = time.perf_counter


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _wait(sock: socket.socket, writing: bool, deadline: float | None) -> None:
    """Until the socket is ready; TimeoutError at ``deadline`` (loop time)."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()
    if writing:
        loop.add_writer(fd, _wake, waiter)
    else:
        loop.add_reader(fd, _wake, waiter)
    try:
        async with asyncio.timeout_at(deadline):
            await waiter
    finally:
        if writing:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else asyncio.get_running_loop().time() + timeout


async def _receive(receiver: Receiver, max_bytes: int, deadline: float | None) -> Received:
    if receiver.drained:
        await _wait(receiver.sock, False, deadline)
    while True:
        try:
            return receiver.try_read(max_bytes)
        except BlockingIOError:
            await _wait(receiver.sock, False, deadline)


async def _send_all(sock: socket.socket, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            await _wait(sock, True, deadline)


class AsyncTimestampingStream(httpcore2.AsyncNetworkStream, Observed):
    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._sock = receiver.sock

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            got = await _receive(self._receiver, max_bytes, _deadline(timeout))
        except TimeoutError as exc:
            raise httpcore2.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.ReadError(str(exc)) from exc
        if got.data:
            observer = self._read_observer()
            if observer is not None:
                observer(got.arrived, _perf(), len(got.data), got.exact, self._receiver.where(got))
        return got.data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        entered, entered_ns = clock_pair()
        receiver = self._receiver
        framer = receiver.framer
        if framer is not None:
            framer.note_request(buffer)
        try:
            await _send_all(self._sock, buffer, _deadline(timeout))
        except TimeoutError as exc:
            raise httpcore2.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.WriteError(str(exc)) from exc
        receiver.sent += len(buffer)
        observer = self._write_observer()
        if observer is not None:
            observer(entered, _perf(), len(buffer), receiver.sent_where(len(buffer), entered_ns))

    async def aclose(self) -> None:
        self._sock.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = AsyncTimestampingTLSStream(self, ssl_context, server_hostname)
        try:
            await stream.handshake(timeout)
        except BaseException:
            await self.aclose()
            raise
        return stream

    def get_extra_info(self, info: str) -> Any:
        return _extra(self._sock, info)


class AsyncTimestampingTLSStream(httpcore2.AsyncNetworkStream, Observed):
    def __init__(
        self, plain: AsyncTimestampingStream, ssl_context: ssl.SSLContext, server_hostname: str | None
    ) -> None:
        self._receiver = plain._receiver
        self._sock = plain._sock
        self.read_observer, self.write_observer = plain.read_observer, plain.write_observer
        switch_to_tls(self._receiver)
        self._tls = TLSSession(ssl_context, server_hostname)

    async def handshake(self, timeout: float | None) -> None:
        try:
            await self._drive(self._tls.ssl_object.do_handshake, _deadline(timeout))
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout("TLS handshake timed out") from exc
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise httpcore2.ConnectError(str(exc)) from exc

    async def _drive(self, operation: Callable[[], Any], deadline: float | None) -> Any:
        tls = self._tls
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                await self._flush(deadline)
                got = await _receive(self._receiver, RECORD_READ, deadline)
                if not got.data and tls.incoming.eof:
                    raise EOFError("connection closed during TLS") from None
                tls.feed(got)
                continue
            await self._flush(deadline)
            return result

    async def _flush(self, deadline: float | None) -> None:
        out = self._tls.take_output()
        if out:
            await _send_all(self._sock, out, deadline)
            self._receiver.sent += len(out)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            reading = functools.partial(self._tls.ssl_object.read, max_bytes)
            data = await self._drive(reading, _deadline(timeout))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, EOFError):
            return b""
        except TimeoutError as exc:
            raise httpcore2.ReadTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpcore2.ReadError(str(exc)) from exc
        last = self._tls.last
        if data and last is not None:
            observer = self._read_observer()
            if observer is not None:
                observer(last.arrived, _perf(), len(data), last.exact, self._receiver.where(last))
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        entered, entered_ns = clock_pair()
        sent_before = self._receiver.sent
        deadline = _deadline(timeout)
        view = memoryview(buffer)
        try:
            while view:
                written = await self._drive(functools.partial(self._tls.ssl_object.write, view), deadline)
                view = view[written:]
        except TimeoutError as exc:
            raise httpcore2.WriteTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise httpcore2.WriteError(str(exc)) from exc
        observer = self._write_observer()
        if observer is not None:
            raw = self._receiver.sent - sent_before  # the records that carried it
            observer(entered, _perf(), len(buffer), self._receiver.sent_where(raw, entered_ns))

    async def aclose(self) -> None:
        try:
            out = self._tls.begin_close()
            if out:
                self._sock.send(out)  # best effort: never block a close on a full buffer
        except OSError:
            pass
        finally:
            self._sock.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise NotImplementedError("TLS inside TLS (an HTTPS proxy) is left to httpcore2's own backend")

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._tls.ssl_object
        return _extra(self._sock, info)


async def _connect(
    host: str, port: int, local_address: str | None, socket_options: Iterable[httpcore2.SOCKET_OPTION]
) -> socket.socket:
    """Each resolved address in turn, as ``socket.create_connection`` does."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    error: OSError | None = None
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if local_address is not None:
                sock.bind((local_address, 0))
            await loop.sock_connect(sock, address)
            for option in socket_options:
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    raise error or OSError(f"no address for {host}")


class AsyncTimestampingBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self, *, frame_aware: bool = True) -> None:
        self.frame_aware = frame_aware
        unsupported_reason()  # once per process: keeps the kernel's stamping switched on
        self._fallback: AutoBackend | None = None
        #: Set when a connection had to be made without timestamps, and why.
        self.fallback_reason: str | None = None

    def _fallback_backend(self, reason: str) -> AutoBackend:
        self.fallback_reason = reason
        if self._fallback is None:
            self._fallback = AutoBackend()
        return self._fallback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        library = current_async_library()
        if library != "asyncio":
            backend = self._fallback_backend(f"async library {library} is served by httpcore2's own backend")
            inner = await backend.connect_tcp(host, port, timeout, local_address, socket_options)
            return ReportingAsyncStream(inner)
        try:
            async with asyncio.timeout(timeout):
                sock = await _connect(host, port, local_address, list(socket_options or ()))
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        return AsyncTimestampingStream(prepare(sock, self.frame_aware))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        backend = self._fallback_backend("Unix sockets have no TCP receive path to stamp")
        return ReportingAsyncStream(await backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        if current_async_library() == "asyncio":
            await asyncio.sleep(seconds)
        else:
            await self._fallback_backend("").sleep(seconds)
