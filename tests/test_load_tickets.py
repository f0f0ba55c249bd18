"""A worker's share of the iterations: it learns once that it is done, whichever message comes last."""

from __future__ import annotations

import gevent

from profiler.load.merge import WANT
from profiler.load.tickets import Tickets


class Master:
    """What the worker sent, and a count of the times it said its share was done."""

    def __init__(self) -> None:
        self.wants: list[int] = []
        self.done = 0

    def send(self, kind: str, data: dict[str, int]) -> None:
        assert kind == WANT
        self.wants.append(data["n"])

    def all_done(self) -> None:
        self.done += 1


def _tickets(master: Master) -> Tickets:
    return Tickets(master.send, lambda: 2, master.all_done)


def _take_in_a_greenlet(tickets: Tickets) -> gevent.Greenlet:
    user = gevent.spawn(tickets.take)
    gevent.sleep(0)  # let it ask the master and wait
    return user


def test_the_grant_of_nothing_arriving_after_the_last_iteration_ended_still_ends_the_share() -> None:
    master = Master()
    tickets = _tickets(master)
    first = _take_in_a_greenlet(tickets)
    tickets.granted(2)
    assert first.get(timeout=1) is True and tickets.take() is True
    tickets.end()
    tickets.end()  # every iteration has ended, but the master has not said there are no more
    assert master.done == 0
    asking = _take_in_a_greenlet(tickets)
    assert master.wants == [2, 2]
    tickets.granted(0)  # a busy master's reply, after the last end
    assert asking.get(timeout=1) is False
    assert master.done == 1


def test_an_iteration_still_running_when_the_grant_of_nothing_arrives_ends_the_share_when_it_ends() -> None:
    master = Master()
    tickets = _tickets(master)
    first = _take_in_a_greenlet(tickets)
    tickets.granted(1)
    assert first.get(timeout=1) is True
    asking = _take_in_a_greenlet(tickets)
    tickets.granted(0)
    assert asking.get(timeout=1) is False
    assert master.done == 0  # one iteration is still running
    tickets.end()
    assert master.done == 1
    tickets.granted(0)  # a late duplicate changes nothing
    assert master.done == 1
