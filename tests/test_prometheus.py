"""A real Prometheus server scrapes the running /chat service while a flaky upstream fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_env, free_port

PROMETHEUS = shutil.which("prometheus")
if PROMETHEUS is None and os.environ.get("CI"):
    raise RuntimeError("Debian's prometheus is not installed: the test command installs it (see README)")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus is not installed (apt-get install prometheus)"
)


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def _post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def chat_service(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = clean_env()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "profiler.app",
            "--port",
            str(port),
            "--scenario",
            "flaky",
            "--max-retries",
            "0",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "app.log").open("w"),
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture
def prometheus(tmp_path: Path, chat_service: str) -> Iterator[str]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    target = urllib.parse.urlsplit(chat_service).netloc
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: chat\n    static_configs:\n      - targets: ['{target}']\n"
    )
    assert PROMETHEUS is not None
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def _query(prometheus: str, expression: str) -> dict[str, float]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        result = json.loads(response.read())["data"]["result"]
    return {"|".join(sample["metric"].values()): float(sample["value"][1]) for sample in result}


def test_prometheus_counts_match_what_was_sent(chat_service: str, prometheus: str) -> None:
    requests = 60
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda i: _post(f"{chat_service}/chat", {"prompt": f"book {i}?"}), range(requests))
        )
    statuses = Counter(str(status) for status, _ in results)
    kinds = Counter(body["error"]["kind"] for status, body in results if status != 200)
    assert statuses["200"] > 0 and sum(kinds.values()) > 0  # the flaky upstream failed some, not all

    deadline = time.monotonic() + 30
    calls: dict[str, float] = {}
    while time.monotonic() < deadline:
        calls = _query(prometheus, "sum(gen_ai_client_operation_duration_seconds_count)")
        if calls.get("") == requests:
            break
        time.sleep(0.5)
    assert calls.get("") == requests

    errors = _query(prometheus, "sum by (error_kind) (profiler_openai_errors_total)")
    assert errors == {kind: float(count) for kind, count in kinds.items()}
    served = _query(
        prometheus,
        'sum by (http_response_status_code) (http_server_request_duration_seconds_count{http_route="/chat"})',
    )
    assert served == {status: float(count) for status, count in statuses.items()}
    ok_calls = _query(prometheus, 'sum(gen_ai_client_operation_duration_seconds_count{error_type=""})')
    assert ok_calls.get("") == statuses["200"]
    tokens = _query(prometheus, "sum by (gen_ai_token_type) (gen_ai_client_token_usage_count)")
    assert tokens.get("output") == statuses["200"]
