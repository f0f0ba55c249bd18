"""Real sockets on 127.0.0.1: a server in its own process writes chunks with known gaps and
logs its perf_counter around each send; our stream reads them late, on purpose.

The server runs in a child process so that the client's busy threads (the GIL held on
purpose) cannot delay its sends: its log is the truth the arrival times are held to.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from profiler.trace import netio
from profiler.trace.netio.async_backend import AsyncTimestampingBackend
from profiler.trace.netio.sync_backend import TimestampingBackend

pytestmark = [
    pytest.mark.skipif(not netio.arrival_timestamps_supported(), reason=str(netio.unsupported_reason())),
    pytest.mark.timeout(60),
]

# Arrival vs. the server's own clock, both CLOCK_MONOTONIC: on loopback the kernel stamps
# the segment inside the sender's send(), so arrival falls between the server's
# before/after reads. The margin covers clock-conversion jitter (measured: a few µs)
# and the scheduler (see docs/arrival-times.md).
ACCURACY = 0.0005

SERVER = r"""
import json, socket, ssl, sys, time
tls, n, gap, size = sys.argv[1] == "1", int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
listener.settimeout(20)
conn, _ = listener.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if tls:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[5])
    conn = context.wrap_socket(conn, server_side=True)
request = b""
while b"\r\n\r\n" not in request:
    request += conn.recv(4096)
head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
conn.sendall(head)
offset, log = len(head), []
for i in range(n + 1):
    time.sleep(gap)
    payload = bytes([97 + i % 26]) * size if i < n else b""
    frame = b"%x\r\n%s\r\n" % (len(payload), payload)
    before = time.perf_counter()
    conn.sendall(frame)
    after = time.perf_counter()
    offset += len(frame)
    log.append((offset, before, after))
print(json.dumps({"head": len(head), "sends": log}), flush=True)
conn.recv(1)
"""


@dataclass
class Sent:
    end: int  # stream offset just past this chunk's frame
    before: float
    after: float


class ChunkServer:
    """The child process; ``sends()`` gives its log once it has written everything."""

    def __init__(self, tls_cert: Path | None, n: int, gap: float, size: int) -> None:
        args = [sys.executable, "-c", SERVER, "1" if tls_cert else "0", str(n), str(gap), str(size)]
        if tls_cert:
            args.append(str(tls_cert))
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.expected = b"".join(bytes([97 + i % 26]) * size for i in range(n))

    def sends(self) -> list[Sent]:
        """The server's log; also sets ``head``, the length of the response head."""
        assert self.process.stdout is not None
        log = json.loads(self.process.stdout.readline())
        self.head = log["head"]
        return [Sent(*entry) for entry in log["sends"]]

    def close(self) -> None:
        self.process.kill()
        self.process.wait(5)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    pem = tmp_path / "server.pem"
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return pem, context


@dataclass
class Read:
    arrived: float | None
    returned: float
    nbytes: int
    exact: bool
    end: int = 0  # stream offset just past the read's last byte


class Recorder:
    def __init__(self) -> None:
        self.reads: list[Read] = []
        self.offset = 0

    def __call__(
        self, arrived: float | None, returned: float, nbytes: int, exact: bool, where: object = None
    ) -> None:
        self.offset += nbytes
        self.reads.append(Read(arrived, returned, nbytes, exact, self.offset))


def _chunk_of(sends: list[Sent], head: int, end: int) -> Sent | None:
    """The chunk holding the byte just before ``end`` (None: the response head)."""
    if end <= head:
        return None
    return next((s for s in sends if s.end >= end), None)


def check_arrivals(reads: list[Read], sends: list[Sent], head: int) -> None:
    """Exact reads match the server's send; every arrival is a true upper bound."""
    for read in reads:
        assert read.arrived is not None
        assert read.arrived <= read.returned
        sent = _chunk_of(sends, head, read.end)
        if sent is None:
            continue  # the response head: not in the server's log
        assert read.arrived >= sent.before - ACCURACY, "no arrival precedes its send"
        if read.exact:
            assert read.arrived <= sent.after + ACCURACY, "an exact arrival is the send's own"


