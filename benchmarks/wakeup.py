"""How long this machine takes to wake a thread that waits for bytes, by how long it waited.

``contention`` (docs/metrics.md) runs from a byte's kernel receive stamp to the program having it.
A thread that was already waiting in ``poll`` when the byte arrived is late by no fault of its
process: the kernel must wake it and the scheduler run it. This measures that part alone: a
blocked reader on a loopback TCP socket with receive stamps, as the profiler's reads are, and a
writer in another process (a thread of ours would need the GIL to write) that answers each byte
with one byte after a pause, so the reader blocks and the CPU idles for that long. Longer pauses
let an idle (virtual) CPU sleep deeper, and waking it takes longer.

    python benchmarks/wakeup.py [--samples 40] [--pauses-ms 0.5,2,5,20,100]
"""

from __future__ import annotations

import argparse
import select
import socket
import subprocess
import sys
from statistics import quantiles

from profiler.trace.netio.clock import arrival_in_perf
from profiler.trace.netio.kernel import (
    ANCILLARY_SPACE,
    enable_rx_timestamps,
    platform_problem,
    rx_timestamp_ns,
)

# The writer: connects back, then answers each byte it reads with one byte, ``pause`` seconds later.
_WRITER = """
import socket, sys, time
pause = float(sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as sock:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while sock.recv(1):
        time.sleep(pause)
        sock.sendall(b"x")
"""


def measure_wakeup(samples: int = 40, pause_s: float = 0.002, timeout_s: float = 5.0) -> list[float] | None:
    """Milliseconds from each byte's kernel receive stamp to a waiting reader having it, ``samples``
    times; None where the platform gives no receive stamps or the writer could not run."""
    if platform_problem() is not None:
        return None
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(timeout_s)
        port = server.getsockname()[1]
        writer = subprocess.Popen(
            [sys.executable, "-S", "-c", _WRITER, str(port), str(pause_s)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            connection, _ = server.accept()
        except OSError:
            writer.kill()
            writer.wait()
            return None
    try:
        with connection:
            return _sample(connection, samples, timeout_s)
    finally:
        writer.wait(timeout=timeout_s) if writer.poll() is not None else _stop(writer, timeout_s)


def _sample(connection: socket.socket, samples: int, timeout_s: float) -> list[float] | None:
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if enable_rx_timestamps(connection) is None:
        return None
    poller = select.poll()
    poller.register(connection, select.POLLIN)
    waits: list[float] = []
    for _ in range(samples + 2):  # the first two wake a cold path: not kept
        connection.sendall(b"?")
        if not poller.poll(timeout_s * 1000):
            return None
        data, ancdata, _flags, _addr = connection.recvmsg(1, ANCILLARY_SPACE)
        arrived, returned = arrival_in_perf(rx_timestamp_ns(ancdata))
        if not data or arrived is None:
            return None
        waits.append(max(0.0, returned - arrived) * 1000)
    return waits[2:]


def _stop(writer: subprocess.Popen[bytes], timeout_s: float) -> None:
    """The writer ends when the connection closes; one that does not is killed."""
    try:
        writer.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        writer.kill()
        writer.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=40, help="waits measured per pause (default: 40)")
    parser.add_argument("--pauses-ms", default="0.5,2,5,20,100", help="the writer's pauses, in ms")
    args = parser.parse_args()
    problem = platform_problem()
    if problem:
        sys.exit(f"no kernel receive stamps here: {problem}")
    print(f"A waiting reader: kernel receive stamp → the read returned, ms ({args.samples} waits a row)")
    for pause_ms in (float(p) for p in args.pauses_ms.split(",")):
        waits = measure_wakeup(args.samples, pause_ms / 1000)
        if not waits:
            print(f"  after {pause_ms:6.1f} ms idle: no measurement")
            continue
        cuts = quantiles(waits, n=100, method="inclusive")
        print(
            f"  after {pause_ms:6.1f} ms idle: p50 {cuts[49]:.3f}  p90 {cuts[89]:.3f}  p99 {cuts[98]:.3f}"
            f"  max {max(waits):.3f}"
        )
    print(f"Python {sys.version.split()[0]}, {sys.platform}")


if __name__ == "__main__":
    main()
