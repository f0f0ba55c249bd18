"""The real httpx2 clients with the backend installed, against a local uvicorn/starlette server."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpcore2
import httpx2
import pytest

from profiler.trace import netio
from profiler.trace.netio import installing
from profiler.trace.netio.async_backend import AsyncTimestampingBackend
from profiler.trace.netio.sync_backend import TimestampingBackend

pytestmark = pytest.mark.timeout(120)
needs_stamps = pytest.mark.skipif(
    not netio.arrival_timestamps_supported(), reason=str(netio.unsupported_reason())
)

APP = """
import asyncio, time
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse("hello " * 100)


async def events(request):
    n, gap = int(request.query_params["n"]), float(request.query_params["gap"])

    async def body():
        for i in range(n):
            yield f"data: {i} {time.perf_counter()!r}\\n\\n".encode()
            await asyncio.sleep(gap)

    return StreamingResponse(body(), media_type="text/event-stream")


app = Starlette(routes=[Route("/hello", hello), Route("/events", events)])
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(directory: Path, *tls_args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    args = [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen([*args, *tls_args], cwd=directory)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("uvicorn did not start")


@pytest.fixture(scope="module")
def origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Plain and HTTPS origins of the same app, and the client SSL context trusting the test CA."""
    trustme = pytest.importorskip("trustme")
    directory = tmp_path_factory.mktemp("app")
    (directory / "app.py").write_text(APP)
    ca = trustme.CA()
    pem = directory / "server.pem"
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(pem))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    plain, plain_port = _serve(directory)
    secure, secure_port = _serve(directory, "--ssl-keyfile", str(pem), "--ssl-certfile", str(pem))
    yield {
        "http": f"http://127.0.0.1:{plain_port}",
        "https": f"https://localhost:{secure_port}",
        "context": context,
        "ca": ca,
    }
    for process in (plain, secure):
        process.kill()
        process.wait(5)


class Log:
    def __init__(self) -> None:
        self.reads: list[tuple[float | None, float, int, bool]] = []
        self.writes: list[tuple[float, float, int]] = []

    def read(
        self, arrived: float | None, returned: float, nbytes: int, exact: bool, where: object = None
    ) -> None:
        self.reads.append((arrived, returned, nbytes, exact))

    def write(self, entered: float, returned: float, nbytes: int, where: object = None) -> None:
        self.writes.append((entered, returned, nbytes))


def _events(body: bytes) -> list[int]:
    return [int(event.split()[1]) for event in body.decode().split("\n\n") if event]


def _check_stream_log(log: Log, late: float) -> None:
    assert log.writes and all(entered <= returned for entered, returned, _ in log.writes)
    assert log.reads and all(a is not None and a <= r for a, r, _, _ in log.reads)
    lateness = [r - a for a, r, _, _ in log.reads if a is not None]
    assert max(lateness) > late / 2  # the stream was read late, and that shows
    assert log.reads[-1][3]  # nothing followed the last read: its stamp is its own


@needs_stamps
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_sync_client_plain_request_and_late_stream(origins: dict[str, object], scheme: str) -> None:
    log = Log()
    with httpx2.Client(verify=origins["context"]) as client:  # type: ignore[arg-type]
        assert netio.install(client)
        netio.read_observer.set(log.read)
        netio.write_observer.set(log.write)
        try:
            response = client.get(f"{origins[scheme]}/hello")
            assert response.text == "hello " * 100
            assert sum(n for _, _, n, _ in log.reads) >= 600
            log.reads.clear()
            with client.stream("GET", f"{origins[scheme]}/events?n=5&gap=0.01") as streamed:
                time.sleep(0.2)  # the program is late: everything queues in the kernel
                body = b"".join(streamed.iter_raw())
        finally:
            netio.read_observer.set(None)
            netio.write_observer.set(None)
    assert _events(body) == list(range(5))
    _check_stream_log(log, 0.2)


@needs_stamps
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_async_client_plain_request_and_late_stream(origins: dict[str, object], scheme: str) -> None:
    log = Log()

    async def main() -> bytes:
        netio.read_observer.set(log.read)
        netio.write_observer.set(log.write)
        async with httpx2.AsyncClient(verify=origins["context"]) as client:  # type: ignore[arg-type]
            assert netio.install(client)
            response = await client.get(f"{origins[scheme]}/hello")
            assert response.text == "hello " * 100
            log.reads.clear()
            async with client.stream("GET", f"{origins[scheme]}/events?n=5&gap=0.01") as streamed:
                await asyncio.sleep(0.2)
                return b"".join([part async for part in streamed.aiter_raw()])

    assert _events(asyncio.run(main())) == list(range(5))
    _check_stream_log(log, 0.2)


@needs_stamps
def test_tls_stream_exposes_what_httpcore_asks_for(origins: dict[str, object]) -> None:
    port = int(str(origins["https"]).rsplit(":", 1)[1])
    context = origins["context"]
    assert isinstance(context, ssl.SSLContext)
    context.set_alpn_protocols(["http/1.1"])
    stream = TimestampingBackend().connect_tcp("127.0.0.1", port, timeout=5)
    stream = stream.start_tls(context, server_hostname="localhost", timeout=5)
    try:
        ssl_object = stream.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        assert ssl_object.selected_alpn_protocol() is None  # uvicorn answers no ALPN; h2 test: it does
        assert ssl_object.server_hostname == "localhost"
        assert stream.get_extra_info("server_addr")[1] == port
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert isinstance(stream.get_extra_info("socket"), socket.socket)
        assert isinstance(stream.get_extra_info("is_readable"), bool)
    finally:
        stream.close()


@needs_stamps
def test_wrong_hostname_fails_the_handshake_as_connect_error(origins: dict[str, object]) -> None:
    port = int(str(origins["https"]).rsplit(":", 1)[1])
    stream = TimestampingBackend().connect_tcp("127.0.0.1", port, timeout=5)
    with pytest.raises(httpcore2.ConnectError):
        stream.start_tls(origins["context"], server_hostname="not-the-cert", timeout=5)  # type: ignore[arg-type]


@needs_stamps
def test_handshake_times_out_against_a_silent_server() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        stream = TimestampingBackend().connect_tcp("127.0.0.1", silent.getsockname()[1], timeout=5)
        started = time.perf_counter()
        with pytest.raises(httpcore2.ConnectTimeout):
            stream.start_tls(ssl.create_default_context(), server_hostname="localhost", timeout=0.2)
        assert 0.15 < time.perf_counter() - started < 2


@needs_stamps
def test_http2_over_our_tls(origins: dict[str, object]) -> None:
    """ALPN picks h2 and httpcore2's HTTP/2 connection runs over our TLS stream."""
    h2 = pytest.importorskip("h2.connection")
    h2_config = pytest.importorskip("h2.config")
    h2_events = pytest.importorskip("h2.events")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    origins["ca"].issue_cert("localhost").configure_cert(server_context)  # type: ignore[attr-defined]
    server_context.set_alpn_protocols(["h2"])
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        raw, _ = listener.accept()
        with server_context.wrap_socket(raw, server_side=True) as conn:
            peer = h2.H2Connection(h2_config.H2Configuration(client_side=False))
            peer.initiate_connection()
            conn.sendall(peer.data_to_send())
            while data := conn.recv(65536):
                for event in peer.receive_data(data):
                    if isinstance(event, h2_events.RequestReceived):
                        peer.send_headers(event.stream_id, [(":status", "200"), ("content-length", "13")])
                        peer.send_data(event.stream_id, b"hello over h2", end_stream=True)
                conn.sendall(peer.data_to_send())

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    log = Log()
    with httpx2.Client(http2=True, verify=origins["context"]) as client:  # type: ignore[arg-type]
        assert netio.install(client)
        netio.read_observer.set(log.read)
        try:
            response = client.get(f"https://localhost:{listener.getsockname()[1]}/")
        finally:
            netio.read_observer.set(None)
    listener.close()
    assert response.http_version == "HTTP/2"
    assert response.text == "hello over h2"
    assert log.reads and all(a is not None for a, _, _, _ in log.reads)


def test_trio_falls_back_to_httpcore2s_backend_and_reports_no_arrival(origins: dict[str, object]) -> None:
    trio = pytest.importorskip("trio")
    log = Log()

    async def main() -> str:
        netio.read_observer.set(log.read)
        async with httpx2.AsyncClient() as client:
            if netio.arrival_timestamps_supported():
                assert netio.install(client)
            response = await client.get(f"{origins['http']}/hello")
            backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
            if isinstance(backend, AsyncTimestampingBackend):
                assert backend.fallback_reason and "trio" in backend.fallback_reason
            return response.text

    assert trio.run(main) == "hello " * 100
    if netio.arrival_timestamps_supported():
        assert log.reads and all(a is None and not exact for a, _, _, exact in log.reads)


# --- installation -------------------------------------------------------------------


@needs_stamps
def test_install_reaches_the_default_transport_and_mounts() -> None:
    with httpx2.Client(mounts={"http://special": httpx2.HTTPTransport()}) as client:
        result = netio.install(client)
        assert result and result.pools == 2
        backends = [client._transport._pool._network_backend]  # type: ignore[attr-defined]
        backends += [t._pool._network_backend for t in client._mounts.values() if t]  # type: ignore[union-attr]
        assert all(isinstance(b, TimestampingBackend) for b in backends)
        assert netio.install(client).pools == 2  # again: nothing changes


@needs_stamps
def test_install_says_why_not_for_transports_it_cannot_reach() -> None:
    mock = httpx2.MockTransport(lambda request: httpx2.Response(200))
    with httpx2.Client(transport=mock) as client:
        result = netio.install(client)
    assert not result and "MockTransport" in str(result.reason)
    with httpx2.Client(proxy="https://127.0.0.1:9") as client:
        result = netio.install(client)
    assert not result and "TLS inside TLS" in str(result.reason)
    transport = httpx2.HTTPTransport()
    transport._pool._network_backend = httpcore2.MockBackend([])  # type: ignore[attr-defined]
    with httpx2.Client(transport=transport) as client:
        result = netio.install(client)
    assert not result and "MockBackend" in str(result.reason)


def test_install_refuses_where_the_platform_cannot_stamp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installing, "unsupported_reason", lambda: "no stamps on this test platform")
    client = httpx2.AsyncClient()
    result = netio.install(client)
    assert not result and result.reason == "no stamps on this test platform"
    assert not isinstance(client._transport._pool._network_backend, AsyncTimestampingBackend)  # type: ignore[attr-defined]


@needs_stamps
def test_transport_factories_build_on_our_backend() -> None:
    sync = netio.timestamping_transport(retries=1)
    assert isinstance(sync._pool._network_backend, TimestampingBackend)  # type: ignore[attr-defined]
    asynchronous = netio.async_timestamping_transport(http2=False)
    assert isinstance(asynchronous._pool._network_backend, AsyncTimestampingBackend)  # type: ignore[attr-defined]
