"""When each byte a connection read had arrived, from a packet capture: pure, no socket.

The capture keeps, for every segment of a connection to the server, its kernel
stamp, our end's port, its sequence number, length and direction, and each side's
SYN (its initial sequence number). A read reported by the network
backend says where its bytes lie in the connection's byte stream (``netio``'s
``Where``): offset ``o`` is sequence number ``isn + 1 + o``. So the arrival of a
read's last byte is the stamp of the segment that carried it — however late the
program read it and however the kernel merged the segments meanwhile, which is
what a receive timestamp on the socket cannot tell (docs/arrival-times.md). The
same for writes: when a write's last byte left, not when the thread called it.

Stamps stay on the kernel's CLOCK_REALTIME until the last step: a read's arrival
in ``perf_counter`` time moves by the difference of two kernel stamps (the
segment's and the read's own), never by an offset between clocks taken later.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from profiler.trace.recording import CallRecording

_SEQ = 1 << 32
# A segment's stamp after the read's own by more than this is not the read's: another connection
# on a reused port, or an offset we got wrong. Such reads keep what the socket said.
_LATER_TOLERANCE_NS = 1_000_000


class Captured(NamedTuple):
    """One segment of a connection to the server, as the capture saw it."""

    stamp_ns: int  # CLOCK_REALTIME, the kernel's
    local_port: int  # our end of the connection
    seq: int
    payload: int  # bytes of data (0 for a SYN)
    syn: bool
    outgoing: bool = False  # ours, as it left (else the server's, as it came in)


@dataclass
class _Connection:
    opened_ns: int
    isn: int
    starts: list[int] = field(default_factory=list)  # stream offsets, ascending
    ends: list[int] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)


@dataclass
class Resolution:
    """How a capture went for some reads and writes: counted, so a report can say how much it covered."""

    resolved: int = 0  # reads whose arrival now comes from the capture
    unresolved: int = 0  # reads it had no segment for (a connection opened before it, a lost packet)
    writes_resolved: int = 0  # writes whose departure now comes from the capture
    writes_unresolved: int = 0

    def add(self, other: Resolution) -> None:
        self.resolved += other.resolved
        self.unresolved += other.unresolved
        self.writes_resolved += other.writes_resolved
        self.writes_unresolved += other.writes_unresolved


class _Direction:
    """One direction's segments, by local port, connection (its SYN) and stream offset."""

    def __init__(self, segments: list[Captured]) -> None:
        self._ports: dict[int, list[_Connection]] = defaultdict(list)
        pending: dict[int, list[Captured]] = defaultdict(list)
        for segment in segments:  # in stamp order
            if segment.syn:
                self._ports[segment.local_port].append(_Connection(segment.stamp_ns, segment.seq))
            elif self._ports.get(segment.local_port):
                pending[segment.local_port].append(segment)
        self._opened = {port: [c.opened_ns for c in cs] for port, cs in self._ports.items()}
        for port, captured in pending.items():
            connections, opened = self._ports[port], self._opened[port]
            by_connection: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
            for segment in captured:  # the first copy of a resent segment wins
                index = bisect_right(opened, segment.stamp_ns) - 1
                start = (segment.seq - connections[index].isn - 1) % _SEQ
                by_connection[index].setdefault(start, (start + segment.payload, segment.stamp_ns))
            for index, spans in by_connection.items():
                connection = connections[index]
                for start in sorted(spans):
                    end, stamp = spans[start]
                    connection.starts.append(start)
                    connection.ends.append(end)
                    connection.stamps.append(stamp)
        self.segments = sum(len(c.starts) for cs in self._ports.values() for c in cs)

    def carrying(self, port: int, first: int, end: int, at_ns: int) -> tuple[int, bool] | None:
        """(stamp of the segment that carried byte ``end - 1``, whether byte ``first`` was in it too),
        on the port's connection opened last before ``at_ns``."""
        connections = self._ports.get(port)
        if not connections or end <= first or at_ns <= 0:
            return None
        index = bisect_right(self._opened[port], at_ns) - 1
        if index < 0:
            return None
        connection = connections[index]
        last = _segment_of(connection, end - 1)
        if last is None:
            return None
        return connection.stamps[last], _segment_of(connection, first) == last


def _segment_of(connection: _Connection, offset: int) -> int | None:
    index = bisect_right(connection.starts, offset) - 1
    if index < 0 or connection.ends[index] <= offset:
        return None
    return index


class WireArrivals:
    """The captured segments of each connection, both ways: when our bytes left, when theirs came."""

    def __init__(self, segments: Iterable[Captured]) -> None:
        ordered = sorted(segments)
        self._in = _Direction([s for s in ordered if not s.outgoing])
        self._out = _Direction([s for s in ordered if s.outgoing])
        self.segments = self._in.segments + self._out.segments

    def arrival(self, port: int, first: int, end: int, stamp_ns: int) -> tuple[int, bool] | None:
        """(stamp of the segment that carried a read's last byte, whether its first came in it too).

        ``stamp_ns`` is the read's own kernel stamp: a segment stamped after it cannot be the one
        the read copied (another connection on a reused port, an offset gone wrong): None then.
        """
        found = self._in.carrying(port, first, end, stamp_ns)
        if found is None or found[0] > stamp_ns + _LATER_TOLERANCE_NS:
            return None
        return found

    def departure(self, port: int, first: int, end: int, entered_ns: int) -> int | None:
        """When a write's last byte left, by the kernel's stamp; None if the capture did not see it."""
        found = self._out.carrying(port, first, end, entered_ns)
        if found is None or found[0] < entered_ns - _LATER_TOLERANCE_NS:
            return None
        return found[0]

    def resolve(self, recording: CallRecording) -> Resolution:
        """Rewrite a recording's read arrivals (and exactness) from the capture, where it has them."""
        result = Resolution()
        where = recording.read_where
        arrived, exact = recording.read_arrived, recording.read_exact
        for i in range(len(exact)):
            port, first, end, stamp_ns = where[4 * i : 4 * i + 4]
            found = None if math.isnan(arrived[i]) else self.arrival(port, first, end, stamp_ns)
            if found is None:
                result.unresolved += 1
                continue
            stamp, whole = found
            arrived[i] -= (stamp_ns - stamp) * 1e-9  # type: ignore[index]
            exact[i] = int(whole)  # type: ignore[index]
            result.resolved += 1
        written, entered = recording.write_where, recording.write_entered
        for i in range(len(entered)):
            port, first, end, entered_ns = written[4 * i : 4 * i + 4]
            left = self.departure(port, first, end, entered_ns)
            if left is None:
                result.writes_unresolved += 1
                continue
            # From here on a write's time is when its bytes left, not when write() was entered:
            # the moment the request was out, whatever the thread did between the two.
            entered[i] += max(0, left - entered_ns) * 1e-9  # type: ignore[index]
            result.writes_resolved += 1
        return result
