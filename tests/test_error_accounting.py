"""Every request the simulator saw is accounted for exactly once, by kind (flaky scenario, real CLI)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from profiler.simulator import FAULT_KINDS
from profiler.trace.kinds import kind_of_fault
from tests.conftest import run_cli


def test_every_simulator_fault_has_a_kind() -> None:
    assert all(kind_of_fault(fault, stream=True) for fault in FAULT_KINDS)
    assert all(kind_of_fault(fault, stream=False) for fault in FAULT_KINDS if fault != "truncated_stream")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(("stream", "requests"), [(False, 500), (True, 200)], ids=["plain", "stream"])
def test_flaky_run_accounts_for_every_request(tmp_path: Path, stream: bool, requests: int) -> None:
    out = tmp_path / "run"
    args = ["--scenario", "flaky", "--requests", str(requests), "--concurrency", "16", "--profiler", "none"]
    result = run_cli(
        *args, *(["--stream"] if stream else []), "--quiet", "--output-dir", str(out), timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    truth = _lines(out / "ground_truth.jsonl")
    records = _lines(out / "requests.jsonl")

    started, succeeded, failed = (summary["requests"][k] for k in ("started", "succeeded", "failed"))
    assert started == requests == len(records)
    assert succeeded + failed == started

    # Every attempt is one request the simulator logged, and the reverse.
    assert summary["attempts"]["total"] == len(truth)
    assert summary["attempts"]["retried"] == len(truth) - requests
    served = {r["request_id"] for r in truth}
    seen = {a["x_request_id"] for r in records for a in r["attempt_details"] if a["x_request_id"]}
    assert seen <= served

    # Per kind, failed attempts equal the faults the simulator injected.
    injected = Counter(kind_of_fault(r["fault"], stream=stream) for r in truth if r["fault"])
    assert None not in injected  # the error-kind table names every fault the simulator injected
    assert sum(injected.values()) > 0.1 * requests
    assert summary["attempt_errors"] == dict(injected)

    # A retried 429 is an attempt error, not a lost request: final errors are only the last attempts.
    final = Counter(r["error_kind"] for r in records if r["error_kind"])
    assert summary["errors"] == dict(final)
    assert sum(final.values()) == failed
    assert summary["error_rate"] == pytest.approx(failed / started, abs=1e-6)
    for kind, count in final.items():
        assert summary["error_rates"][kind] == pytest.approx(count / started, abs=1e-6)

    # The error log has one record per failed attempt and one per failed request.
    logged = Counter((r["event"], r["error_kind"]) for r in _lines(out / "errors.jsonl"))
    assert {k: v for (event, k), v in logged.items() if event == "attempt_failed"} == dict(injected)
    assert {k: v for (event, k), v in logged.items() if event == "request_failed"} == dict(final)
    text = (out / "errors.jsonl").read_text()
    assert "Authorization" not in text and "sk-" not in text
    assert "rainy day" not in text  # no prompt unless the user opts in
