"""TLS done over the raw socket with ``ssl.MemoryBIO``, so the socket we timestamp is the
one the bytes really arrive on (an ``SSLSocket`` would read the socket itself, and
hide the ancillary data).

Sans-IO: the sync and async streams move bytes between the socket and the two BIOs.
"""

from __future__ import annotations

import contextlib
import ssl

from profiler.trace.netio.receiver import Received

# Largest TLS record: 2**14 plaintext plus expansion; the record framer stops reads at
# a record's end anyway, this only bounds one recvmsg.
RECORD_READ = 2**14 + 2048 + 5


class TLSSession:
    def __init__(self, ssl_context: ssl.SSLContext, server_hostname: str | None) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        # The context carries httpcore's ALPN list and verification settings as given.
        self.ssl_object = ssl_context.wrap_bio(
            self.incoming, self.outgoing, server_side=False, server_hostname=server_hostname
        )
        self.last: Received | None = None  # the record read that fed the latest plaintext

    def feed(self, got: Received) -> None:
        if got.data:
            self.incoming.write(got.data)
            self.last = got
        else:
            self.incoming.write_eof()

    def take_output(self) -> bytes:
        return self.outgoing.read()

    def begin_close(self) -> bytes:
        """close_notify for the peer; we do not wait for theirs (as httpcore's own streams)."""
        # SSLWantReadError: their close_notify has not come, and we do not wait for it.
        with contextlib.suppress(ssl.SSLError, ValueError):
            self.ssl_object.unwrap()
        return self.outgoing.read()
