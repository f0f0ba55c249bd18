"""The rule set that classifies profile time as network wait, back-off or local."""

from __future__ import annotations

import cProfile
import pstats
import socket
import threading
import time

import pytest

from profiler.profiling.attribution import BACKOFF, IDLE, LOCAL, NETWORK, attribute_cprofile, classify


def test_rules_claim_socket_ssl_and_selectors() -> None:
    assert classify("~", "<method 'recv_into' of '_socket.socket' objects>") == NETWORK
    assert classify("/usr/lib/python3.11/ssl.py", "read") == NETWORK
    assert classify("/usr/lib/python3.11/selectors.py", "select") == NETWORK
    assert classify("~", "<built-in method _socket.getaddrinfo>") == NETWORK


def test_sleep_is_backoff_only_when_the_sdk_retries() -> None:
    assert classify("~", "<built-in method time.sleep>", callers=["_sleep_for_retry"]) == BACKOFF
    assert classify("~", "<built-in method time.sleep>", callers=["my_loop"]) == LOCAL


def test_plain_python_is_local() -> None:
    assert classify("/app/main.py", "extract_titles") == LOCAL
    assert classify("~", "<method 'acquire' of '_thread.lock' objects>") == IDLE


def _sleep_for_retry() -> None:  # named like the SDK's retry sleep
    time.sleep(0.05)


def _busy() -> int:
    return sum(i * i for i in range(200_000))


def _server_answering_after(seconds: float) -> socket.socket:
    """A loopback server that accepts one client and sends it a byte after a delay."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer_late() -> None:
        conn, _ = server.accept()
        time.sleep(seconds)
        conn.sendall(b"x")
        conn.close()

    threading.Thread(target=answer_late, daemon=True).start()
    return server


def test_attribute_cprofile_on_a_real_profile() -> None:
    server = _server_answering_after(0.08)
    profile = cProfile.Profile()
    profile.enable()
    client = socket.create_connection(server.getsockname())
    client.recv(1)  # blocks ~80 ms on the network
    _sleep_for_retry()
    _busy()
    profile.disable()
    client.close()
    server.close()

    attribution = attribute_cprofile(pstats.Stats(profile))
    assert attribution.seconds[NETWORK] >= 0.07
    assert 0.045 <= attribution.seconds[BACKOFF] <= 0.07
    assert attribution.hotspots and "genexpr" in attribution.hotspots[0].function
    assert all("recv" not in h.function for h in attribution.hotspots)


def test_local_profile_drops_waits_and_keeps_local_time(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from profiler.profiling.local_profile import save_local_profile

    def job() -> None:
        time.sleep(0.1)  # a wait that is not the SDK's back-off: idle, not local work
        _busy()

    profile = cProfile.Profile()
    profile.enable()
    job()
    profile.disable()
    full = pstats.Stats(profile)
    path = save_local_profile(full, tmp_path / "local.prof")
    local = pstats.Stats(str(path))
    names = {func[2] for func in local.stats}  # type: ignore[attr-defined]
    assert "job" in names and "_busy" in names
    assert not any("sleep" in name for name in names)
    job_key = next(func for func in local.stats if func[2] == "job")  # type: ignore[attr-defined]
    job_full = full.stats[job_key][3]  # type: ignore[attr-defined]
    job_local = local.stats[job_key][3]  # type: ignore[attr-defined]
    assert job_full >= 0.1
    assert job_local == pytest.approx(job_full - 0.1, abs=0.01)


def test_attribute_pyinstrument_on_a_real_session() -> None:
    from pyinstrument import Profiler

    from profiler.profiling.attribution import attribute_pyinstrument

    server = _server_answering_after(0.15)
    profiler = Profiler(interval=0.001)
    profiler.start()
    client = socket.create_connection(server.getsockname())
    client.recv(1)
    _sleep_for_retry()
    _busy()
    session = profiler.stop()
    client.close()
    server.close()

    attribution = attribute_pyinstrument(session)
    assert attribution.seconds[NETWORK] >= 0.12
    assert 0.04 <= attribution.seconds[BACKOFF] <= 0.08
    assert any(h.function in ("_busy", "<genexpr>") for h in attribution.hotspots[:3])