HTTP_REQUEST = b"GET /chunks HTTP/1.1\r\nhost: localhost\r\n\r\n"


def _read_all_sync(stream: object, recorder: Recorder, late: float = 0.0) -> bytes:
    body = b""
    stream.write(HTTP_REQUEST)  # type: ignore[attr-defined]
    if late:
        time.sleep(late)
    while True:
        data = stream.read(65536, timeout=10)  # type: ignore[attr-defined]
        if not data:
            break
        body += data
        if body.endswith(b"0\r\n\r\n"):
            break
    return body


def _payload(wire: bytes) -> bytes:
    """The chunked body's data, from the raw bytes read."""
    body = wire.split(b"\r\n\r\n", 1)[1]
    out = b""
    while True:
        line, body = body.split(b"\r\n", 1)
        size = int(line, 16)
        if not size:
            return out
        out, body = out + body[:size], body[size + 2 :]


def _connect(backend: TimestampingBackend, server: ChunkServer, context: ssl.SSLContext | None) -> object:
    stream = backend.connect_tcp("127.0.0.1", server.port, timeout=5)
    if context is not None:
        stream = stream.start_tls(context, server_hostname="localhost", timeout=5)
    return stream


@pytest.fixture
def servers() -> Iterator[list[ChunkServer]]:
    started: list[ChunkServer] = []
    yield started
    for server in started:
        server.close()


def _run_sync(
    servers: list[ChunkServer], tls: tuple[Path, ssl.SSLContext] | None, late: float, n: int = 10
) -> tuple[Recorder, list[Sent], ChunkServer, bytes]:
    server = ChunkServer(tls[0] if tls else None, n=n, gap=0.01, size=100)
    servers.append(server)
    stream = _connect(TimestampingBackend(), server, tls[1] if tls else None)
    recorder = Recorder()
    stream.read_observer = recorder  # type: ignore[attr-defined]
    wire = _read_all_sync(stream, recorder, late)
    sends = server.sends()
    stream.close()  # type: ignore[attr-defined]
    return recorder, sends, server, wire


@pytest.mark.parametrize("use_tls", [False, True], ids=["plain", "tls"])
def test_prompt_reader_gets_each_chunk_exactly(
    servers: list[ChunkServer], request: pytest.FixtureRequest, use_tls: bool
) -> None:
    recorder, sends, server, wire = _run_sync(
        servers, request.getfixturevalue("certificate") if use_tls else None, late=0.0
    )
    assert _payload(wire) == server.expected
    check_arrivals(recorder.reads, sends, server.head)
    chunk_reads = [r for r in recorder.reads if _chunk_of(sends, server.head, r.end)]
    assert sum(r.exact for r in chunk_reads) >= len(sends) - 2  # a waiting reader rarely sees a merge


@pytest.mark.parametrize("use_tls", [False, True], ids=["plain", "tls"])
def test_late_reader_arrivals_keep_the_sends_times(
    servers: list[ChunkServer], request: pytest.FixtureRequest, use_tls: bool
) -> None:
    """Asleep through the whole stream: returned-at lags, arrived-at does not."""
    recorder, sends, server, wire = _run_sync(
        servers, request.getfixturevalue("certificate") if use_tls else None, late=0.25
    )
    assert _payload(wire) == server.expected
    check_arrivals(recorder.reads, sends, server.head)
    first = next(r for r in recorder.reads if _chunk_of(sends, server.head, r.end))
    assert first.returned - sends[0].after > 0.1  # the injected lateness shows in returned-at
    last = [r for r in recorder.reads if _chunk_of(sends, server.head, r.end)][-1]
    assert last.exact  # nothing came after the last chunk, so its stamp is its own
    assert abs(last.arrived - sends[-1].after) < ACCURACY  # type: ignore[operator]
    # The kernel merged the chunks that queued up: those reads say so rather than claim exactness.
    assert not all(r.exact for r in recorder.reads)


