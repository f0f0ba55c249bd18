"""Who is told about each read and write, and how the right one is found.

The observer is looked up per read from a ContextVar, so instrumentation binds it to
whichever SDK call is reading: a sync call sets it in its thread's context, an async
call in its task's context (tasks copy the context they were created in). A stream's
own observer, when set, wins over the ContextVar.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol

Where = tuple[int, int, int, int]  # (local port, first byte's stream offset, offset past the last, stamp ns)


class ReadObserver(Protocol):
    def __call__(
        self, arrived: float | None, returned: float, nbytes: int, exact: bool, where: Where | None = None
    ) -> None:
        """One read of a response, times in ``time.perf_counter()`` seconds.

        ``arrived``: when the read's last byte reached the machine (kernel RX stamp), None
        when the platform gave no stamp. ``returned``: when the read handed its bytes to
        the caller. ``exact``: True when all ``nbytes`` came from one peer write and
        ``arrived`` is its arrival; False when it is only an upper bound for earlier bytes.
        ``where``: the raw TCP bytes behind the read (over TLS, the record's) — this end's
        port, their offsets in the connection's byte stream, and the kernel stamp (CLOCK_REALTIME
        ns, 0 for none) that ``arrived`` was converted from; a packet capture resolves it later.
        """


class WriteObserver(Protocol):
    def __call__(self, entered: float, returned: float, nbytes: int, where: Where | None = None) -> None:
        """One write of a request: when ``write()`` was entered and when it returned.

        ``where``: as for a read, the raw bytes that carried it, with the wall clock
        (CLOCK_REALTIME ns) read together with ``entered``."""


read_observer: ContextVar[ReadObserver | None] = ContextVar("profiler_netio_read_observer", default=None)
write_observer: ContextVar[WriteObserver | None] = ContextVar("profiler_netio_write_observer", default=None)


class Observed:
    """Per-stream overrides; None means: use the ContextVar at each read/write."""

    read_observer: ReadObserver | None = None
    write_observer: WriteObserver | None = None

    def _read_observer(self) -> ReadObserver | None:
        return self.read_observer or read_observer.get()

    def _write_observer(self) -> WriteObserver | None:
        return self.write_observer or write_observer.get()
