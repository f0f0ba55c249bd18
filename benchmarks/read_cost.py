"""Cost per read, and per request, of the timestamping backend vs httpcore2's default, one run.

    python benchmarks/read_cost.py [--streams 6] [--chunks 200]

A child process serves HTTP/1.1 (and HTTPS when trustme is installed) on loopback: a
chunked stream whose every chunk is its own send(), carrying the server's perf_counter
just before that send. The client reads with each backend in turn, interleaved:

* prompt: chunks 0.5 ms apart, the reader waiting, so each read returns one chunk;
* late: the reader sleeps until the whole stream has queued, then reads it all;
* requests: small keep-alive GETs through a real httpx2.Client.

Cost is the client thread's CPU time (not wall time: the waits are the server's).
Accuracy is arrived - (server's perf_counter before send) for reads flagged exact.
"""

from __future__ import annotations

import argparse
import functools
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpcore2
import httpx2

from profiler.trace import netio
from profiler.trace.netio.sync_backend import TimestampingBackend

SERVER = r"""
import socket, ssl, sys, threading, time
context = None
if len(sys.argv) > 1:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1])

def handle(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if context is not None:
        conn = context.wrap_socket(conn, server_side=True)
    pending = b""
    while True:
        while b"\r\n\r\n" not in pending:
            data = conn.recv(65536)
            if not data:
                return
            pending += data
        head, pending = pending.split(b"\r\n\r\n", 1)
        path = head.split(b" ")[1].decode()
        if path.startswith("/hello"):
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 600\r\n\r\n" + b"hello " * 100)
            continue
        _, n, gap = path.split("/")[1:]
        conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(int(n)):
            if float(gap):
                time.sleep(float(gap))
            payload = repr(time.perf_counter()).encode().ljust(100)
            conn.sendall(b"64\r\n" + payload + b"\r\n")
        conn.sendall(b"0\r\n\r\n")

listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
"""


def start_server(cert: Path | None) -> tuple[subprocess.Popen[str], int]:
    args = [sys.executable, "-c", SERVER] + ([str(cert)] if cert else [])
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


class Tally:
    def __init__(self) -> None:
        self.reads = 0
        self.exact = 0
        self.errors: list[float] = []  # arrived - server's pre-send time, exact reads

    def __call__(self, arrived: float | None, returned: float, nbytes: int, exact: bool) -> None:
        self.reads += 1
        self.exact += exact


def read_stream(
    backend: Any, port: int, context: ssl.SSLContext | None, n: int, gap: float, late: float
) -> dict:
    """One chunked response read straight from a backend stream; CPU per read and accuracy."""
    stream = backend.connect_tcp("127.0.0.1", port, timeout=10)
    if context is not None:
        stream = stream.start_tls(context, server_hostname="localhost", timeout=10)
    tally, marks = Tally(), []
    if isinstance(backend, TimestampingBackend):
        stream.read_observer = lambda a, r, nb, e: (tally(a, r, nb, e), marks.append((a, nb, e)))
    stream.write(f"GET /chunks/{n}/{gap} HTTP/1.1\r\nhost: localhost\r\n\r\n".encode())
    if late:
        time.sleep(late)
    pieces, tail = [], b""
    cpu = time.thread_time()
    while not tail.endswith(b"0\r\n\r\n"):
        piece = stream.read(65536, timeout=10)
        pieces.append(piece)
        tail = tail[-8:] + piece
    cpu = time.thread_time() - cpu
    stream.close()
    reads = len(pieces)
    errors = _accuracy(b"".join(pieces), marks)
    return {"cpu": cpu, "reads": reads, "exact": tally.exact, "errors": errors}


def _accuracy(wire: bytes, marks: list[tuple[float | None, int, bool]]) -> list[float]:
    """arrived - pre-send time for exact reads that hold exactly one chunk."""
    out, offset = [], 0
    for arrived, nbytes, exact in marks:
        piece = wire[offset : offset + nbytes]
        offset += nbytes
        if exact and arrived is not None and piece.startswith(b"64\r\n") and len(piece) == 106:
            out.append(arrived - float(piece[4:104]))
    return out


