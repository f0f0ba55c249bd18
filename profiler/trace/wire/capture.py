"""The capture process: every TCP segment a server sends to this machine, with the kernel's stamp.

``python -m profiler.trace.wire.capture --port 443`` opens an ``AF_PACKET`` socket on
every interface (Linux; needs CAP_NET_RAW) with kernel stamps (``SO_TIMESTAMPNS``:
taken as the packet passes the interface, so reading it late changes nothing),
prints ``READY``, and keeps each segment that carries data or opens a connection,
from that server port as it came in and to it as it went out. When its stdin closes
it prints them, one JSON array per line: ``[stamp_ns, local_port, seq, payload, syn,
outgoing]``, then exits. If it cannot capture it prints ``UNAVAILABLE <why>`` and exits 3.

A process of its own, so that reading packets never competes with the profiled
program for its GIL: it runs on its own interpreter, as any other process would.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys

from profiler.trace.wire.packets import SYN, tcp_segment

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # our own copy of a packet we send (on loopback, every packet shows twice)
SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>, as in profiler.trace.netio.kernel
SO_RCVBUFFORCE = 33  # past net.core.rmem_max (CAP_NET_ADMIN, which a root capture has)
_TIMESPEC = struct.Struct("@ll")
_RECEIVE_BUFFER = 64 << 20  # packets wait here while this process is not scheduled
UNAVAILABLE_EXIT = 3


def open_capture() -> socket.socket:
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    try:
        capture.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, _RECEIVE_BUFFER)
    except OSError:
        capture.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
    capture.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    capture.setblocking(False)
    return capture


def _drain(capture: socket.socket, port: int, kept: list[tuple[int, int, int, int, bool, bool]]) -> None:
    space = socket.CMSG_SPACE(_TIMESPEC.size)
    while True:
        try:
            packet, ancillary, _flags, address = capture.recvmsg(65536, space)
        except BlockingIOError:
            return
        outgoing = address[2] == PACKET_OUTGOING
        segment = tcp_segment(packet, address[1])
        if segment is None:
            continue
        # The server's segments as they came in; ours to it as they went out (on loopback each
        # packet shows twice, once each way: this keeps one copy of each).
        if outgoing and segment.destination_port == port:
            local = segment.source_port
        elif not outgoing and segment.source_port == port:
            local = segment.destination_port
        else:
            continue
        syn = bool(segment.flags & SYN)
        if not syn and segment.payload <= 0:
            continue
        stamp = next((data for level, kind, data in ancillary if kind == SO_TIMESTAMPNS), None)
        if stamp is None:
            continue
        seconds, nanos = _TIMESPEC.unpack_from(stamp)
        stamp_ns = seconds * 1_000_000_000 + nanos
        kept.append((stamp_ns, local, segment.seq, segment.payload, syn, outgoing))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m profiler.trace.wire.capture", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="the server's TCP port")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print(f"UNAVAILABLE packet capture is Linux only (this is {sys.platform})", flush=True)
        return UNAVAILABLE_EXIT
    try:
        capture = open_capture()
    except PermissionError:
        print("UNAVAILABLE packet capture needs CAP_NET_RAW (run as root)", flush=True)
        return UNAVAILABLE_EXIT
    except OSError as exc:
        print(f"UNAVAILABLE packet capture: {exc.strerror or exc}", flush=True)
        return UNAVAILABLE_EXIT
    kept: list[tuple[int, int, int, int, bool, bool]] = []
    print("READY", flush=True)
    stdin = sys.stdin.buffer
    while True:
        readable, _, _ = select.select([capture, stdin], [], [])
        if capture in readable:
            _drain(capture, args.port, kept)
        if stdin in readable and not stdin.read1(4096):
            _drain(capture, args.port, kept)  # what came in just before the end
            break
    out = sys.stdout
    for segment in kept:
        out.write(json.dumps(segment, separators=(",", ":")) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
