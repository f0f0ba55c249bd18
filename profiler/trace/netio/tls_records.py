"""TLS record framing: a 5-byte header (type, version, length), then ``length`` bytes.

A server's write of application data leaves as one or more whole records, so a record
end is where a server write can end. This framer knows nothing of TLS beyond that.
"""

from __future__ import annotations

from profiler.trace.netio.framing import ScanningFramer

HEADER = 5


class TlsRecordFramer(ScanningFramer):
    peek_size = HEADER

    def __init__(self) -> None:
        self._header = b""  # the part of a header read so far
        self._remaining = 0  # body bytes of the current record still unread

    def room(self) -> int:
        return self._remaining

    def _consume(self, data: bytes) -> int:
        self.boundary = True
        pos = 0
        while pos < len(data):
            if self._remaining:
                take = min(self._remaining, len(data) - pos)
                self._remaining -= take
                pos += take
                if not self._remaining:
                    return pos
                continue
            need = HEADER - len(self._header)
            self._header += data[pos : pos + need]
            pos += min(need, len(data) - pos)
            if len(self._header) == HEADER:
                self._remaining = int.from_bytes(self._header[3:5], "big")
                self._header = b""
                if not self._remaining:
                    return pos
        self.boundary = False
        return pos
