"""Preparing a freshly connected socket for timestamped, frame-aware reads."""

from __future__ import annotations

import socket

from profiler.trace.netio.framing import Framer
from profiler.trace.netio.http1 import Http1ResponseFramer
from profiler.trace.netio.kernel import enable_rx_timestamps
from profiler.trace.netio.receiver import Receiver
from profiler.trace.netio.tls_records import TlsRecordFramer


def prepare(sock: socket.socket, frame_aware: bool) -> Receiver:
    """Stamps on, non-blocking (we wait with poll or the event loop), HTTP/1.1 framing first."""
    stamped = enable_rx_timestamps(sock) is not None
    sock.setblocking(False)
    framer: Framer | None = Http1ResponseFramer() if frame_aware else None
    return Receiver(sock, framer, stamped)


def switch_to_tls(receiver: Receiver) -> None:
    """From here on the stream is TLS records, whatever was read before."""
    if receiver.framer is not None:
        receiver.framer = TlsRecordFramer()
