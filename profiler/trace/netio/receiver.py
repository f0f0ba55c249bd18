"""Non-blocking, frame-aware, timestamped reads from one TCP socket.

Why reads stop at frame boundaries, and how exactness is decided (measured in
docs/arrival-times.md):

* Linux's ``tcp_recvmsg`` reports one timestamp per call: that of the last skb it
  copied from. A read that runs past the end of the peer's write into the next one
  reports the later write's arrival for all of its bytes. Stopping at the boundary
  (``Framer``) keeps each read within one write.
* That is not enough on its own: while the reader is late, ``tcp_try_coalesce`` merges
  newly arrived segments into the tail skb of the receive queue and gives the merged
  skb the newest stamp. A frame whose skb absorbed a later write therefore carries the
  later stamp, and no read pattern can get the earlier one back.
* So after each read a one-byte ``MSG_PEEK`` looks at the next queued byte. Nothing
  queued: the skb ended with our bytes, the stamp is theirs. The same stamp: same skb,
  which held a later write, so the stamp is only an upper bound. A different stamp
  proves a different skb only if it was set before our recvmsg began: a stamp set later
  may be a later segment merged into the very skb we read from, its earlier stamp
  overwritten (the reader can lose the GIL between the read and the peek, so "later" can
  be milliseconds). Such reads are reported as upper bounds too.
"""

from __future__ import annotations

import socket
import time
from typing import NamedTuple

from profiler.trace.netio.clock import arrival_in_perf
from profiler.trace.netio.framing import Framer
from profiler.trace.netio.kernel import ANCILLARY_SPACE, rx_timestamp_ns


class Received(NamedTuple):
    data: bytes  # b"" at end of stream
    arrived: float | None  # perf_counter time the last byte reached the machine
    returned: float  # perf_counter time recvmsg came back
    exact: bool  # every byte is from one peer write, and ``arrived`` is its arrival
    kernel_ns: int = 0  # the kernel's own stamp behind ``arrived`` (CLOCK_REALTIME ns; 0: none)
    end: int = 0  # offset in the socket's byte stream just past the last byte read


_EOF = Received(b"", None, 0.0, False)


class Receiver:
    """Reads for one socket. Raises BlockingIOError when nothing is queued (caller waits)."""

    def __init__(self, sock: socket.socket, framer: Framer | None, stamped: bool) -> None:
        self.sock = sock
        self.framer = framer
        self.stamped = stamped  # the kernel agreed to stamp this socket
        # Where each read lies in the TCP stream (this end's port, bytes read so far): a packet
        # capture (profiler.trace.wire) can then say when each of those bytes arrived.
        try:
            self.port: int = int(sock.getsockname()[1])
        except (OSError, IndexError, TypeError, ValueError):
            self.port = 0
        self.offset = 0
        self.sent = 0  # bytes written to the socket so far (over TLS: the records, handshake included)
        # The last probe found nothing queued: the next read may wait before trying, which
        # saves a syscall and an exception on the path of a reader that keeps up.
        self.drained = False

    def try_read(self, max_bytes: int) -> Received:
        self.drained = False
        sock, framer = self.sock, self.framer
        want = max_bytes
        framed = framer is not None and framer.known
        if framed:
            room = framer.room()  # type: ignore[union-attr]
            if not room:
                peeked = sock.recv(framer.peek_size, socket.MSG_PEEK)  # type: ignore[union-attr]
                if not peeked:
                    return _EOF
                room = framer.room_in(peeked)  # type: ignore[union-attr]
            want = min(want, room)
        if not self.stamped:
            data = sock.recv(want)
            if framer is not None:
                framer.advance(data)
            self.offset += len(data)
            return Received(data, None, arrival_in_perf(None)[1], False, 0, self.offset)
        before_ns = time.time_ns()
        data, ancdata, _flags, _addr = sock.recvmsg(want, ANCILLARY_SPACE)
        kernel_ns = rx_timestamp_ns(ancdata)
        arrived, returned = arrival_in_perf(kernel_ns)
        if not data:
            return _EOF
        if framer is not None:
            framer.advance(data)
        self.offset += len(data)
        exact = framed and kernel_ns is not None and arrived is not None
        exact = exact and self._skb_ended(kernel_ns, before_ns)  # type: ignore[arg-type]
        return Received(data, arrived, returned, exact, kernel_ns or 0, self.offset)

    def sent_where(self, nbytes: int, entered_ns: int) -> tuple[int, int, int, int]:
        """A write's ``where``: its last ``nbytes`` sent, and the wall clock when it was entered."""
        return (self.port, self.sent - nbytes, self.sent, entered_ns)

    def where(self, got: Received) -> tuple[int, int, int, int]:
        """(port, first byte's offset, offset past the last, kernel stamp ns): the observer's ``where``."""
        return (self.port, got.end - len(got.data), got.end, got.kernel_ns)

    def _skb_ended(self, kernel_ns: int, before_ns: int) -> bool:
        """Whether the skb our last byte came from held nothing more when we read it (module doc)."""
        try:
            nxt, ancdata, _flags, _addr = self.sock.recvmsg(1, ANCILLARY_SPACE, socket.MSG_PEEK)
        except BlockingIOError:
            self.drained = True
            return True
        if not nxt:
            return True  # end of stream
        next_ns = rx_timestamp_ns(ancdata)
        return next_ns is not None and next_ns != kernel_ns and next_ns < before_ns
