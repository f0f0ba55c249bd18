"""A stream from httpcore2's own async backend, reporting reads without an arrival time.

Used where our reads cannot run (trio, Unix sockets): the caller still learns when each
read returned, and ``arrived=None`` says plainly that the kernel time is unknown.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpcore2

from profiler.trace.netio.observers import Observed

_perf = time.perf_counter


class ReportingAsyncStream(httpcore2.AsyncNetworkStream, Observed):
    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._inner.read(max_bytes, timeout)
        if data:
            observer = self._read_observer()
            if observer is not None:
                observer(None, _perf(), len(data), False)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        entered = _perf()
        await self._inner.write(buffer, timeout)
        observer = self._write_observer()
        if buffer and observer is not None:
            observer(entered, _perf(), len(buffer))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        upgraded = ReportingAsyncStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))
        upgraded.read_observer, upgraded.write_observer = self.read_observer, self.write_observer
        return upgraded

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
