"""Kernel arrival times for the bytes an HTTP client reads.

A network backend beneath ``httpcore2`` that reads each TCP socket with ``recvmsg`` and
the kernel's software RX timestamp, does TLS itself over the raw socket, stops reads at
frame boundaries (TLS records, HTTP/1.1 chunks) and reports every read as
``(arrived, returned, nbytes, exact)`` in ``time.perf_counter()`` seconds to the observer
bound in ``read_observer`` (or set on the stream). ``returned - arrived`` is then time
the process itself was late. Design, measurements and limits: docs/arrival-times.md.
"""

from profiler.trace.netio.async_backend import AsyncTimestampingBackend
from profiler.trace.netio.installing import (
    Installation,
    async_timestamping_transport,
    install,
    timestamping_transport,
)
from profiler.trace.netio.observers import ReadObserver, WriteObserver, read_observer, write_observer
from profiler.trace.netio.support import arrival_timestamps_supported, unsupported_reason
from profiler.trace.netio.sync_backend import TimestampingBackend

__all__ = [
    "AsyncTimestampingBackend",
    "Installation",
    "ReadObserver",
    "TimestampingBackend",
    "WriteObserver",
    "arrival_timestamps_supported",
    "async_timestamping_transport",
    "install",
    "read_observer",
    "timestamping_transport",
    "unsupported_reason",
    "write_observer",
]
