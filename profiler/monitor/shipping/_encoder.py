"""The middle of a shipper: one daemon thread that formats the records copied in the caller's thread.

Formatting a record as JSON costs tens of microseconds (python-json-logger: the
fields, the timestamp, the encoder); here that happens off the caller's thread, a
burst at a time, sharing the GIL with the caller as `_Pacing` says. It is a thread
of its own, not the sender's, so records are formatted (and their byte limits
applied) promptly even while the sender waits for a receiver that hangs. It holds
the handler only weakly, so a handler nobody uses any more can still be garbage
collected."""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ._ledger import ENCODE_BATCH, Ledger
from ._quiet import mark_sender_thread, unmark_sender_thread
from ._secrets import describe
from ._snapshot import revive
from .stats import SHUTDOWN

__all__ = ["Encoder"]

# How long an encoder that has a full burst to format keeps the GIL between two turns it gives up.
_BEHIND_SLICE_S = 0.001


class Encoder:
    def __init__(
        self,
        *,
        encode: weakref.WeakMethod[Callable[[Any], bytes]],
        ledger: Ledger,
        max_event_bytes: int,
        linger_s: float,
        secrets: Sequence[str],
        name: str,
    ) -> None:
        self._encode = encode
        self._ledger = ledger
        self._max_event_bytes = max_event_bytes
        self._linger_s = linger_s
        self._secrets = secrets
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        mark_sender_thread()  # what a formatter logs is never shipped: no loop
        try:
            self._encode_until_closed()
        finally:
            unmark_sender_thread()

    def _encode_until_closed(self) -> None:
        ledger = self._ledger
        while (records := ledger.take_raw(self._linger_s)) is not None:
            encode = self._encode()
            if encode is None:  # the handler was garbage collected
                ledger.write_off(len(records), SHUTDOWN)
                return
            events: list[bytes] = []
            failures: list[str] = []
            pacing = _Pacing(len(records), self._linger_s)
            for record in records:
                pacing.turn()
                try:
                    events.append(encode(revive(record)))
                except Exception as exc:  # a bad format, an unprintable field: counted, never raised
                    failures.append(describe(exc, self._secrets))
            del encode, records  # hold neither the handler nor the records while waiting
            ledger.admit(events, failures, self._max_event_bytes)


class _Pacing:
    """When the encoder gives the GIL up: between two records while it keeps up, after a slice of
    encoding once it has fallen behind.

    A caller that asks for the GIL while a burst is being encoded otherwise waits out the
    interpreter's switch interval (5 ms): giving it up between records took a logging call's
    p99.9 from 4.8–10.6 ms to 0.36–0.48 ms. But a caller that keeps the GIL busy only lets it go
    at that interval, so an encoder that gives it up after every record formats one record per
    5 ms, 200 a second, and under a flood of logging it never caught up: records waited until
    close() dropped them. So once a burst is a full one (`ENCODE_BATCH` records: the encoder is
    behind) or has taken longer than the linger (it is being starved), the encoder keeps the GIL
    for a slice of encoding at a time: `_BEHIND_SLICE_S` for a burst of `ENCODE_BATCH`, longer for
    a longer one, up to the switch interval, where it is the interpreter's own switching again.
    A fixed 1 ms slice still fell behind in a heavier flood, where the growing slice caught up
    (benchmarks/logging_cost.py, docs/performance.md).
    """

    __slots__ = ("_behind_at", "_slice_end", "_slice_s")

    def __init__(self, size: int, linger_s: float) -> None:
        now = time.monotonic()
        self._behind_at = now if size >= ENCODE_BATCH else now + linger_s
        self._slice_end = 0.0
        # The further behind, the longer the slice, up to the interpreter's own switch interval.
        self._slice_s = min(sys.getswitchinterval(), _BEHIND_SLICE_S * max(1.0, size / ENCODE_BATCH))

    def turn(self) -> None:
        now = time.monotonic()
        if now < self._behind_at:
            time.sleep(0)
        elif now >= self._slice_end:
            time.sleep(0)
            self._slice_end = time.monotonic() + self._slice_s
