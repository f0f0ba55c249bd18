"""The middle of a shipper: one daemon thread that formats the records copied in the caller's thread.

Formatting a record as JSON costs tens of microseconds (python-json-logger: the
fields, the timestamp, the encoder); here that happens off the caller's thread, a
burst at a time, giving the GIL up between two records. It is a thread of its own,
not the sender's, so records are formatted (and their byte limits applied)
promptly even while the sender waits for a receiver that hangs. It holds the
handler only weakly, so a handler nobody uses any more can still be garbage
collected.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ._ledger import Ledger
from ._quiet import mark_sender_thread, unmark_sender_thread
from ._secrets import describe
from ._snapshot import revive
from .stats import SHUTDOWN

__all__ = ["Encoder"]


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
            for record in records:
                # Let a caller that waits for the GIL have it between two records. Otherwise a caller
                # that asks for it while a burst is being encoded waits out the interpreter's switch
                # interval (5 ms): a logging call's p99.9 went from 4.8–10.6 ms to 0.36–0.48 ms
                # (benchmarks/logging_cost.py, docs/performance.md).
                time.sleep(0)
                try:
                    events.append(encode(revive(record)))
                except Exception as exc:  # a bad format, an unprintable field: counted, never raised
                    failures.append(describe(exc, self._secrets))
            del encode, records  # hold neither the handler nor the records while waiting
            ledger.admit(events, failures, self._max_event_bytes)
