"""A Locust master and two workers on loopback, headless, against the flaky simulator: one merged run.

Locust is never imported here (it monkey-patches the process with gevent): the
run is ``python -m profiler.run --locust`` in a child process, as a user runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from profiler.load.merge import MergedCalls, WorkerTotals
from profiler.runs import RunConfig, TargetInfo, load_run
from profiler.runs.accumulate import FigureAccumulator
from profiler.runs.records import call_record
from profiler.trace.kinds import kind_of_fault
from tests.conftest import REPO, clean_env, free_port, run_cli, start_cli

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


# --- workers that go quiet: a busy machine starves them of CPU, and Locust hears no heartbeat --------


def _processes_with(mark: str, role: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if role.encode() in words and any(mark.encode() in w for w in words):
            found.append(int(cmdline.parent.name))
    return found


def _freeze_workers(mark: str, ground_truth: Path, seconds: float) -> int:
    """Once calls are flowing, stop every worker for ``seconds`` (SIGSTOP), then go on; how many."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        served = ground_truth.read_text().count("\n") if ground_truth.exists() else 0
        workers = _processes_with(mark, "--worker")
        if served >= 4 and len(workers) == 2:
            break
        time.sleep(0.1)
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    time.sleep(seconds)
    for pid in workers:
        os.kill(pid, signal.SIGCONT)
    return len(workers)


def test_workers_silent_past_locusts_own_liveness_still_finish_the_run(tmp_path: Path) -> None:
    """Both workers unheard for 5 s (Locust's master calls a worker missing after 3): the run completes."""
    out, requests = tmp_path / "run", 40
    args = ["--locust", "--workers", "2", "--requests", str(requests), "--concurrency", "4"]
    cli = start_cli(*args, "--quiet", "--output-dir", str(out))
    try:
        assert _freeze_workers(str(out), out / "ground_truth.jsonl", 5.0) == 2
        stdout, stderr = cli.communicate(timeout=90)
    finally:
        cli.kill()
    assert cli.returncode == 0, stdout + stderr
    assert len(_lines(out / "requests.jsonl")) == requests
    assert json.loads((out / "summary.json").read_text())["interrupted"] is False


@contextmanager
def _hand_started(
    out: Path, bound: tuple[str, ...] = ("--profiler-requests=5000",), **master_output: Any
) -> Iterator[tuple[subprocess.Popen[str], list[subprocess.Popen[bytes]]]]:
    """The default simulator, a master run by hand (for 4 users; ``bound``: 5,000 tasks) and two workers,
    writing to ``out``; every child killed afterwards. ``master_output``: the master's stdout and stderr."""
    from profiler.load.launch import master_command, worker_command
    from profiler.simulator import SimulatorProcess, load_scenario

    port, env = free_port(), clean_env(PYTHONPATH=str(REPO))
    extra = [*bound, f"--profiler-output-dir={out}", "--profiler-scenario=default"]
    with SimulatorProcess(load_scenario("default"), ground_truth_path=out / "ground_truth.jsonl") as sim:
        master = subprocess.Popen(
            master_command(port, 4, 2, sim.base_url, extra), env=env, cwd=REPO, text=True, **master_output
        )
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        workers = [subprocess.Popen(worker_command(port, out), env=env, cwd=REPO, **quiet) for _ in range(2)]
        try:
            yield master, workers
        finally:
            for child in (master, *workers):
                child.kill()
                child.wait()


def test_a_master_whose_workers_all_went_missing_writes_what_they_did_and_quits(tmp_path: Path) -> None:
    """A master run by hand with Locust's own liveness: the test stops early; the run is still written."""
    out = tmp_path / "run"
    out.mkdir()
    with _hand_started(out, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as (master, _):
        assert _freeze_workers(str(out), out / "ground_truth.jsonl", 5.0) == 2
        _, log = master.communicate(timeout=60)
    assert "The last worker went missing" in log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    records = _lines(out / "requests.jsonl")
    assert 0 < len(records) < 5000
    # The calls in flight at the stop are there too, as cut short: counted neither way.
    assert summary["requests"]["started"] == sum(not r["interrupted"] for r in records)


def test_ctrl_c_to_the_master_and_its_workers_at_once_keeps_what_they_did(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches a hand-started master and its workers at once: each worker sends its
    calls before it says it quits, the master waits for them, and the run is written once."""
    out = tmp_path / "run"
    out.mkdir()
    truth = out / "ground_truth.jsonl"
    with _hand_started(out, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as (master, workers):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not truth.exists() or truth.read_text().count("\n") < 8):
            time.sleep(0.1)
        for child in (master, *workers):
            child.send_signal(signal.SIGINT)
        report, _ = master.communicate(timeout=60)
    served = len(_lines(truth))
    summary = json.loads((out / "summary.json").read_text())
    records = _lines(out / "requests.jsonl")
    assert summary["interrupted"] is True
    # Every call the simulator answered, but those the 4 users still had in flight when Locust killed them.
    assert served - 4 <= len(records) <= served, (len(records), served)
    assert report.count("Artifacts in") == 1, "written once"


def test_a_run_time_without_a_task_count_keeps_what_the_workers_did(tmp_path: Path) -> None:
    """A headless --run-time quits the runner before Locust's quitting event, and Locust's own quit
    listens for the workers' last words for half a second only. Workers frozen across the end of the
    run time report after that: the master still waits for every worker connected (no task count),
    and the run has their calls."""
    out = tmp_path / "run"
    out.mkdir()
    with _hand_started(out, ("--run-time", "3s"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as (
        master,
        _,
    ):
        assert _freeze_workers(str(out), out / "ground_truth.jsonl", 2.5) == 2  # from ~0.7 s to ~3.2 s
        master.wait(timeout=60)
    served = len(_lines(out / "ground_truth.jsonl"))
    summary = json.loads((out / "summary.json").read_text())
    records = _lines(out / "requests.jsonl")
    assert summary["interrupted"] is True and served >= 4
    assert served - 4 <= len(records) <= served, (len(records), served)
