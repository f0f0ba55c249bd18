"""HTTP/1.1 response framing, followed cheaply to know where the server's next write ends.

Boundaries: the end of a response head, the end of each chunk (size line, data, CRLF),
the end of the trailers, the end of a Content-Length body. Servers (uvicorn's h11 and
httptools protocols among them) write each chunk with one ``send``.

What is not understood (a close-delimited body, an upgrade, a CONNECT tunnel, a head
we cannot parse, bytes before the first request such as a SOCKS exchange) makes the
stream opaque: reads then take whatever is queued and cannot claim to be exact.
"""

from __future__ import annotations

import re
from collections import deque
from enum import Enum

from profiler.trace.netio.framing import ScanningFramer

_MAX_HEAD = 64 * 1024
_REQUEST_LINE = re.compile(rb"([A-Z]+) \S+ HTTP/1\.[01]\r\n")


class State(Enum):
    IDLE = "idle"  # no HTTP/1.1 request written yet
    HEAD = "head"
    CHUNK_LINE = "chunk-line"
    CHUNK_DATA = "chunk-data"
    TRAILERS = "trailers"
    LENGTH = "length"
    OPAQUE = "opaque"


class Http1ResponseFramer(ScanningFramer):
    def __init__(self) -> None:
        self.state = State.IDLE
        self._buf = b""  # head, chunk line or trailers read so far
        self._remaining = 0  # bytes to the boundary in CHUNK_DATA / LENGTH
        self._methods: deque[bytes] = deque()  # requests written, not yet answered

    @property
    def known(self) -> bool:
        return self.state not in (State.IDLE, State.OPAQUE)

    @property
    def peek_size(self) -> int:  # type: ignore[override]
        # A chunk-size line is a few bytes; a head may be long (one peek need not hold it all).
        return 64 if self.state in (State.CHUNK_LINE, State.TRAILERS) else 1024

    def room(self) -> int:
        return self._remaining if self.state in (State.CHUNK_DATA, State.LENGTH) else 0

    def _detach(self) -> None:
        self._methods = deque(self._methods)

    def note_request(self, data: bytes) -> None:
        match = _REQUEST_LINE.match(data)
        if match is None:
            return
        self._methods.append(match.group(1))
        if self.state is State.IDLE:
            self.state = State.HEAD

    def _consume(self, data: bytes) -> int:
        self.boundary = True
        pos = 0
        while pos < len(data):
            state = self.state
            if state in (State.IDLE, State.OPAQUE):
                break
            if state in (State.CHUNK_DATA, State.LENGTH):
                take = min(self._remaining, len(data) - pos)
                self._remaining -= take
                pos += take
                if self._remaining:
                    continue
                self.state = State.CHUNK_LINE if state is State.CHUNK_DATA else State.HEAD
                return pos
            terminator = b"\r\n" if state is State.CHUNK_LINE else b"\r\n\r\n"
            joined = self._buf + data[pos:]
            end = joined.find(terminator, max(0, len(self._buf) - len(terminator) + 1))
            if end < 0:
                self._buf = joined
                if len(joined) > _MAX_HEAD:
                    self._become_opaque()
                break
            used = end + len(terminator) - len(self._buf)
            pos += used
            text, self._buf = joined[: end + len(terminator)], b""
            if state is State.HEAD:
                self._after_head(text)
                return pos
            if state is State.TRAILERS:
                self.state = State.HEAD
                return pos
            self._after_chunk_line(text)
        self.boundary = False
        return len(data)

    def _after_chunk_line(self, line: bytes) -> None:
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            self._become_opaque()
            return
        if size:
            self.state, self._remaining = State.CHUNK_DATA, size + 2
        else:
            # The last chunk: trailers, if any, end with an empty line; seeding the
            # buffer with the line's own CRLF lets one search find "0\r\n\r\n" too.
            self.state, self._buf = State.TRAILERS, b"\r\n"

    def _after_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            self._become_opaque()
            return
        if 100 <= status < 200 and status != 101:
            self.state = State.HEAD  # an interim response: the final one follows
            return
        method = self._methods.popleft() if self._methods else b"GET"
        if status == 101 or (method == b"CONNECT" and 200 <= status < 300):
            self._become_opaque()
            return
        if method == b"HEAD" or status in (204, 304):
            self.state = State.HEAD
            return
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower()] = value.strip().lower()
        if b"transfer-encoding" in headers:
            if headers[b"transfer-encoding"].rsplit(b",", 1)[-1].strip() == b"chunked":
                self.state = State.CHUNK_LINE
            else:
                self._become_opaque()
        elif b"content-length" in headers:
            try:
                length = int(headers[b"content-length"])
            except ValueError:
                self._become_opaque()
                return
            self.state, self._remaining = (State.LENGTH, length) if length else (State.HEAD, 0)
        else:
            self._become_opaque()  # delimited by the connection's close

    def _become_opaque(self) -> None:
        self.state, self._buf, self._remaining = State.OPAQUE, b"", 0
