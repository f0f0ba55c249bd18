"""Process events every live shipper must hear of: interpreter exit and fork.

Handlers are held weakly, so registering one never keeps it alive. At exit all
are told to drain first and then closed against one shared deadline: two
shippers with a 5 s bound take 5 s, not 10. This runs before `logging.shutdown`
(atexit is last-in first-out and `logging` registered first), which then finds
them already closed and returns at once, instead of waiting while holding each
handler's lock.
"""

from __future__ import annotations

import atexit
import os
import time
import weakref
from typing import Protocol

__all__ = ["forget", "track"]


class _Shipper(Protocol):
    close_timeout_s: float

    def _begin_draining(self) -> None: ...

    def _close_by(self, deadline: float) -> None: ...

    def _reset_after_fork(self) -> None: ...


_live: weakref.WeakSet[_Shipper] = weakref.WeakSet()


def track(shipper: _Shipper) -> None:
    _live.add(shipper)


def forget(shipper: _Shipper) -> None:
    _live.discard(shipper)


def _close_all_at_exit() -> None:
    shippers = list(_live)
    start = time.monotonic()
    for shipper in shippers:
        shipper._begin_draining()
    for shipper in shippers:
        shipper._close_by(start + shipper.close_timeout_s)


def _reset_in_child() -> None:
    for shipper in list(_live):
        shipper._reset_after_fork()


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
