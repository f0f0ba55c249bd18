"""A cProfile profile with every wait taken out: ``local.prof``, local work only.

Waiting functions (network, back-off, idle — see :mod:`attribution`) are
removed, and the cumulative time of every caller above them is reduced by the
waiting it contained. cProfile keeps, per call edge, the cumulative time spent
below it; a function's wait is shared out to its callers in proportion to
that edge time, as gprof does. Recursion is cut at the first revisit, so a
recursive function keeps its wait share once.
"""

from __future__ import annotations

import marshal
import pstats
from pathlib import Path
from typing import Any

from profiler.profiling.attribution import LOCAL, classify

Func = tuple[str, int, str]


def _callees(stats: dict[Func, Any]) -> dict[Func, dict[Func, float]]:
    """caller -> {callee: cumulative time of that edge}."""
    callees: dict[Func, dict[Func, float]] = {func: {} for func in stats}
    for callee, (_cc, _nc, _tt, _ct, callers) in stats.items():
        for caller, edge in callers.items():
            callees.setdefault(caller, {})[callee] = edge[3]
    return callees


def _wait_below(stats: dict[Func, Any], is_wait: dict[Func, bool]) -> dict[Func, float]:
    """Seconds of waiting inside each function's cumulative time (itself included)."""
    callees = _callees(stats)
    memo: dict[Func, float] = {}

    def visit(func: Func, path: set[Func]) -> float:
        if func in memo:
            return memo[func]
        if func not in stats:
            return 0.0
        _cc, _nc, tt, ct, _callers = stats[func]
        if is_wait[func]:
            memo[func] = ct
            return ct
        path.add(func)
        total = 0.0
        for callee, edge_ct in callees.get(func, {}).items():
            if callee in path or callee not in stats:
                continue
            callee_ct = stats[callee][3]
            if callee_ct > 0:
                total += visit(callee, path) * min(1.0, edge_ct / callee_ct)
        path.discard(func)
        memo[func] = min(total, max(0.0, ct - tt))
        return memo[func]

    for func in stats:
        visit(func, set())
    return memo


def local_only(stats: pstats.Stats) -> dict[Func, Any]:
    """The profile's raw stats dict with waits removed (pstats' own format)."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    is_wait = {func: classify(func[0], func[2]) != LOCAL or "sleep" in func[2] for func in raw}
    wait = _wait_below(raw, is_wait)
    local: dict[Func, Any] = {}
    for func, (cc, nc, tt, ct, callers) in raw.items():
        if is_wait[func]:
            continue
        keep = 1.0 - (wait[func] / ct if ct > 0 else 0.0)
        edges = {
            caller: (ecc, enc, ett, ect * keep)
            for caller, (ecc, enc, ett, ect) in callers.items()
            if caller in raw and not is_wait[caller]
        }
        local[func] = (cc, nc, tt, max(tt, ct - wait[func]), edges)
    return local


def save_local_profile(stats: pstats.Stats, path: Path) -> Path:
    with path.open("wb") as handle:
        marshal.dump(local_only(stats), handle)
    return path