def requests_cost(make_client: Callable[[], httpx2.Client], base: str, count: int) -> float:
    """CPU µs per small keep-alive GET through a real httpx2.Client."""
    with make_client() as client:
        client.get(f"{base}/hello")  # connect and handshake outside the measurement
        cpu = time.thread_time()
        for _ in range(count):
            client.get(f"{base}/hello")
        return (time.thread_time() - cpu) / count * 1e6


def _stamping_client(verify: Any) -> httpx2.Client:
    return httpx2.Client(transport=netio.timestamping_transport(verify=verify))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=6)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    options = parser.parse_args()
    if not netio.arrival_timestamps_supported():
        print(f"arrival timestamps unavailable: {netio.unsupported_reason()}")
        return
    backends = {
        "httpcore2 default": httpcore2.SyncBackend(),
        "netio frame-aware": TimestampingBackend(),
        "netio recvmsg only": TimestampingBackend(frame_aware=False),
    }
    schemes: list[tuple[str, Path | None, ssl.SSLContext | None]] = [("http", None, None)]
    workdir = Path(tempfile.mkdtemp())
    try:
        import trustme

        ca = trustme.CA()
        cert = workdir / "server.pem"
        ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(str(cert))
        context = ssl.create_default_context()
        ca.configure_trust(context)
        schemes.append(("https", cert, context))
    except ImportError:
        print("trustme not installed: HTTPS skipped")
    print(f"python {sys.version.split()[0]}, {options.streams} streams x {options.chunks} chunks per case")
    for scheme, cert, context in schemes:
        process, port = start_server(cert)
        try:
            print(f"\n== {scheme} ==")
            for case, gap, late in (("prompt", 0.0005, 0.0), ("late", 0.0, 0.3)):
                results: dict[str, list[dict[str, Any]]] = {name: [] for name in backends}
                for _ in range(options.streams):  # interleaved, so drift hits all alike
                    for name, backend in backends.items():
                        results[name].append(read_stream(backend, port, context, options.chunks, gap, late))
                print(f"-- {case} reader --")
                for name, runs in results.items():
                    reads = sum(r["reads"] for r in runs)
                    cpu = sum(r["cpu"] for r in runs)
                    exact = sum(r["exact"] for r in runs)
                    line = (
                        f"  {name:20s} reads/stream {reads / len(runs):7.1f}"
                        f"  CPU/read {cpu / reads * 1e6:6.1f} µs"
                        f"  CPU/chunk {cpu / (len(runs) * options.chunks) * 1e6:6.1f} µs"
                    )
                    if name.startswith("netio"):
                        line += f"  exact {exact / reads:6.1%}"
                    errors = [e for r in runs for e in r["errors"]]
                    if errors:
                        errors.sort()
                        p99 = errors[int(0.99 * (len(errors) - 1))]
                        line += (
                            f"  arrived-presend median {statistics.median(errors) * 1e6:5.1f} µs"
                            f" p99 {p99 * 1e6:5.1f} µs max {errors[-1] * 1e6:5.1f} µs"
                        )
                    print(line)
            verify: Any = context if context is not None else True
            base = f"{scheme}://localhost:{port}"
            print("-- keep-alive GET through httpx2.Client --")
            factories: dict[str, Callable[[], httpx2.Client]] = {
                "httpcore2 default": functools.partial(httpx2.Client, verify=verify),
                "netio frame-aware": functools.partial(_stamping_client, verify),
            }
            for name, factory in factories.items():
                costs = [requests_cost(factory, base, options.requests) for _ in range(3)]
                print(f"  {name:20s} CPU/request {statistics.median(costs):6.1f} µs")
        finally:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
