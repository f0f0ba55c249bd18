"""A worker's share of ``--profiler-requests``: task iterations the master grants a few at a time.

The total is exact however the users are spread over the workers (a worker
with no users asks for nothing): the master grants at most what is left, and a
grant of 0 tells the worker there is none. The worker hears once that its share
is done, whichever comes last: its last iteration's end, or that grant of 0 (a
busy master's reply can come after every iteration has ended). Runs under gevent
(a Locust worker).
"""

from __future__ import annotations

from collections.abc import Callable

import gevent.event

from profiler.load.merge import WANT


class Tickets:
    def __init__(
        self,
        send: Callable[[str, dict[str, int]], None],
        block: Callable[[], int],
        all_done: Callable[[], None],
    ) -> None:
        self._send, self._block, self._all_done = send, block, all_done
        self._told = False
        self.left = 0
        self.taken = 0
        self.finished = 0
        self.exhausted = False  # the master has no more to give
        self._waiting: gevent.event.Event | None = None

    def take(self) -> bool:
        """One iteration to run (waiting for the master if need be), or False: there are no more."""
        while True:
            if self.left > 0:
                self.left -= 1
                self.taken += 1
                return True
            if self.exhausted:
                return False
            if self._waiting is None:
                self._waiting = waiting = gevent.event.Event()
                self._send(WANT, {"n": max(1, self._block())})  # a local runner may grant at once
            else:
                waiting = self._waiting
            waiting.wait()

    def granted(self, count: int) -> None:
        self.left += count
        if count == 0:
            self.exhausted = True
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.set()
        self._tell_if_done()

    def end(self) -> None:
        """An iteration that :meth:`take` gave has ended."""
        self.finished += 1
        self._tell_if_done()

    def _tell_if_done(self) -> None:
        if self.all_done and not self._told:
            self._told = True
            self._all_done()

    @property
    def all_done(self) -> bool:
        return self.exhausted and self.left == 0 and self.finished == self.taken
