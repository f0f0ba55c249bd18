"""What a framer is: the receive path's knowledge of where the peer's next write ends.

A read that stops at a frame boundary touches only that frame's skbs, so the kernel's
one-timestamp-per-recvmsg belongs to that frame alone (see ``receiver``). Framers are
pure: they see bytes, never a socket, so they are tested on synthetic input.
"""

from __future__ import annotations

from typing import Protocol


class Framer(Protocol):
    #: How many bytes to peek at a boundary to learn the next frame's length.
    peek_size: int

    @property
    def known(self) -> bool:
        """False once the byte stream is no longer understood (reads then take what is there)."""
        ...

    def room(self) -> int:
        """Bytes left before the next boundary when known without looking; 0 means peek first."""
        ...

    def room_in(self, peeked: bytes) -> int:
        """Bytes that can be read without passing the next boundary, given ``peeked``, a prefix of
        what is queued: to the boundary when ``peeked`` shows where it is (possibly beyond
        ``peeked`` itself, as a record's length does), else all of ``peeked``."""
        ...

    def advance(self, data: bytes) -> None:
        """Account for bytes actually read."""
        ...

    def note_request(self, data: bytes) -> None:
        """Account for bytes written (HTTP needs the request method to frame the response)."""
        ...


class ScanningFramer:
    """Shared mechanics: subclasses implement ``_consume`` (consume up to the first boundary)."""

    peek_size = 5
    boundary = False  # set by ``_consume`` when it stopped at a boundary

    @property
    def known(self) -> bool:
        return True

    def room(self) -> int:
        return 0

    def _consume(self, data: bytes) -> int:
        """Consume bytes of ``data`` up to and including the first boundary; return how many,
        with ``boundary`` telling whether it got there."""
        raise NotImplementedError

    def _detach(self) -> None:
        """Give a fresh copy its own mutable containers (called on the copy)."""

    def room_in(self, peeked: bytes) -> int:
        # A throw-away copy scans the peeked bytes, so the real state moves only on reads.
        probe = object.__new__(type(self))
        probe.__dict__.update(self.__dict__)
        probe._detach()
        used = probe._consume(peeked)
        # Inside a frame of known length (a chunk, a record body) the boundary lies beyond the peek.
        return used if probe.boundary else used + probe.room()

    def advance(self, data: bytes) -> None:
        while data:
            data = data[self._consume(data) :]

    def note_request(self, data: bytes) -> None:
        return None
