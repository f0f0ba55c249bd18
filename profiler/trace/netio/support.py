"""Can this process get kernel arrival times? Asked once, by trying on loopback.

A setsockopt that succeeds is not proof: the stamp must come back with the data. So
the probe sends one byte over a loopback TCP pair and looks for the control message.
"""

from __future__ import annotations

import functools
import socket

from profiler.trace.netio.kernel import (
    ANCILLARY_SPACE,
    enable_rx_timestamps,
    platform_problem,
    rx_timestamp_ns,
)


@functools.cache
def unsupported_reason() -> str | None:
    """Why arrival timestamps are unavailable here, or None when they are available."""
    problem = platform_problem()
    if problem is not None:
        return problem
    try:
        with (
            socket.create_server(("127.0.0.1", 0)) as server,
            socket.create_connection(server.getsockname(), timeout=2) as client,
        ):
            peer, _ = server.accept()
            with peer:
                if enable_rx_timestamps(client) is None:
                    return "the kernel refused SO_TIMESTAMPNS and SO_TIMESTAMPING"
                peer.sendall(b"x")
                _data, ancdata, _flags, _addr = client.recvmsg(1, ANCILLARY_SPACE)
    except OSError as exc:
        return f"loopback probe failed: {exc}"
    if rx_timestamp_ns(ancdata) is None:
        return "the kernel accepted the timestamp option but sent no timestamp with the data"
    return None


def arrival_timestamps_supported() -> bool:
    """True when reads can report the kernel's receive time (see ``unsupported_reason``)."""
    return unsupported_reason() is None
