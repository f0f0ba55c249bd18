"""The verdict names the right culprit: unit cases on synthetic summaries, then real runs.

The real runs start at once (they wait on the simulator or burn CPU in turn; the verdicts they
are checked for hold with a margin far wider than what running side by side changes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from profiler.report.verdict import verdict
from profiler.runs import Run
from profiler.runs.documents import run_from_documents
from tests.conftest import run_cli


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

    assert "; your side was late: 17% of each call is contention" in busy(800.0)
    assert busy(800.0).endswith("not network (garbage collection was 80% of it).")
    assert "garbage collection" not in busy(100.0)  # 10% of the contention: not what to name


# The real runs: name -> the options of the run.
_REAL_RUNS = {
    "slow server": ("--scenario", "slow", "--requests", "3"),
    "heavy local work": ("--scenario", "instant", "--local-work-ms", "300", "--requests", "3"),
    "default server, heavy local work": ("--local-work-ms", "300", "--requests", "3"),
}


def _run_verdict(out: Path, *args: str) -> tuple[str, dict[str, Any]]:
    result = run_cli(*args, "--profiler", "cprofile", "--quiet", "--output-dir", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    line = " ".join(result.stdout.split("Verdict:")[1].split("\n\n")[0].split())
    return line, json.loads((out / "summary.json").read_text())


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