def _spin(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(1000))  # pure Python: holds the GIL between switch intervals


def test_reader_behind_busy_threads_sees_true_arrivals(servers: list[ChunkServer]) -> None:
    """Six threads fight for the GIL while one reads: lateness is local, arrivals stay true."""
    server = ChunkServer(None, n=20, gap=0.01, size=100)
    servers.append(server)
    stream = _connect(TimestampingBackend(), server, None)
    recorder = Recorder()
    stream.read_observer = recorder  # type: ignore[attr-defined]
    stop = threading.Event()
    spinners = [threading.Thread(target=_spin, args=(stop,)) for _ in range(6)]
    for spinner in spinners:
        spinner.start()
    try:
        wire = _read_all_sync(stream, recorder)
    finally:
        stop.set()
        for spinner in spinners:
            spinner.join()
    sends = server.sends()
    stream.close()  # type: ignore[attr-defined]
    assert _payload(wire) == server.expected
    check_arrivals(recorder.reads, sends, server.head)
    lateness = [r.returned - r.arrived for r in recorder.reads if r.arrived is not None]
    assert max(lateness) > 0.002  # the GIL made the reader late, and the lateness is seen


def test_async_reader_on_a_blocked_loop(
    servers: list[ChunkServer], certificate: tuple[Path, ssl.SSLContext]
) -> None:
    """A busy event loop (a blocking sleep in a task) is late; the arrivals are not."""
    pem, context = certificate
    server = ChunkServer(pem, n=10, gap=0.01, size=100)
    servers.append(server)
    recorder = Recorder()

    async def main() -> bytes:
        netio.read_observer.set(recorder)  # the task's context: no per-stream override
        stream = await AsyncTimestampingBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
        stream = await stream.start_tls(context, server_hostname="localhost", timeout=5)
        await stream.write(HTTP_REQUEST)
        time.sleep(0.2)  # the point: the loop is blocked
        wire = b""
        while not wire.endswith(b"0\r\n\r\n"):
            data = await stream.read(65536, timeout=10)
            assert data
            wire += data
        await stream.aclose()
        return wire

    wire = asyncio.run(main())
    sends = server.sends()
    assert _payload(wire) == server.expected
    check_arrivals(recorder.reads, sends, server.head)
    first = next(r for r in recorder.reads if _chunk_of(sends, server.head, r.end))
    assert first.returned - sends[0].after > 0.1


def test_observer_follows_the_reading_task_and_the_stream_override_wins(servers: list[ChunkServer]) -> None:
    seen: dict[str, int] = {"a": 0, "b": 0, "override": 0}

    def counting(key: str) -> netio.ReadObserver:
        def observe(
            arrived: float | None, returned: float, nbytes: int, exact: bool, where: object = None
        ) -> None:
            seen[key] += nbytes

        return observe

    for _ in range(3):
        servers.append(ChunkServer(None, n=3, gap=0.001, size=10))

    async def one(server: ChunkServer, key: str, override: bool) -> int:
        netio.read_observer.set(counting(key))
        stream = await AsyncTimestampingBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
        if override:
            stream.read_observer = counting("override")  # type: ignore[attr-defined]
        await stream.write(HTTP_REQUEST)
        total = 0
        wire = b""
        while not wire.endswith(b"0\r\n\r\n"):
            data = await stream.read(65536, timeout=10)
            wire += data
            total += len(data)
        await stream.aclose()
        return total

    async def main() -> list[int]:
        return list(
            await asyncio.gather(
                one(servers[0], "a", False), one(servers[1], "b", False), one(servers[2], "a", True)
            )
        )

    totals = asyncio.run(main())
    assert seen == {"a": totals[0], "b": totals[1], "override": totals[2]}
    assert netio.read_observer.get() is None  # the tasks' settings stayed in the tasks
