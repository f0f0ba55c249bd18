"""A Locust master and two workers on loopback, headless, against the flaky simulator: one merged run.

Locust is never imported here (it monkey-patches the process with gevent): the
run is ``python -m profiler.run --locust`` in a child process, as a user runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from profiler.load.merge import MergedCalls, WorkerTotals
from profiler.runs import RunConfig, TargetInfo, load_run
from profiler.runs.accumulate import FigureAccumulator
from profiler.runs.records import call_record
from profiler.trace.kinds import kind_of_fault
from tests.conftest import REPO, clean_env, run_cli

REQUESTS = 60
pytestmark = pytest.mark.timeout(120)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("load") / "run"
    args = ["--locust", "--workers", "2", "--requests", str(REQUESTS), "--concurrency", "6", "--stream"]
    result = run_cli(*args, "--scenario", "flaky", "--quiet", "--output-dir", str(out), timeout=100)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_every_request_the_simulator_served_appears_once(merged: Path) -> None:
    truth = _lines(merged / "ground_truth.jsonl")
    records = _lines(merged / "requests.jsonl")
    assert len(records) == REQUESTS
    assert len({r["worker"] for r in records}) == 2  # both workers made calls, each call names its worker
    assert sorted(r["id"] for r in records) == list(range(1, REQUESTS + 1))
    # By x-request-id: each response that reached a client is one attempt of one call.
    seen = Counter(a["x_request_id"] for r in records for a in r["attempt_details"] if a["x_request_id"])
    assert set(seen.values()) == {1}
    assert set(seen) <= {t["request_id"] for t in truth}
    # The requests whose response never reached a client (a stall past the timeout, a cut before the
    # headers) are the attempts without an id, one for one and kind for kind.
    unanswered = [t for t in truth if t["request_id"] not in seen]
    blind = [a for r in records for a in r["attempt_details"] if not a["x_request_id"]]
    assert len(unanswered) == len(blind)
    assert Counter(kind_of_fault(t["fault"], stream=True) for t in unanswered) == Counter(
        a["error_kind"] for a in blind
    )
    summary = json.loads((merged / "summary.json").read_text())
    assert summary["attempts"]["total"] == len(truth)
    assert summary["target"]["requests_served"] == len(truth)
    assert summary["config"]["workers"] == 2 and summary["config"]["source"] == "locust"


def test_error_counts_equal_the_ground_truth(merged: Path) -> None:
    truth = _lines(merged / "ground_truth.jsonl")
    records = _lines(merged / "requests.jsonl")
    summary = json.loads((merged / "summary.json").read_text())
    injected = Counter(kind_of_fault(t["fault"], stream=True) for t in truth if t["fault"])
    assert sum(injected.values()) > 0
    assert summary["attempt_errors"] == dict(injected)
    final = Counter(r["error_kind"] for r in records if r["error_kind"])
    assert summary["errors"] == dict(final)
    assert summary["requests"]["failed"] == sum(final.values())
    assert summary["requests"]["succeeded"] + summary["requests"]["failed"] == REQUESTS


def test_merged_percentiles_are_those_of_the_raw_merged_traces(merged: Path) -> None:
    run = load_run(merged)
    summary = json.loads((merged / "summary.json").read_text())
    again = FigureAccumulator().add_all(run.calls)
    latency = sorted(r["latency_ms"] for r in _lines(merged / "requests.jsonl"))
    assert summary["latency_ms"]["count"] == len(latency) == REQUESTS
    assert summary["latency_ms"]["max"] == pytest.approx(latency[-1], abs=1e-3)
    for q in (0.5, 0.9, 0.99):
        expected = again.quantiles("latency").quantile(q) * 1000.0  # type: ignore[union-attr]
        assert summary["latency_ms"][f"p{round(q * 100)}"] == pytest.approx(expected, abs=2e-3)
    assert summary["ttft_ms"]["p50"] == pytest.approx(again.quantiles("ttft").quantile(0.5) * 1000, abs=2e-3)  # type: ignore[union-attr]


def test_workers_roll_up_past_the_size_kept_whole(merged: Path) -> None:
    """Two workers sending 10 calls whole and the rest as mergeable figures give the same figures."""
    run = load_run(merged)
    started_at = run.started_at
    merged_calls = MergedCalls(started_at, keep=10)
    for worker in sorted({call.worker for call in run.calls if call.worker}):
        mine = [call for call in run.calls if call.worker == worker]
        merged_calls.add_records(worker, started_at, [call_record(c) for c in mine[:5]])
        rolled = FigureAccumulator().add_all(mine[5:])
        merged_calls.add_totals(WorkerTotals(worker, started_at, len(mine), len(mine), 0.1, rolled.to_dict()))
    again = merged_calls.run(wall_s=run.figures.wall_s, config=RunConfig(), target=TargetInfo())
    assert len(again.calls) == 10
    mine, theirs = again.summary, run.summary
    for key in ("requests", "attempts", "errors", "attempt_errors", "latency_ms", "ttft_ms", "split_s"):
        assert mine[key] == theirs[key], key


def test_compare_reads_the_merged_run(merged: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "profiler.compare", str(merged), str(merged)],
        capture_output=True, text=True, timeout=60, env=clean_env(), cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (merged / "report.html").is_file() and (merged / "locust_stats.csv").is_file()


def test_nothing_is_left_running(merged: Path) -> None:
    mark = str(merged).encode()
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if mark in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:
            continue
    assert left == []


def test_the_cli_path_never_imports_locust() -> None:
    modules = "{'locust', 'gevent'} & set(sys.modules)"
    code = f"import sys, profiler.run, profiler.load.launch; assert not {modules}"
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
