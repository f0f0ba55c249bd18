"""Time and size of ``report.html`` for 10,000 calls.

The calls are copies of a real run's ``requests.jsonl`` records (the flaky
scenario, streamed, with retries and failures), each copy shifted in time after
the one before and given its own ids, so the page holds what a long real run
would: the same mix of phases, retries and errors, over a longer time axis.
The summary's counts and distributions are recomputed from the copies.

    python benchmarks/report_size.py [--calls 10000] [--from RUN_DIR] [--repeat 5]

Target (issue): ≤ 3 s to write report.html for 10,000 calls, file < 5 MB.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import profiler.monitor.errors  # noqa: F401  (imports openai, as every run already has)
from profiler.report.stats import distribution

REPO = Path(__file__).resolve().parent.parent


def real_run(directory: Path) -> Path:
    """A small real run against the embedded simulator (as a user runs it)."""
    subprocess.run(
        [
            sys.executable, "-m", "profiler.run", "--scenario", "flaky", "--requests", "40",
            "--concurrency", "4", "--stream", "--profiler", "cprofile",
            "--output-dir", str(directory), "--quiet",
        ],
        cwd=REPO,
        check=False,  # exit 1 means some calls failed, which the flaky scenario is for
        capture_output=True,
    )  # fmt: skip
    if not (directory / "summary.json").exists():
        raise SystemExit("the real run wrote no summary.json")
    return directory


def replicate(records: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` records: copies of ``records``, each round shifted to start as the last one ends."""
    span = max(r["offset_ms"] + r["latency_ms"] for r in records)
    copies = []
    for index in range(count):
        round_, original = divmod(index, len(records))
        record = copy.deepcopy(records[original])
        shift = round_ * span
        record["id"] = index + 1
        record["offset_ms"] = round(record["offset_ms"] + shift, 3)
        for attempt in record["attempt_details"]:
            attempt["offset_ms"] = round(attempt["offset_ms"] + shift, 3)
            if attempt["x_request_id"]:
                attempt["x_request_id"] += f"{round_:04x}"
        if record["x_request_id"]:
            record["x_request_id"] += f"{round_:04x}"
        copies.append(record)
    return copies


def _rounded(stats: dict[str, float] | None) -> dict[str, float] | None:
    return None if stats is None else {k: (v if k == "count" else round(v, 3)) for k, v in stats.items()}


def matching_summary(summary: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The real summary with its counts and distributions recomputed for the copies."""
    scaled = copy.deepcopy(summary)
    factor = len(records) / summary["requests"]["started"]
    finished = [r for r in records if not r["interrupted"]]
    failed = sum(1 for r in finished if not r["ok"])
    errors = Counter(r["error_kind"] for r in finished if r["error_kind"])
    attempt_errors = Counter(kind for r in finished for kind in r["attempt_errors"])
    wall_s = max(r["offset_ms"] + r["latency_ms"] for r in records) / 1000.0
    scaled.update(
        requests={"started": len(finished), "succeeded": len(finished) - failed, "failed": failed},
        attempts={
            "total": sum(r["attempts"] for r in finished),
            "retried": sum(r["attempts"] - 1 for r in finished),
        },
        errors=dict(errors),
        attempt_errors=dict(attempt_errors),
        error_rate=round(failed / len(finished), 6),
        error_rates={kind: round(n / len(finished), 6) for kind, n in errors.items()},
        latency_ms=_rounded(distribution(r["latency_ms"] for r in finished)),
        latency_ok_ms=_rounded(distribution(r["latency_ms"] for r in finished if r["ok"])),
        ttft_ms=_rounded(distribution(r["ttft_ms"] for r in finished if r["ok"] and r.get("ttft_ms"))),
        wall_s=round(wall_s, 6),
        split_s={key: round(value * factor, 6) for key, value in summary["split_s"].items()},
        throughput_rps=round(len(finished) / wall_s, 3),
    )
    return scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--from", dest="source", type=Path, help="an existing run's output directory")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        source = args.source or real_run(Path(scratch) / "real")
        summary = json.loads((source / "summary.json").read_text())
        base = [json.loads(line) for line in (source / "requests.jsonl").read_text().splitlines()]
        records = replicate(base, args.calls)
        big_summary = matching_summary(summary, records)

        started = time.perf_counter()
        from profiler.report.html import write_report  # Bokeh's import: paid once per process

        imported = time.perf_counter() - started
        out = Path(scratch) / "report"
        out.mkdir()
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            path = write_report(out, big_summary, records)
            times.append(time.perf_counter() - started)
        size = path.stat().st_size

    print(f"{args.calls:,} calls (copies of {len(base)} real ones from the flaky scenario, streamed)")
    print(f"import profiler.report.html (Bokeh; openai already loaded, as in a run): {imported:.2f} s")
    print(
        f"write_report: first {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f} s over {args.repeat} runs"
    )
    print(f"first report including the import: {imported + times[0]:.2f} s (target ≤ 3 s)")
    print(f"report.html: {size:,} bytes ({size / 1e6:.2f} MB, target < 5 MB)")


if __name__ == "__main__":
    main()
