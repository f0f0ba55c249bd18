"""The simulator's blind spot, measured from outside: when each request's last byte reached it.

The ground-truth log starts the server's clock when the simulator's event loop
has read the whole request. On two shared cores that loop can read a request
milliseconds after its bytes arrived, and its own log cannot see that wait — a
client rightly counts it as server time. A packet capture on loopback can: every
packet's kernel stamp is taken as it crosses the interface, so however late the
capture process reads it, the time is the wire's. `WireTruth.read_lag_ms(record)`
is then, for a ground-truth line, how long after the request's last byte first
arrived (a copy sent again does not count) the simulator had read it, joined by
the line's ``client_port``.

Independent of the profiler's own capture (``profiler.trace.wire``) on purpose:
it is the referee. Linux only, CAP_NET_RAW (root); without it ``problem`` says why.

    with capture_wire_truth() as wire:
        ...  # requests to the simulator
    wire.read_lag_ms(record)

The capture process is ``python -m profiler.simulator.wire_truth``: ``READY`` once
capturing, then, when its stdin closes, one JSON line per TCP data segment,
``[unix_time, source_port, destination_port, payload_bytes, seq]``.
"""

from __future__ import annotations

import bisect
import json
import select
import socket
import struct
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # the sender's copy of a loopback packet: the receiver's copy is kept
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@ll")


def _tcp(packet: bytes) -> tuple[int, int, int, int] | None:
    """(source port, destination port, payload bytes, seq) of an Ethernet-framed TCP packet, else None."""
    if len(packet) < 14:
        return None
    ethertype = int.from_bytes(packet[12:14], "big")
    ip = packet[14:]
    if ethertype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        header, total = (ip[0] & 0x0F) * 4, int.from_bytes(ip[2:4], "big")
    elif ethertype == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        header, total = 40, 40 + int.from_bytes(ip[4:6], "big")
    else:
        return None
    tcp = ip[header:]
    if len(tcp) < 20:
        return None
    offset = (tcp[12] >> 4) * 4
    ports = int.from_bytes(tcp[0:2], "big"), int.from_bytes(tcp[2:4], "big")
    return (*ports, total - header - offset, int.from_bytes(tcp[4:8], "big"))


def main() -> int:
    try:
        capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        capture.bind(("lo", 0))
    except (OSError, AttributeError) as exc:
        print(f"UNAVAILABLE packet capture: {exc}", flush=True)
        return 3
    capture.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    capture.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    capture.setblocking(False)
    segments: list[tuple[float, int, int, int, int]] = []
    space = socket.CMSG_SPACE(_TIMESPEC.size)
    print("READY", flush=True)
    while True:
        readable, _, _ = select.select([capture, sys.stdin], [], [])
        if capture in readable:
            while True:
                try:
                    packet, ancillary, _, address = capture.recvmsg(65536, space)
                except BlockingIOError:
                    break
                if address[2] == PACKET_OUTGOING:
                    continue
                found = _tcp(packet)
                if found is None or found[2] <= 0:
                    continue
                stamp = next((data for level, kind, data in ancillary if kind == SO_TIMESTAMPNS), None)
                if stamp is None:
                    continue
                seconds, nanos = _TIMESPEC.unpack_from(stamp)
                segments.append((seconds + nanos / 1e9, *found))
        if sys.stdin in readable and not sys.stdin.buffer.read1(4096):
            break
    out = sys.stdout
    for segment in segments:
        out.write(json.dumps(segment) + "\n")
    out.flush()
    return 0


class WireTruth:
    """The client→server data segments a capture saw, by the client's port: when the server could read."""

    def __init__(self) -> None:
        self.problem: str | None = None
        self._sent: dict[int, list[float]] = defaultdict(list)
        self._seen: set[tuple[int, int]] = set()

    def add(self, stamp: float, source_port: int, seq: int) -> None:
        """Segments in stamp order; a copy sent again is not when the bytes first got there."""
        if (source_port, seq) not in self._seen:
            self._seen.add((source_port, seq))
            self._sent[source_port].append(stamp)

    def read_lag_ms(self, record: dict[str, Any]) -> float | None:
        """How long after the request's last byte reached the wire the simulator had read it all."""
        port, read_ms = record.get("client_port"), record.get("request_read_ms")
        if port is None or read_ms is None:
            return None
        read_at = record["received_at"] + read_ms / 1000
        stamps = self._sent.get(port, [])
        index = bisect.bisect_right(stamps, read_at + 0.0005)  # clocks read in two processes: 0.5 ms slack
        return None if index == 0 else max(0.0, (read_at - stamps[index - 1]) * 1000)


@contextmanager
def capture_wire_truth() -> Iterator[WireTruth]:
    """Capture loopback TCP for the block; the result is complete once the block has ended."""
    truth = WireTruth()
    command = [sys.executable, "-m", "profiler.simulator.wire_truth"]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    first = child.stdout.readline().strip()
    if first != "READY":
        truth.problem = first.removeprefix("UNAVAILABLE ") or "the capture did not start"
        child.wait()
        yield truth
        return
    try:
        yield truth
    finally:
        child.stdin.close()
        for stamp, source, _destination, _size, seq in sorted(json.loads(line) for line in child.stdout):
            truth.add(stamp, source, seq)
        child.wait()


if __name__ == "__main__":
    sys.exit(main())
