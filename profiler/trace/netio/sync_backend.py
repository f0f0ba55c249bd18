"""The synchronous backend: httpcore2's ``NetworkBackend`` with timestamped reads.

Sockets are non-blocking and waited on with ``poll``, so a read can ask "is anything
more queued?" without blocking (the exactness probe) whatever the caller's timeout.
"""

from __future__ import annotations

import functools
import math
import select
import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore2
from httpcore2._utils import is_socket_readable

from profiler.trace.netio.clock import clock_pair
from profiler.trace.netio.observers import Observed
from profiler.trace.netio.prepare import prepare, switch_to_tls
from profiler.trace.netio.receiver import Received, Receiver
from profiler.trace.netio.support import unsupported_reason
from profiler.trace.netio.tls import RECORD_READ, TLSSession

_perf = time.perf_counter


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else _perf() + timeout


def _wait(sock: socket.socket, events: int, deadline: float | None) -> bool:
    """Block until the socket is ready for ``events``; False when the deadline passed."""
    poller = select.poll()
    poller.register(sock, events)
    if deadline is None:
        return bool(poller.poll())
    left = deadline - _perf()
    return left > 0 and bool(poller.poll(math.ceil(left * 1000)))


def _receive(receiver: Receiver, max_bytes: int, deadline: float | None) -> Received:
    if receiver.drained and not _wait(receiver.sock, select.POLLIN, deadline):
        raise TimeoutError
    while True:
        try:
            return receiver.try_read(max_bytes)
        except BlockingIOError:
            if not _wait(receiver.sock, select.POLLIN, deadline):
                raise TimeoutError from None


def _send_all(sock: socket.socket, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            if not _wait(sock, select.POLLOUT, deadline):
                raise TimeoutError from None


def _extra(sock: socket.socket, info: str) -> Any:
    if info == "client_addr":
        return sock.getsockname()
    if info == "server_addr":
        return sock.getpeername()
    if info == "socket":
        return sock
    if info == "is_readable":
        return is_socket_readable(sock)
    return None


class TimestampingStream(httpcore2.NetworkStream, Observed):
    """A plain TCP stream; ``start_tls`` turns it into a ``TimestampingTLSStream``."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._sock = receiver.sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            got = _receive(self._receiver, max_bytes, _deadline(timeout))
        except TimeoutError as exc:
            raise httpcore2.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.ReadError(str(exc)) from exc
        if got.data:
            observer = self._read_observer()
            if observer is not None:
                observer(got.arrived, _perf(), len(got.data), got.exact, self._receiver.where(got))
        return got.data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        entered, entered_ns = clock_pair()
        receiver = self._receiver
        framer = receiver.framer
        if framer is not None:
            framer.note_request(buffer)
        try:
            _send_all(self._sock, buffer, _deadline(timeout))
        except TimeoutError as exc:
            raise httpcore2.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.WriteError(str(exc)) from exc
        receiver.sent += len(buffer)
        observer = self._write_observer()
        if observer is not None:
            observer(entered, _perf(), len(buffer), receiver.sent_where(len(buffer), entered_ns))

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        try:
            return TimestampingTLSStream(self, ssl_context, server_hostname, timeout)
        except Exception:
            self.close()
            raise

    def get_extra_info(self, info: str) -> Any:
        return _extra(self._sock, info)


class TimestampingTLSStream(httpcore2.NetworkStream, Observed):
    """TLS over the raw socket (``TLSSession``); reads are framed by TLS record."""

    def __init__(
        self,
        plain: TimestampingStream,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None,
    ) -> None:
        self._receiver = plain._receiver
        self._sock = plain._sock
        self.read_observer, self.write_observer = plain.read_observer, plain.write_observer
        switch_to_tls(self._receiver)
        self._tls = TLSSession(ssl_context, server_hostname)
        deadline = _deadline(timeout)
        try:
            self._drive(self._tls.ssl_object.do_handshake, deadline)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout("TLS handshake timed out") from exc
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise httpcore2.ConnectError(str(exc)) from exc

    def _drive(self, operation: Any, deadline: float | None) -> Any:
        """Run an SSLObject operation, moving records between it and the socket until it completes."""
        tls = self._tls
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush(deadline)
                got = _receive(self._receiver, RECORD_READ, deadline)
                if not got.data and tls.incoming.eof:
                    raise EOFError("connection closed during TLS") from None
                tls.feed(got)
                continue
            self._flush(deadline)
            return result

    def _flush(self, deadline: float | None) -> None:
        out = self._tls.take_output()
        if out:
            _send_all(self._sock, out, deadline)
            self._receiver.sent += len(out)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            data = self._drive(functools.partial(self._tls.ssl_object.read, max_bytes), _deadline(timeout))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, EOFError):
            return b""  # close_notify, or a ragged end, as httpcore's own streams report it
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

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        entered, entered_ns = clock_pair()
        sent_before = self._receiver.sent
        deadline = _deadline(timeout)
        view = memoryview(buffer)
        try:
            while view:
                view = view[self._drive(functools.partial(self._tls.ssl_object.write, view), deadline) :]
        except TimeoutError as exc:
            raise httpcore2.WriteTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise httpcore2.WriteError(str(exc)) from exc
        observer = self._write_observer()
        if observer is not None:
            raw = self._receiver.sent - sent_before  # the records that carried it
            observer(entered, _perf(), len(buffer), self._receiver.sent_where(raw, entered_ns))

    def close(self) -> None:
        try:
            out = self._tls.begin_close()
            if out:
                self._sock.send(out)  # best effort: never block a close on a full buffer
        except OSError:
            pass
        finally:
            self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        raise NotImplementedError("TLS inside TLS (an HTTPS proxy) is left to httpcore2's own backend")

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._tls.ssl_object
        return _extra(self._sock, info)


class TimestampingBackend(httpcore2.NetworkBackend):
    """Connects like httpcore2's ``SyncBackend`` (TCP_NODELAY, caller's socket options)."""

    def __init__(self, *, frame_aware: bool = True) -> None:
        self.frame_aware = frame_aware
        unsupported_reason()  # once per process: keeps the kernel's stamping switched on

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        source = None if local_address is None else (local_address, 0)
        try:
            sock = socket.create_connection((host, port), timeout, source_address=source)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        return TimestampingStream(prepare(sock, self.frame_aware))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        # Unix sockets have no TCP receive path to stamp; httpcore2's own backend serves them.
        return httpcore2.SyncBackend().connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
