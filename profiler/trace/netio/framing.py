"""What a framer is: the receive path's knowledge of where the peer's next write ends.

A read that stops at a frame boundary touches only that frame's skbs, so the kernel's
one-timestamp-per-recvmsg belongs to that frame alone (see ``receiver``). Framers are
pure: they see bytes, never a socket, so they are tested on synthetic input.
"""

from __future__ import annotations

import copy
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
        """Bytes of ``peeked`` (a prefix of what is queued) that can be read without passing a boundary."""
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

    @property
    def known(self) -> bool:
        return True

    def room(self) -> int:
        return 0

    def _consume(self, data: bytes) -> int:
        """Consume bytes of ``data`` up to and including the first boundary; return how many."""
        raise NotImplementedError

    def _detach(self) -> None:
        """Give a fresh copy its own mutable containers (called on the copy)."""

    def room_in(self, peeked: bytes) -> int:
        # A throw-away copy scans the peeked bytes, so the real state moves only on reads.
        probe = copy.copy(self)
        probe._detach()
        return probe._consume(peeked)

    def advance(self, data: bytes) -> None:
        while data:
            data = data[self._consume(data) :]

    def note_request(self, data: bytes) -> None:
        return None
