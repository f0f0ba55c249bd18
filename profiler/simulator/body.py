"""Reading a request body, with a size cap that still lets the client finish sending.

Answering a too-large body before reading it would close the connection under a
client still writing, which then sees a broken pipe instead of the 400. So the
excess is read and thrown away, never kept.
"""

from __future__ import annotations

from starlette.types import Receive

__all__ = ["BodyTooLarge", "read_body"]


class BodyTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes, more than {limit}")
        self.size = size
        self.limit = limit


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None if the client went away first; BodyTooLarge past `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            parts.append(chunk)
        else:
            parts.clear()
        if not message.get("more_body", False):
            if size > limit:
                raise BodyTooLarge(size, limit)
            return b"".join(parts)
