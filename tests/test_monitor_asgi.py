"""A FastAPI app with the middleware (one line, ``safe_errors=True``), served by uvicorn in front of
the flaky simulator; a real Prometheus scrapes it; a Loggly-style receiver gets the error log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from profiler.simulator import SimulatorProcess, load_scenario
from profiler.simulator.settle import settle
from tests.conftest import REPO, clean_env, free_port
from tests.test_monitor_support import (
    API_KEY,
    LOGGLY_TOKEN,
    PROMETHEUS,
    LogglyReceiver,
    ground_truth,
    http,
    kinds_from_ground_truth,
    prometheus,
    query,
    until,
    wait_for,
)

if PROMETHEUS is None and os.environ.get("CI"):
    raise RuntimeError("Debian's prometheus is not installed: the test command installs it (see README)")
pytestmark = [
    pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (apt-get install prometheus)"),
    pytest.mark.timeout(180),
]

FASTAPI_APP = """
import os

import openai
from fastapi import FastAPI

import profiler.monitor

app = FastAPI()
profiler.monitor.init_app(app, safe_errors=True)
client = openai.AsyncOpenAI(max_retries=0, timeout=1.0)
# The model list comes from a fault-free upstream: the flaky one fails any request, lists included.
sync_client = openai.OpenAI(base_url=os.environ["MODELS_BASE_URL"], max_retries=0, timeout=1.0)


@app.post("/chat")
async def chat(body: dict):
    completion = await client.chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": body["prompt"]}]
    )
    return {"content": completion.choices[0].message.content}


@app.get("/models")
def models():  # a sync endpoint: FastAPI runs it in its thread pool
    return {"models": [model.id for model in sync_client.models.list()]}
"""

CHATS = 40
MODEL_LISTS = 5


def test_fastapi_app_under_uvicorn_is_counted_answered_and_logged(tmp_path: Path) -> None:
    (tmp_path / "fastapi_app.py").write_text(FASTAPI_APP)
    truth_path = tmp_path / "ground_truth.jsonl"
    port = free_port()
    with (
        LogglyReceiver() as loggly,
        SimulatorProcess(load_scenario("flaky"), ground_truth_path=truth_path) as simulator,
        SimulatorProcess(load_scenario("instant")) as models_upstream,
    ):
        env = clean_env(
            PYTHONPATH=str(REPO),
            OPENAI_BASE_URL=simulator.base_url,
            OPENAI_API_KEY=API_KEY,
            MODELS_BASE_URL=models_upstream.base_url,
            LOGGLY_URL=f"{loggly.base}/bulk/{LOGGLY_TOKEN}/tag/monitor/",
        )
        server_log = tmp_path / "uvicorn.log"
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}", "fastapi_app:app"],
            cwd=tmp_path,
            env=env,
            stdout=server_log.open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/metrics")
            with prometheus(tmp_path, f"127.0.0.1:{port}") as prom:
                with ThreadPoolExecutor(4) as pool:
                    chats = list(
                        pool.map(
                            lambda i: http(
                                "POST",
                                f"{base}/chat",
                                {"prompt": f"book {i}?"},
                                {"X-Request-ID": f"fa-{i:03d}"},
                            ),
                            range(CHATS),
                        )
                    )
                    lists = list(pool.map(lambda _: http("GET", f"{base}/models"), range(MODEL_LISTS)))
                assert all(status == 200 for status, _ in lists)
                answers = [(status, json.loads(body)) for status, body in chats]
                kinds = Counter(body["error"]["kind"] for status, body in answers if status != 200)
                statuses = Counter(str(status) for status, _ in answers)
                assert statuses["200"] > 0 and kinds, "the flaky upstream failed some calls, not all"
                assert set(statuses) <= {"200", "502", "503", "504"}, "safe answers, never a 500"
                for status, body in answers:
                    if status != 200:
                        assert "try again later" in body["error"]["message"]
                        assert (status == 504) == (body["error"]["kind"] == "timeout")

                # Every request the simulator took is logged once its handler ended: wait for that.
                settled = settle(simulator.url, timeout_s=10.0)
                assert settled is not None and settled.in_flight == 0, settled
                assert len(ground_truth(truth_path)) == CHATS
                assert kinds_from_ground_truth(ground_truth(truth_path)) == kinds

                def calls() -> dict[str, float]:
                    expression = (
                        "sum by (gen_ai_operation_name) (gen_ai_client_operation_duration_seconds_count)"
                    )
                    return query(prom, expression)

                until(lambda: calls() == {"chat": CHATS, "models": MODEL_LISTS})
                errors = query(
                    prom, 'sum by (error_kind) (profiler_openai_errors_total{gen_ai_operation_name="chat"})'
                )
                assert errors == {kind: float(n) for kind, n in kinds.items()}
                served = query(
                    prom,
                    "sum by (http_route, http_response_status_code) "
                    "(http_server_request_duration_seconds_count)",
                )
                # Label values in the order of their names: http_response_status_code, http_route.
                expected = {f"{s}|/chat": float(n) for s, n in statuses.items()}
                assert served == {**expected, "200|/models": float(MODEL_LISTS)}

                failures = sum(kinds.values())
                until(
                    lambda: (
                        len([r for r in loggly.tagged("monitor") if r["event"] == "unhandled_error"])
                        == failures
                    )
                )
                until(
                    lambda: (
                        len([r for r in loggly.tagged("monitor") if r["event"] == "request_failed"])
                        == failures
                    )
                )
                records = loggly.tagged("monitor")
                failed_ids = sorted(f"fa-{i:03d}" for i, (status, _) in enumerate(answers) if status != 200)
                for event in ("request_failed", "attempt_failed", "unhandled_error"):
                    ids = sorted(r["http_request_id"] for r in records if r["event"] == event)
                    assert ids == failed_ids, f"{event}: every record once, with its request's id"
                tracebacks = [r for r in records if r["event"] == "unhandled_error"]
                assert all("Traceback" in r["exc_info"] and r["http_route"] == "/chat" for r in tracebacks)
        finally:
            server.terminate()
            server.wait(30)
    shown = server_log.read_text() + b"".join(loggly.bodies).decode()
    assert LOGGLY_TOKEN not in shown and API_KEY not in shown and "uthorization" not in shown
