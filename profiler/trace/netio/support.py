"""Can this process get kernel arrival times? Asked once, by trying on loopback.

A setsockopt that succeeds is not proof: the stamp must come back with the data. So
the probe sends one byte over a loopback TCP pair and looks for the control message.

Why a socket is kept open: the kernel stamps packets only while some socket wants
stamps (the ``netstamp_needed_key`` static branch). Turning it on when no socket had it
is deferred to a workqueue (``net_enable_timestamp``), so segments arriving in the
first moments after enabling carry no stamp, and it turns off again when the last such
socket closes. One stamped socket held for the process's life keeps the key on, so
every connection's first bytes are stamped too.
"""

from __future__ import annotations

import functools
import socket
import time

from profiler.trace.netio.kernel import (
    ANCILLARY_SPACE,
    enable_rx_timestamps,
    platform_problem,
    rx_timestamp_ns,
)

_KEY_WAIT_S = 0.5  # how long the deferred enabling may take before we call it unsupported
_keeper: socket.socket | None = None


def _exchange_once() -> int | None:
    """The stamp of one byte sent to ourselves over loopback TCP, or None."""
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname(), timeout=2) as client,
    ):
        peer, _ = server.accept()
        with peer:
            if enable_rx_timestamps(client) is None:
                raise OSError("the kernel refused SO_TIMESTAMPNS and SO_TIMESTAMPING")
            peer.sendall(b"x")
            _data, ancdata, _flags, _addr = client.recvmsg(1, ANCILLARY_SPACE)
    return rx_timestamp_ns(ancdata)


@functools.cache
def unsupported_reason() -> str | None:
    """Why arrival timestamps are unavailable here, or None when they are available."""
    global _keeper
    problem = platform_problem()
    if problem is not None:
        return problem
    try:
        keeper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if enable_rx_timestamps(keeper) is None:
            keeper.close()
            return "the kernel refused SO_TIMESTAMPNS and SO_TIMESTAMPING"
        _keeper = keeper
        deadline = time.monotonic() + _KEY_WAIT_S
        while _exchange_once() is None:
            if time.monotonic() > deadline:
                return "the kernel accepted the timestamp option but sent no timestamp with the data"
            time.sleep(0.005)
    except OSError as exc:
        return f"loopback probe failed: {exc}"
    return None


def arrival_timestamps_supported() -> bool:
    """True when reads can report the kernel's receive time (see ``unsupported_reason``)."""
    return unsupported_reason() is None
