"""Linux RX software timestamps on a TCP socket: switching them on and reading them back.

Python's ``socket`` module names none of these options, so the numbers come from
``<asm-generic/socket.h>``, which every architecture CPython commonly runs on uses
(x86, arm, arm64, riscv, s390, ppc differ only in the ``_OLD`` values' ABI, not their numbers).
Architectures with their own numbering (alpha, mips, parisc, sparc) are refused, not guessed.
"""

from __future__ import annotations

import platform
import socket
import struct
import sys

# The ``_NEW`` options report a 64-bit ``__kernel_timespec`` on every ABI (Linux >= 5.1);
# the ``_OLD`` ones a native ``struct timespec`` (32-bit on 32-bit ABIs).
SO_TIMESTAMPNS_OLD = 35
SO_TIMESTAMPING_OLD = 37
SO_TIMESTAMPNS_NEW = 64
SO_TIMESTAMPING_NEW = 65
SOF_TIMESTAMPING_RX_SOFTWARE = 1 << 3
SOF_TIMESTAMPING_SOFTWARE = 1 << 4

_GENERIC_MACHINES = ("x86_64", "amd64", "i386", "i686", "aarch64", "arm64", "riscv64", "s390x", "ppc64le")
_NEW = struct.Struct("=qq")
_OLD = struct.Struct("@ll")

# Room for the largest message we ask for: SCM_TIMESTAMPING's three timespecs.
ANCILLARY_SPACE = socket.CMSG_SPACE(3 * _NEW.size) if hasattr(socket, "CMSG_SPACE") else 0


def platform_problem() -> str | None:
    """Why this platform cannot give RX timestamps, or None if it should."""
    if not sys.platform.startswith("linux"):
        return f"kernel receive timestamps are read only on Linux (this is {sys.platform})"
    if not hasattr(socket.socket, "recvmsg"):
        return "socket.recvmsg is missing"
    if platform.machine().lower() not in _GENERIC_MACHINES and not platform.machine().startswith("arm"):
        return f"socket option numbers for {platform.machine()} are not known to this module"
    return None


def enable_rx_timestamps(sock: socket.socket) -> int | None:
    """Ask the kernel to stamp every received segment; return the cmsg type it will send, or None.

    SO_TIMESTAMPNS is tried first: one timespec, nothing to configure. SO_TIMESTAMPING
    (software RX only) is the fallback for kernels that refuse the former.
    """
    attempts = (
        (SO_TIMESTAMPNS_NEW, 1),
        (SO_TIMESTAMPNS_OLD, 1),
        (SO_TIMESTAMPING_NEW, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE),
        (SO_TIMESTAMPING_OLD, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE),
    )
    for option, value in attempts:
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, value)
        except OSError:
            continue
        return option
    return None


def rx_timestamp_ns(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's CLOCK_REALTIME receive time, in ns, from recvmsg's ancillary data.

    For TCP this is the stamp of the last skb the call copied from (``tcp_recv_timestamp``).
    SCM_TIMESTAMPING carries three timespecs; the first is the software one, and an
    all-zero first means the kernel had no software stamp for the data.
    """
    for level, kind, data in ancdata:
        if level != socket.SOL_SOCKET:
            continue
        if kind in (SO_TIMESTAMPNS_NEW, SO_TIMESTAMPING_NEW) and len(data) >= _NEW.size:
            seconds, nanos = _NEW.unpack_from(data)
        elif kind in (SO_TIMESTAMPNS_OLD, SO_TIMESTAMPING_OLD) and len(data) >= _OLD.size:
            seconds, nanos = _OLD.unpack_from(data)
        else:
            continue
        if seconds == 0 and nanos == 0:
            return None
        return seconds * 1_000_000_000 + nanos
    return None
