"""The verdict names the right culprit: unit cases on synthetic summaries, then real runs.

The real runs start at once (they wait on the simulator or burn CPU in turn; the verdicts they
are checked for hold with a margin far wider than what running side by side changes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from profiler.report.verdict import _process_busy, verdict
from profiler.runs import Run, load_run
from profiler.runs.documents import run_from_documents
from profiler.trace.model import RequestTrace, Segment
from tests.conftest import run_cli
from tests.synthetic import trace_from


def _phase(total_ms: float) -> dict[str, float]:
    return {"count": 10, "mean": total_ms / 10, "p50": total_ms / 10, "p99": total_ms / 10, "total": total_ms}


def _summary(
    network: float,
    backoff: float,
    local: float,
    server_wait: float,
    error_rate: float = 0.0,
    between_calls: float = 0.0,
) -> Run:
    document = {
        "wall_s": network + backoff + local,
        "requests": {"started": 10},
        "split_s": {
            "network": network,
            "backoff": backoff,
            "local": local,
            "local_in_calls": local - between_calls,
            "local_between_calls": between_calls,
        },
        "breakdown_ms": {"network": _phase(network * 1000), "server_wait": _phase(server_wait * 1000)},
        "attribution": {
            "cprofile": {
                "seconds": {"local": local},
                "hotspots": [
                    {"function": "extract_titles", "file": "app.py", "line": 12, "self_ms": 5, "calls": 1}
                ],
            }
        },
        "error_rate": error_rate,
    }
    return run_from_documents(document, [])


def test_slow_server() -> None:
    text = verdict(_summary(network=8.0, backoff=0.0, local=2.0, server_wait=7.5))
    assert text.startswith("Waiting on the server: 75% of wall time (network in all 80%)")
    assert "local processing 20%, most of it in extract_titles (app.py:12)" in text


def test_heavy_local_work() -> None:
    text = verdict(_summary(network=2.0, backoff=0.0, local=8.0, server_wait=1.9))
    assert text.startswith("Local processing: 80% of wall time, most of it in extract_titles")


def test_backoff_and_errors() -> None:
    text = verdict(_summary(network=2.0, backoff=6.0, local=2.0, server_wait=1.0, error_rate=0.25))
    assert text.startswith("Retry back-off: 60%") and text.endswith("25% of calls failed.")


def test_the_programs_own_code_between_calls_is_named() -> None:
    text = verdict(_summary(network=2.0, backoff=0.0, local=8.0, server_wait=1.9, between_calls=6.0))
    assert text.startswith("Local processing: 80% of wall time (60% in your code between calls)")


def test_nothing_recorded_says_what_the_simulator_served() -> None:
    run = run_from_documents(
        {"wall_s": 1.0, "target": {"embedded_simulator": True, "requests_served": 4}}, []
    )
    assert verdict(run) == (
        "0 calls recorded; the simulator served 4 requests: they were made by a client the profiler "
        "does not instrument (not the openai SDK?)."
    )
    assert verdict(run_from_documents({"wall_s": 1.0}, [])).startswith(
        "0 calls recorded: the program made no"
    )


def test_slow_transfer_is_not_blamed_on_the_server() -> None:
    assert verdict(_summary(network=8.0, backoff=0.0, local=2.0, server_wait=1.0)).startswith(
        "Network transfer"
    )


def test_contention_that_was_garbage_collection_says_so() -> None:
    def busy(gc_contention_ms: float) -> str:
        run = _summary(network=6.0, backoff=0.0, local=4.0, server_wait=5.5)
        document = run.summary | {
            "latency_ms": {"count": 10, "mean": 600.0, "p50": 600.0, "p90": 600.0, "p99": 600.0,
                           "max": 600.0, "min": 600.0},
            "breakdown_ms": run.summary["breakdown_ms"] | {"contention": _phase(1000.0)},
            "gc": {"collections": {"0": 90, "1": 8, "2": 2}, "pause_ms": 900.0, "longest_ms": 300.0,
                   "calls_ms": 900.0, "calls_local_ms": 880.0, "calls_contention_ms": gc_contention_ms,
                   "calls_paused": 6, "of_calls": 10},
        }  # fmt: skip
        return verdict(run_from_documents(document, []))

    assert "; your process was busy: 17% of each call is contention" in busy(800.0)  # its collector
    assert busy(800.0).endswith("not network (garbage collection was 80% of it).")
    assert "garbage collection" not in busy(100.0)  # 10% of the contention: not what to name


# The real runs: name -> the options of the run.
_REAL_RUNS = {
    "slow server": ("--scenario", "slow", "--requests", "3"),
    "heavy local work": ("--scenario", "instant", "--local-work-ms", "300", "--requests", "3"),
    "default server, heavy local work": ("--local-work-ms", "300", "--requests", "3"),
}
# Quick runs, one after the other once the runs above are done: beside them, starved of CPU, a run's
# hotspots turn into the clock calls its busy loop makes.
_QUICK_RUNS = {
    "one call at a time": ("--scenario", "instant", "--requests", "30"),
    "four at a time": ("--scenario", "instant", "--requests", "40", "--concurrency", "4"),
}


def _run_verdict(out: Path, *args: str) -> tuple[str, dict[str, Any]]:
    result = run_cli(*args, "--profiler", "cprofile", "--quiet", "--output-dir", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    line = " ".join(result.stdout.split("Verdict:")[1].split("\n\n")[0].split())
    return line, json.loads((out / "summary.json").read_text()) | {"path": str(out)}


@pytest.fixture(scope="module")
def real_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[tuple[str, dict[str, Any]]]]]:
    root = tmp_path_factory.mktemp("verdicts")
    with ThreadPoolExecutor(max_workers=len(_REAL_RUNS)) as pool:
        yield {
            name: pool.submit(_run_verdict, root / str(index), *args)
            for index, (name, args) in enumerate(_REAL_RUNS.items())
        }


def test_real_run_slow_server_blames_the_server(
    real_runs: dict[str, Future[tuple[str, dict[str, Any]]]],
) -> None:
    text, summary = real_runs["slow server"].result(timeout=300)
    assert text.startswith("Waiting on the server"), text
    assert summary["split_s"]["network"] / summary["wall_s"] > 0.9


def test_real_run_heavy_local_work_blames_our_code(
    real_runs: dict[str, Future[tuple[str, dict[str, Any]]]],
) -> None:
    text, summary = real_runs["heavy local work"].result(timeout=300)
    assert text.startswith("Local processing"), text
    assert "burn_cpu" in text
    assert summary["split_s"]["local"] >= 3 * 0.3


def test_real_run_default_server_with_heavy_local_work_names_the_function(
    real_runs: dict[str, Future[tuple[str, dict[str, Any]]]],
) -> None:
    text, _ = real_runs["default server, heavy local work"].result(timeout=300)
    assert "most of it in burn_cpu" in text, text


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("quick")
    return {name: _run_verdict(root / str(i), *args) for i, (name, args) in enumerate(_QUICK_RUNS.items())}


def test_real_run_of_one_call_at_a_time_had_nothing_of_its_own_to_be_busy_with(
    quick_runs: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    """On the instant scenario a call's contention is the OS waking its thread and httpcore's own
    steps (a tenth of the call and more on this machine): not the process's threads."""
    text, summary = quick_runs["one call at a time"]
    assert _process_busy(load_run(summary["path"])) is False, summary["cpu_s"]
    assert "your process was busy" not in text, text


