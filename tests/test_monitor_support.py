"""Real parts the monitoring tests share (no tests here): a Loggly-style receiver, a Prometheus server,
the simulator's ground truth as error kinds, and the seed-style app the issue describes.

Everything binds 127.0.0.1, is bounded in time and is stopped by whoever started it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from profiler.trace.kinds import kind_of_fault
from tests.conftest import free_port


def metric_total(exposition: str, metric: str, **labels: str) -> float:
    """The sum of ``metric``'s samples whose labels include ``labels``, in a text exposition."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


LOGGLY_TOKEN = "0a1b2c3d-seed-4e5f-6a7b-8c9d0e1f2a3b"
API_KEY = "sk-test-monitor-not-a-real-key"
PROMETHEUS = shutil.which("prometheus")

# The app, written the seed's way, with the one line added (and the Loggly handler from
# profiler instead of loggly-python-handler: same constructor, same URL).
SEED_APP = """
import logging
import os

import openai
from flask import Flask, request

import profiler.monitor
from profiler.monitor.shipping import HTTPSHandler

app = Flask(__name__)
logger = logging.getLogger("seed")
logger.addHandler(HTTPSHandler(os.environ["SEED_LOGGLY_URL"], "POST"))
client = openai.OpenAI(max_retries=0, timeout=1.0)
# The model list comes from a fault-free upstream: the flaky one fails any request, lists included.
models_client = openai.OpenAI(base_url=os.environ["MODELS_BASE_URL"], max_retries=0, timeout=1.0)

profiler.monitor.init_app(app)


@app.route("/chat", methods=["POST"])
def chat():
    try:
        completion = client.chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": request.json["prompt"]}]
        )
        return completion.choices[0].message.content
    except Exception as e:
        logger.error("chat failed: %s", e)
        return "Error: " + str(e), 500


@app.route("/models")
def models():
    return {"models": [model.id for model in models_client.models.list()]}
"""

GUNICORN_CONF = """
from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
"""


class LogglyReceiver(ThreadingHTTPServer):
    """Loggly's two HTTP endpoints on loopback: ``/bulk/<token>/tag/<tags>/`` (one event a line) and
    ``/inputs/<token>/tag/<tags>`` (one event a request). Keeps every event with its tags."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LogglyHandler)
        self.daemon_threads = True
        self.events: list[tuple[str, dict]] = []  # (tags, event)
        self.paths: list[str] = []
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def tagged(self, tag: str) -> list[dict]:
        with self._lock:
            return [event for tags, event in self.events if tag in tags.split(",")]

    def __enter__(self) -> LogglyReceiver:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _LogglyHandler(BaseHTTPRequestHandler):
    server: LogglyReceiver
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        parts = self.path.strip("/").split("/")
        ok = len(parts) >= 2 and parts[0] in ("bulk", "inputs") and parts[1] == LOGGLY_TOKEN
        tags = parts[3] if len(parts) >= 4 and parts[2] == "tag" else ""
        if ok:
            lines = body.split(b"\n") if parts[0] == "bulk" else [body]
            with self.server._lock:
                self.server.paths.append(self.path)
                self.server.bodies.append(body)
                self.server.events += [(tags, json.loads(line)) for line in lines if line.strip()]
        reply = b'{"response":"ok"}' if ok else b'{"response":"invalid token"}'
        self.send_response(200 if ok else 403)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def until(condition: object, seconds: float = 30, every: float = 0.25) -> None:
    """Wait until ``condition()`` is true (asserting it at the deadline)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(every)
    assert condition()  # type: ignore[operator]


def http(
    method: str, url: str, payload: dict | None = None, headers: dict | None = None
) -> tuple[int, bytes]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data, {"content-type": "application/json", **(headers or {})}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def prometheus(directory: Path, target: str) -> Iterator[str]:
    """Debian's prometheus scraping ``target`` (host:port) every second; yields its URL."""
    assert PROMETHEUS is not None
    port = free_port()
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"
    )
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "prometheus.log").open("w"),
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def query(prometheus_url: str, expression: str) -> dict[str, float]:
    """An instant query's result: {"value|value": number}, the labels' values in the order of their names."""
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        result = json.loads(response.read())["data"]["result"]
    return {
        "|".join(value for _, value in sorted(sample["metric"].items())): float(sample["value"][1])
        for sample in result
    }


def ground_truth(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kinds_from_ground_truth(records: list[dict]) -> Counter[str]:
    """What each chat call's caller saw, from what the simulator did (no retries: one request a call)."""
    kinds: Counter[str] = Counter()
    for record in records:
        if record["path"].endswith("/chat/completions") and record["fault"]:
            kind = kind_of_fault(record["fault"], stream=bool(record["stream"]))
            if kind is not None:
                kinds[kind] += 1
    return kinds
