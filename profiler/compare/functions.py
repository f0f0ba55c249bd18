"""Which functions' local time changed between two runs, from their cProfile profiles.

Self time (cProfile's ``tt``) per request: the runs may have made different
numbers of calls, and a function's total grows with the count. ``local.prof``
(waits taken out) is preferred; ``cprofile.prof`` is used only when both runs
lack it, so the two sides always come from the same kind of profile.
"""

from __future__ import annotations

import pstats
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Func = tuple[str, int, str]
PROFILE_FILES = ("local.prof", "cprofile.prof")
# Interpreter and virtualenv prefixes differ between machines; what follows them names the module.
_INSTALL_PREFIX = re.compile(r"^.*/(?:site-packages|dist-packages|lib/python\d+\.\d+)/")


@dataclass(frozen=True, slots=True)
class FunctionDelta:
    """Self ms per request in each run; None where the function is not in that run's profile."""

    function: str
    file: str
    line: int
    a_ms: float | None
    b_ms: float | None

    @property
    def change_ms(self) -> float:
        return (self.b_ms or 0.0) - (self.a_ms or 0.0)

    @property
    def label(self) -> str:
        if self.file in ("~", ""):
            return self.function
        return f"{self.function} ({Path(self.file).name}:{self.line})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "file": self.file,
            "line": self.line,
            "a_ms_per_request": self.a_ms,
            "b_ms_per_request": self.b_ms,
            "change_ms_per_request": round(self.change_ms, 6),
        }


@dataclass(slots=True)
class FunctionComparison:
    source: str
    requests_a: int
    requests_b: int
    rows: list[FunctionDelta]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "per": "request",
            "requests_a": self.requests_a,
            "requests_b": self.requests_b,
            "rows": [row.to_dict() for row in self.rows],
        }


def self_times(raw_stats: Mapping[Func, Any]) -> dict[Func, float]:
    """Seconds of self time per function, from pstats' raw ``stats`` dict."""
    return {func: entry[2] for func, entry in raw_stats.items()}


def _portable(func: Func) -> Func:
    return (_INSTALL_PREFIX.sub("", func[0]), func[1], func[2])


def _pair(funcs_a: list[Func], funcs_b: list[Func]) -> list[tuple[Func | None, Func | None]]:
    """Match A's functions to B's: same file, line and name; else same file and name when unique.

    The fallback keeps a function that merely moved (an edit above it shifts its line) from
    showing up as one removed and one added.
    """
    by_key_b = {_portable(f): f for f in funcs_b}
    pairs: list[tuple[Func | None, Func | None]] = []
    rest_a: list[Func] = []
    for func in funcs_a:
        match = by_key_b.pop(_portable(func), None)
        if match is None:
            rest_a.append(func)
        else:
            pairs.append((func, match))
    named_a: dict[tuple[str, str], list[Func]] = defaultdict(list)
    named_b: dict[tuple[str, str], list[Func]] = defaultdict(list)
    for func in rest_a:
        named_a[(_portable(func)[0], func[2])].append(func)
    for func in by_key_b.values():
        named_b[(_portable(func)[0], func[2])].append(func)
    for name, group_a in named_a.items():
        group_b = named_b.get(name, [])
        if len(group_a) == 1 and len(group_b) == 1:
            pairs.append((group_a[0], group_b.pop()))
        else:
            pairs.extend((func, None) for func in group_a)
    pairs.extend((None, func) for group in named_b.values() for func in group)
    return pairs


def function_deltas(
    self_a: Mapping[Func, float],
    self_b: Mapping[Func, float],
    requests_a: int,
    requests_b: int,
    top: int = 10,
) -> list[FunctionDelta]:
    """The ``top`` functions by absolute change in self ms per request (unchanged ones left out)."""
    if requests_a <= 0 or requests_b <= 0:
        raise ValueError("self time per request needs at least one request in each run")
    rows = []
    for func_a, func_b in _pair(list(self_a), list(self_b)):
        a_ms = None if func_a is None else self_a[func_a] * 1000.0 / requests_a
        b_ms = None if func_b is None else self_b[func_b] * 1000.0 / requests_b
        shown = func_b or func_a
        assert shown is not None
        row = FunctionDelta(shown[2], shown[0], shown[1], a_ms, b_ms)
        if row.change_ms != 0:
            rows.append(row)
    rows.sort(key=lambda row: abs(row.change_ms), reverse=True)
    return rows[:top]


def _profile_name(dir_a: Path, dir_b: Path) -> str | None:
    for name in PROFILE_FILES:
        if (dir_a / name).is_file() and (dir_b / name).is_file():
            return name
    return None


def _has_profile(directory: Path) -> bool:
    return any((directory / name).is_file() for name in PROFILE_FILES)


def compare_profiles(
    dir_a: Path, dir_b: Path, requests_a: int, requests_b: int, top: int = 10
) -> tuple[FunctionComparison | None, str | None]:
    """(the function comparison, None) or (None, why there is none). Never raises on a bad profile."""
    name = _profile_name(dir_a, dir_b)
    if name is None:
        lacking = [label for label, d in (("A", dir_a), ("B", dir_b)) if not _has_profile(d)]
        why = f"{' and '.join(lacking)} {'has' if len(lacking) == 1 else 'have'} none" if lacking else ""
        return None, "no profiles to compare" + (
            f" ({why}; run with --profiler cprofile or both)" if why else " (A and B have different kinds)"
        )
    if requests_a <= 0 or requests_b <= 0:
        return None, "no profiles to compare (a run made no requests, so there is no time per request)"
    try:
        times_a = self_times(pstats.Stats(str(dir_a / name)).stats)  # type: ignore[attr-defined]
        times_b = self_times(pstats.Stats(str(dir_b / name)).stats)  # type: ignore[attr-defined]
    except (OSError, TypeError, ValueError, EOFError) as exc:
        return None, f"no profiles to compare ({name} could not be read: {exc})"
    rows = function_deltas(times_a, times_b, requests_a, requests_b, top)
    return FunctionComparison(name, requests_a, requests_b, rows), None
