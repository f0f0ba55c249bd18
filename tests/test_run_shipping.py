"""A profiling run ships its error records to Loggly and Splunk when the environment says so."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import run_cli

TOKEN = "loggly-token-0123456789abcdef"
HEC_TOKEN = "hec-token-fedcba9876543210"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: dict[str, list[bytes]] = {"loggly": [], "splunk": []}
        self.authorizations: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.path == f"/bulk/{TOKEN}/tag/profiler/":
            self.server.bodies["loggly"].append(body)
        elif self.path == "/services/collector/event":
            self.server.authorizations.append(self.headers["authorization"])
            self.server.bodies["splunk"].append(body)
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _splunk_events(bodies: list[bytes]) -> list[dict]:
    decoder, events = json.JSONDecoder(), []
    for body in bodies:
        text, index = body.decode(), 0
        while index < len(text):
            envelope, index = decoder.raw_decode(text, index)
            events.append(envelope["event"])
            while index < len(text) and text[index].isspace():
                index += 1
    return events


def test_error_records_are_shipped_to_loggly_and_splunk(tmp_path: Path, receiver: Receiver) -> None:
    base = f"http://127.0.0.1:{receiver.server_port}"
    env = {
        "LOGGLY_URL": f"{base}/bulk/{TOKEN}/tag/profiler/",
        "SPLUNK_HEC_URL": base,
        "SPLUNK_HEC_TOKEN": HEC_TOKEN,
    }
    out = tmp_path / "run"
    result = run_cli(
        "--scenario",
        "flaky",
        "--requests",
        "60",
        "--concurrency",
        "8",
        "--profiler",
        "none",
        "--quiet",
        "--output-dir",
        str(out),
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    logged = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert logged, "the flaky scenario produced no failed attempt"

    loggly = [json.loads(line) for body in receiver.bodies["loggly"] for line in body.decode().splitlines()]
    splunk = _splunk_events(receiver.bodies["splunk"])
    key = lambda record: (record["event"], record["request_id"], record.get("attempt"))  # noqa: E731
    assert sorted(map(key, loggly)) == sorted(map(key, logged))
    assert sorted(map(key, splunk)) == sorted(map(key, logged))
    assert set(receiver.authorizations) == {f"Splunk {HEC_TOKEN}"}
    assert f"LogglyHandler: {len(logged)} error records shipped" in result.stdout

    written = "\n".join(p.read_text() for p in out.iterdir() if p.suffix in (".json", ".jsonl"))
    for secret in (TOKEN, HEC_TOKEN):
        assert secret not in written and secret not in result.stdout and secret not in result.stderr


def test_half_a_splunk_configuration_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("--output-dir", str(tmp_path / "run"), env={"SPLUNK_HEC_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2
    assert "SPLUNK_HEC_TOKEN is not set" in result.stderr
