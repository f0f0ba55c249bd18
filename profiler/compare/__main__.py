"""``python -m profiler.compare RUN_A RUN_B``: the command line of :mod:`profiler.compare`."""

from __future__ import annotations

import argparse
import json
import math
import sys

from profiler.cli_parser import OneLineParser
from profiler.compare import compare_runs, comparison_document, fail_over_checks
from profiler.compare.render import print_comparison
from profiler.report.console import make_console
from profiler.runs import NotARunError, load_run

EXIT_OK, EXIT_WORSE, EXIT_USAGE = 0, 1, 2


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m profiler.compare",
        description=(
            "Compare two profiler runs (output directories of python -m profiler.run): latency and "
            "per-phase p50/p99 changes, error rates, TTFT/ITL/TPOT for streams, and the local "
            "functions whose self time per request changed most. A is the baseline; every change "
            "is B − A, and Δ% is (B − A) / A. See docs/compare.md."
        ),
        epilog=(
            "examples:\n"
            "  python -m profiler.compare profiles/main profiles/branch\n"
            "  python -m profiler.compare base/ new/ --fail-over 20          # CI gate\n"
            "  python -m profiler.compare base/ new/ --fail-over 20 --fail-over-errors 1\n"
            "  python -m profiler.compare base/ new/ --json > comparison.json\n"
            "\n"
            "the --fail-over rule: fail when B's latency p50 or p99 is more than PCT percent above\n"
            "A's, or B's error rate is more than POINTS percentage points above A's (POINTS = PCT\n"
            "unless --fail-over-errors is given). Exactly at the limit passes.\n"
            "\n"
            "exit status: 0 ok, 1 --fail-over exceeded, 2 bad usage or a directory that is not a run"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_a", metavar="RUN_A", help="the baseline run's output directory")
    parser.add_argument("run_b", metavar="RUN_B", help="the run to judge against it")
    parser.add_argument(
        "--fail-over",
        type=_non_negative_float,
        metavar="PCT",
        help="exit 1 when latency p50 or p99 rose by more than PCT percent, or the error rate by "
        "more than PCT percentage points (e.g. --fail-over 10: 400 → 441 ms fails, 2%% → 11%% passes)",
    )
    parser.add_argument(
        "--fail-over-errors",
        type=_non_negative_float,
        metavar="POINTS",
        help="with --fail-over: allow the error rate to rise by POINTS percentage points instead "
        "of PCT (e.g. 0 fails on any new failure)",
    )
    parser.add_argument(
        "--top",
        type=_positive_int,
        default=10,
        metavar="N",
        help="how many functions to list, largest change in self time first (default: 10)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the comparison as JSON (schema profiler.compare/1) instead"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.fail_over_errors is not None and args.fail_over is None:
        parser.error("--fail-over-errors needs --fail-over")
    try:
        run_a, run_b = load_run(args.run_a), load_run(args.run_b)
    except NotARunError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return EXIT_USAGE
    comparison = compare_runs(run_a, run_b, top=args.top)
    checks = (
        None
        if args.fail_over is None
        else fail_over_checks(comparison, args.fail_over, args.fail_over_errors)
    )
    if args.json:
        document = comparison_document(comparison, checks, args.fail_over, args.fail_over_errors)
        print(json.dumps(document, indent=2))
        for check in checks or []:
            if not check.passed:  # the JSON goes to a file in CI; the log still says why
                sys.stderr.write(f"{parser.prog}: {check.name} got worse: {check.detail}\n")
    else:
        print_comparison(make_console(), comparison, checks)
    return EXIT_WORSE if checks and not all(check.passed for check in checks) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