def test_real_run_of_four_at_a_time_had_its_own_calls_beside_each_other(
    quick_runs: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    _, summary = quick_runs["four at a time"]
    assert _process_busy(load_run(summary["path"])) is True


def _contended(call_id: int, offset_ms: float, cpu_ms: float | None) -> RequestTrace:
    """A 16 ms call, 4 ms of it contention between the response's headers and its body."""
    start, segments = offset_ms / 1000, []
    for phase, length_ms in (("local_pre", 1.0), ("send", 0.2), ("server_wait", 9.8), ("contention", 4.0)):
        segments.append(Segment(phase, start, start + length_ms / 1000, None))
        start += length_ms / 1000
    segments.append(Segment("local_post", start, start + 0.001, None))
    traced = trace_from(call_id, segments, [])
    return replace(traced, cpu_s=None if cpu_ms is None else cpu_ms / 1000)


def _contended_run(offsets_ms: list[float], cpu_ms: float | None, process_cpu_s: float) -> Run:
    calls = [_contended(i, offset, cpu_ms) for i, offset in enumerate(offsets_ms, start=1)]
    wall = (0.0, max(call.end for call in calls))
    return Run.build(calls, wall=wall, cpu_s=process_cpu_s, started_at=1_700_000_000.0)


def test_contention_names_the_process_only_when_something_of_its_own_ran_beside_the_call() -> None:
    one_at_a_time = [16.01 * i for i in range(10)]  # one after another: 160 ms of wall time
    quiet = verdict(_contended_run(one_at_a_time, cpu_ms=6.0, process_cpu_s=0.061))
    assert "25% of each call is contention with nothing else of your process running" in quiet
    assert "your process was busy" not in quiet
    # The same calls beside a thread that burned 100 ms of CPU more, or beside each other.
    spinning = verdict(_contended_run(one_at_a_time, cpu_ms=6.0, process_cpu_s=0.16))
    overlapping = verdict(_contended_run([10.0 * i for i in range(10)], cpu_ms=6.0, process_cpu_s=0.061))
    for text in (spinning, overlapping):
        assert "; your process was busy: 25% of each call is contention (other calls or threads" in text
    # Async calls' CPU is not measured: the causes are listed, none is chosen.
    unknown = verdict(_contended_run(one_at_a_time, cpu_ms=None, process_cpu_s=0.061))
    assert "; your side was late: 25% of each call is contention" in unknown
    # A second between calls (the program slept, or worked): what else ran then is not known.
    spaced = verdict(_contended_run([1016.0 * i for i in range(10)], cpu_ms=6.0, process_cpu_s=0.061))
    assert "; your side was late: 25% of each call is contention" in spaced
