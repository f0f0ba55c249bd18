"""The seed's Flask app plus one line, under gunicorn (two workers, Prometheus multiprocess mode), in
front of the flaky simulator; a real Prometheus scrapes it; a Loggly-style receiver gets the logs.

What the test sent, and what the simulator really did (its ground truth), must be what Prometheus
and the receiver say: per operation, per error kind, per record, exactly once.
"""

from __future__ import annotations

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
    GUNICORN_CONF,
    LOGGLY_TOKEN,
    PROMETHEUS,
    SEED_APP,
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

CHATS = 48
MODEL_LISTS = 6


def test_seed_app_under_gunicorn_is_counted_and_logged_exactly(tmp_path: Path) -> None:
    (tmp_path / "seed_app.py").write_text(SEED_APP)
    (tmp_path / "gunicorn.conf.py").write_text(GUNICORN_CONF)
    multiproc = tmp_path / "prometheus-multiproc"
    multiproc.mkdir()
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
            PROMETHEUS_MULTIPROC_DIR=str(multiproc),
            SEED_LOGGLY_URL=f"{loggly.base}/inputs/{LOGGLY_TOKEN}/tag/python",  # the seed's URL form
            LOGGLY_URL=f"{loggly.base}/inputs/{LOGGLY_TOKEN}/tag/monitor",  # the monitor's shipping
        )
        server_log = tmp_path / "gunicorn.log"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers=2",
                f"--bind=127.0.0.1:{port}",
                "--config=gunicorn.conf.py",
                "--graceful-timeout=10",
                "seed_app:app",
            ],
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
                            lambda i: (
                                f"req-{i:03d}",
                                http(
                                    "POST",
                                    f"{base}/chat",
                                    {"prompt": f"book {i}?"},
                                    {"X-Request-ID": f"req-{i:03d}"},
                                ),
                            ),
                            range(CHATS),
                        )
                    )
                    lists = list(pool.map(lambda _: http("GET", f"{base}/models"), range(MODEL_LISTS)))
                assert all(status == 200 for status, _ in lists)
                failed_ids = sorted(rid for rid, (status, _) in chats if status != 200)
                statuses = Counter(str(status) for _, (status, _) in chats)
                assert statuses["200"] > 0 and failed_ids, "the flaky upstream failed some calls, not all"

                # Every request the simulator took is logged once its handler ended: wait for that.
                settled = settle(simulator.url, timeout_s=10.0)
                assert settled is not None and settled.in_flight == 0, settled
                assert len(ground_truth(truth_path)) == CHATS
                truth = kinds_from_ground_truth(ground_truth(truth_path))
                assert sum(truth.values()) == len(failed_ids)

                def calls() -> dict[str, float]:
                    expression = (
                        "sum by (gen_ai_operation_name) (gen_ai_client_operation_duration_seconds_count)"
                    )
                    return query(prom, expression)

                until(lambda: calls() == {"chat": CHATS, "models": MODEL_LISTS})
                errors = query(
                    prom, "sum by (gen_ai_operation_name, error_kind) (profiler_openai_errors_total)"
                )
                assert errors == {f"{kind}|chat": float(n) for kind, n in truth.items()}  # error_kind first
                served = query(
                    prom,
                    "sum by (http_response_status_code) "
                    '(http_server_request_duration_seconds_count{http_route="/chat"})',
                )
                assert served == {status: float(n) for status, n in statuses.items()}
                by_server = query(
                    prom, "sum by (server_address) (gen_ai_client_operation_duration_seconds_count)"
                )
                assert by_server == {"127.0.0.1": CHATS + MODEL_LISTS}

                # The receiver: the seed's own records, and the monitor's, each once.
                def monitor_records() -> list[dict]:
                    return loggly.tagged("monitor")

                until(lambda: len(loggly.tagged("python")) == len(failed_ids), seconds=30)
                until(
                    lambda: (
                        len([r for r in monitor_records() if r["event"] == "request_failed"])
                        == len(failed_ids)
                    )
                )
                records = monitor_records()
                failed = sorted(r["http_request_id"] for r in records if r["event"] == "request_failed")
                attempts = sorted(r["http_request_id"] for r in records if r["event"] == "attempt_failed")
                assert failed == failed_ids and attempts == failed_ids, (
                    "every error record once, with its request"
                )
                assert Counter(r["error_kind"] for r in records if r["event"] == "request_failed") == truth
                assert all(r["http_route"] == "/chat" and r["operation"] == "chat" for r in records)
                assert sorted(e["message"][:11] for e in loggly.tagged("python")) == ["chat failed"] * len(
                    failed_ids
                )
                assert set(loggly.paths) <= {
                    f"/bulk/{LOGGLY_TOKEN}/tag/python/",
                    f"/bulk/{LOGGLY_TOKEN}/tag/monitor/",
                }
        finally:
            server.terminate()
            server.wait(30)
    shown = server_log.read_text() + b"".join(loggly.bodies).decode()
    assert LOGGLY_TOKEN not in shown and API_KEY not in shown
    assert "Authorization" not in shown and "authorization" not in shown
