"""What changed between two runs, and a CI gate (``python -m profiler.compare RUN_A RUN_B``).

A is the baseline, B the candidate. :func:`compare_runs` gives the figures
(:mod:`profiler.compare.deltas`), :mod:`profiler.compare.gate` the
``--fail-over`` rule, :mod:`profiler.compare.render` the console view; the
command line lives in :mod:`profiler.compare.__main__`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profiler.compare.deltas import Comparison, Delta, compare_figures
from profiler.compare.functions import FunctionComparison, FunctionDelta, compare_profiles
from profiler.compare.gate import Check, fail_over_checks
from profiler.compare.verdict import compare_verdict
from profiler.runs import Run
from profiler.runs.documents import run_from_documents

__all__ = [
    "Check",
    "Comparison",
    "Delta",
    "FunctionComparison",
    "FunctionDelta",
    "compare_runs",
    "compare_summaries",
    "compare_verdict",
    "comparison_document",
    "fail_over_checks",
    "main",
]


def compare_runs(a: Run, b: Run, *, top: int = 10) -> Comparison:
    """B against A: the runs' figures, and the ``top`` functions from their profiles.

    Reads the runs' ``local.prof`` (else ``cprofile.prof``); without them the
    comparison says why in ``functions_note`` instead of failing.
    """
    comparison = compare_figures(a, b, a_path=str(a.path), b_path=str(b.path))
    if a.path is None or b.path is None:
        comparison.functions_note = "no profiles to compare (a run has no directory)"
        return comparison
    functions, why_not = compare_profiles(a.path, b.path, comparison.requests_a, comparison.requests_b, top)
    comparison.functions, comparison.functions_note = functions, why_not
    if functions is not None and comparison.requests_a != comparison.requests_b:
        comparison.functions_note = (
            f"A made {comparison.requests_a} requests and B {comparison.requests_b}: "
            "function times are divided by each run's request count"
        )
    return comparison


def comparison_document(
    comparison: Comparison, checks: list[Check] | None, pct: float | None, error_points: float | None
) -> dict[str, Any]:
    """The ``--json`` document (schema ``profiler.compare/1``)."""
    document = comparison.to_dict()
    document["verdict"] = compare_verdict(comparison)
    if checks is not None:
        document["fail_over"] = {
            "pct": pct,
            "error_points": pct if error_points is None else error_points,
            "passed": all(check.passed for check in checks),
            "checks": [check.to_dict() for check in checks],
        }
    return document


def compare_summaries(a: Mapping[str, Any], b: Mapping[str, Any]) -> Comparison:
    """B against A from two ``summary.json`` documents: no files read, no functions compared."""
    return compare_figures(run_from_documents(a, []), run_from_documents(b, []))


def main(argv: list[str] | None = None) -> int:
    """``python -m profiler.compare`` from Python (a notebook): prints the comparison, returns the exit
    status."""
    from profiler.compare.__main__ import main as command_line

    return command_line(argv)
