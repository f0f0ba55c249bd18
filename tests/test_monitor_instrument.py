"""`instrument()` in a plain script, and beside ``profiler.session()`` and a monitored app: each call
counted once by each recorder, none taken from another. Real SDK, real HTTP to the simulator."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx2
import openai
import pytest
from flask import Flask

import profiler
import profiler.monitor
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.telemetry import Telemetry
from profiler.simulator import SimulatorProcess, load_scenario
from tests.conftest import REPO, clean_env
from tests.test_monitor_support import API_KEY, LOGGLY_TOKEN, LogglyReceiver, metric_total

SCRIPT = """
import json, sys
import openai
import profiler.monitor

telemetry = profiler.monitor.instrument()
client = openai.OpenAI(max_retries=0, timeout=1.0)
answers = {"ok": 0, "failed": 0}
for i in range(int(sys.argv[1])):
    try:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])
        answers["ok"] += 1
    except openai.OpenAIError:
        answers["failed"] += 1
client.models.list()
telemetry.flush()
exposition = telemetry.exposition().decode()
print(json.dumps({"answers": answers, "kept": len(telemetry.collector.recordings), "metrics": exposition}))
"""


def test_instrument_in_a_plain_script(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(SCRIPT)
    with LogglyReceiver() as loggly, SimulatorProcess(load_scenario("flaky")) as simulator:
        env = clean_env(
            PYTHONPATH=str(REPO),
            OPENAI_BASE_URL=simulator.base_url,
            OPENAI_API_KEY=API_KEY,
            LOGGLY_URL=f"{loggly.base}/bulk/{LOGGLY_TOKEN}/tag/job/",
        )
        done = subprocess.run(
            [sys.executable, "job.py", "30"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        answers, exposition = result["answers"], result["metrics"]
        assert answers["failed"] > 0 and answers["ok"] > 0
        assert result["kept"] == 0, "the process-wide collector keeps nothing: memory stays flat"
        duration = "gen_ai_client_operation_duration_seconds_count"
        assert metric_total(exposition, duration, gen_ai_operation_name="chat") == 30
        assert metric_total(exposition, duration, gen_ai_operation_name="models") == 1
        assert metric_total(exposition, "profiler_openai_errors_total") == answers["failed"]
        # Shipped by the time the script exited (the shippers drain at exit, within their bound).
        failed = [r for r in loggly.tagged("job") if r["event"] == "request_failed"]
        assert len(failed) == answers["failed"]
        assert API_KEY not in done.stderr and LOGGLY_TOKEN not in done.stderr


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with SimulatorProcess(load_scenario("instant")) as simulator:
        yield openai.OpenAI(base_url=simulator.base_url, api_key=API_KEY, max_retries=0)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    made = Telemetry(metrics=ServiceMetrics(), error_stream=None, background=False)
    yield made
    profiler.monitor.uninstrument()


def _call(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])


def _monitored(telemetry: Telemetry) -> float:
    return metric_total(
        telemetry.metrics.exposition().decode(), "gen_ai_client_operation_duration_seconds_count"
    )


def test_a_session_inside_keeps_its_calls_and_the_monitor_resumes(client, telemetry) -> None:
    assert profiler.monitor.instrument(telemetry) is telemetry
    _call(client)
    with profiler.session() as session:
        _call(client)
        _call(client)
    _call(client)
    assert len(session.calls) == 2
    assert _monitored(telemetry) == 2, "the session's calls are its own, once"
    profiler.monitor.uninstrument()
    _call(client)
    assert _monitored(telemetry) == 2, "uninstrumented: no longer recorded"


def test_instrument_during_a_session_leaves_the_calls_to_it(client, telemetry) -> None:
    with profiler.session() as session:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert profiler.monitor.instrument(telemetry) is None
        _call(client)
    assert "profiling session" in str(caught[0].message)
    assert len(session.calls) == 1 and _monitored(telemetry) == 0
    assert not profiler.monitor.is_instrumented()


def test_uninstrument_while_a_later_session_records_takes_nothing_from_it(client, telemetry) -> None:
    profiler.monitor.instrument(telemetry)
    with profiler.session() as session:
        _call(client)
        profiler.monitor.uninstrument()
        _call(client)
    _call(client)  # the session put the monitor's (closed) collector back: nobody counts this one
    assert len(session.calls) == 2 and _monitored(telemetry) == 0
    profiler.monitor.instrument(telemetry)  # reopens it
    _call(client)
    assert _monitored(telemetry) == 1


def test_a_monitored_app_inside_a_session_is_seen_by_both_once(client, telemetry) -> None:
    app = Flask("inside")
    profiler.monitor.init_app(app, telemetry=telemetry)

    @app.get("/chat")
    def chat() -> str:
        _call(client)
        return "ok"

    with profiler.session() as session:
        assert app.test_client().get("/chat").status_code == 200
    assert len(session.calls) == 1 and _monitored(telemetry) == 1
    # instrument() and a request scope together: the request's scope takes the call, once.
    profiler.monitor.instrument(telemetry)
    assert app.test_client().get("/chat").status_code == 200
    assert _monitored(telemetry) == 2


def test_backoff_is_observed_for_the_calls_that_were_retried_only(telemetry) -> None:
    """A call that was not retried has no back-off: its histogram counts the retried calls (counted
    here from the requests the SDK sent), as a run's figures do, while every other phase counts every call."""
    scenario = replace(
        load_scenario("instant"), name="retrying", seed=3, faults={"server_error": 0.3}, retry_after_s=0.01
    )
    sent: list[int] = []
    counting = httpx2.Client(event_hooks={"request": [lambda request: sent.append(1)]})
    attempts_per_call = []
    with SimulatorProcess(scenario) as simulator:
        client = openai.OpenAI(
            base_url=simulator.base_url, api_key=API_KEY, max_retries=3, http_client=counting
        )
        profiler.monitor.instrument(telemetry)
        for _ in range(24):
            before = len(sent)
            with contextlib.suppress(openai.APIStatusError):
                _call(client)
            attempts_per_call.append(len(sent) - before)
    retried = sum(attempts > 1 for attempts in attempts_per_call)
    assert 0 < retried < 24, attempts_per_call
    exposition = telemetry.metrics.exposition().decode()
    count = "profiler_openai_phase_duration_seconds_count"
    assert metric_total(exposition, count, phase="backoff") == retried
    assert metric_total(exposition, count, phase="server_wait") == 24
    assert metric_total(exposition, count, phase="queue") == 24
    assert metric_total(exposition, "profiler_openai_phase_duration_seconds_sum", phase="backoff") > 0
