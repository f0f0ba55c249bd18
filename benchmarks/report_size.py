"""Time and size of ``report.html`` for 10,000 calls.

The calls are copies of a real run's calls (the flaky scenario, streamed, with
retries and failures), each copy shifted in time after the one before and given
its own ids, so the page holds what a long real run would: the same mix of
phases, retries and errors, over a longer time axis. The run's figures are
derived anew from the copies.

    python benchmarks/report_size.py [--calls 10000] [--from RUN_DIR] [--repeat 5]

Target (issue): ≤ 3 s to write report.html for 10,000 calls, file < 5 MB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai  # noqa: F401  (a run has the SDK loaded already)
from _common import replicate

from profiler.runs import load_run

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--from", dest="source", type=Path, help="an existing run's output directory")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        source = args.source or real_run(Path(scratch) / "real")
        base = load_run(source)
        big = replicate(base, args.calls)

        started = time.perf_counter()
        from profiler.report.html import write_report  # Bokeh's import: paid once per process

        imported = time.perf_counter() - started
        out = Path(scratch) / "report"
        out.mkdir()
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            path = write_report(out, big)
            times.append(time.perf_counter() - started)
        size = path.stat().st_size

    print(f"{args.calls:,} calls (copies of {len(base.calls)} real ones from the flaky scenario, streamed)")
    print(f"import profiler.report.html (Bokeh; openai already loaded, as in a run): {imported:.2f} s")
    print(
        f"write_report: first {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f} s over {args.repeat} runs"
    )
    print(f"first report including the import: {imported + times[0]:.2f} s (target ≤ 3 s)")
    print(f"report.html: {size:,} bytes ({size / 1e6:.2f} MB, target < 5 MB)")


if __name__ == "__main__":
    main()
