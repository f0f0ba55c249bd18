"""Attribution of profile time: network wait, back-off sleep, or local work.

The rule set is data (:data:`WAIT_RULES`): each rule names a category and the
functions it claims, by module file and function name. The first matching
rule wins; a function no rule claims is local work. cProfile sees C functions
(``<method 'recv_into' of '_socket.socket' objects>``), pyinstrument sees the
innermost Python frame (``SyncStream.read`` in httpcore), so rules cover both.
"""

from __future__ import annotations

import pstats
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

NETWORK = "network"
BACKOFF = "backoff"
IDLE = "idle"  # a thread waiting for another thread: not work, not network
LOCAL = "local"


@dataclass(frozen=True, slots=True)
class WaitRule:
    category: str
    files: frozenset[str] = frozenset()  # file names (last path parts) whose every function matches
    functions: frozenset[str] = frozenset()  # exact function names (cProfile's C names included)
    caller_functions: frozenset[str] = frozenset()  # for sleeps: only when called from one of these

    def matches(self, filename: str, function: str) -> bool:
        if function in self.functions and not self.caller_functions:
            return True
        return bool(self.files) and _file_name(filename) in self.files


def _file_name(filename: str) -> str:
    return PurePath(filename).name if filename not in ("~", "") else filename


WAIT_RULES: tuple[WaitRule, ...] = (
    WaitRule(
        BACKOFF,
        functions=frozenset({"<built-in method time.sleep>", "sleep"}),
        caller_functions=frozenset({"_sleep_for_retry"}),
    ),
    WaitRule(
        NETWORK,
        files=frozenset({"socket.py", "ssl.py", "selectors.py"}),
        functions=frozenset(
            {
                "<method 'recv' of '_socket.socket' objects>",
                "<method 'recv_into' of '_socket.socket' objects>",
                "<method 'send' of '_socket.socket' objects>",
                "<method 'sendall' of '_socket.socket' objects>",
                "<method 'connect' of '_socket.socket' objects>",
                "<method 'connect_ex' of '_socket.socket' objects>",
                "<method 'read' of '_ssl._SSLSocket' objects>",
                "<method 'write' of '_ssl._SSLSocket' objects>",
                "<method 'do_handshake' of '_ssl._SSLSocket' objects>",
                "<built-in method _socket.getaddrinfo>",
                "<method 'poll' of 'select.poll' objects>",
                "<method 'poll' of 'select.epoll' objects>",
                "<built-in method select.select>",
                "<function create_connection>",
            }
        ),
    ),
    WaitRule(
        IDLE,
        functions=frozenset(
            {
                "<method 'acquire' of '_thread.lock' objects>",
                "<method 'acquire' of '_thread.RLock' objects>",
                "<built-in method _thread.start_new_thread>",
            }
        ),
    ),
)

# pyinstrument's innermost Python frames for the same waits.
_PYINSTRUMENT_NETWORK_FUNCTIONS = frozenset(
    {"read", "write", "connect_tcp", "start_tls", "create_connection"}
)
_PYINSTRUMENT_NETWORK_FILES = frozenset({"sync.py", "anyio.py", "socket.py", "ssl.py", "selectors.py"})


def classify(filename: str, function: str, callers: Iterable[str] = ()) -> str:
    """The category of a function's own time, by the first rule that claims it."""
    caller_names = set(callers)
    for rule in WAIT_RULES:
        if rule.caller_functions:
            if function in rule.functions and caller_names & rule.caller_functions:
                return rule.category
            continue
        if rule.matches(filename, function):
            return rule.category
    return LOCAL


@dataclass(slots=True)
class Hotspot:
    function: str
    file: str
    line: int
    self_s: float
    calls: int

    @property
    def label(self) -> str:
        return f"{self.function} ({_file_name(self.file)}:{self.line})"


@dataclass(slots=True)
class Attribution:
    """Where a profile's time went. ``local_s`` excludes every wait."""

    seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys((NETWORK, BACKOFF, IDLE, LOCAL), 0.0)
    )
    hotspots: list[Hotspot] = field(default_factory=list)  # local functions by self time

    def to_json(self) -> dict[str, object]:
        return {
            "seconds": {key: round(value, 6) for key, value in self.seconds.items()},
            "hotspots": [
                {
                    "function": h.function,
                    "file": h.file,
                    "line": h.line,
                    "self_ms": round(h.self_s * 1000, 3),
                    "calls": h.calls,
                }
                for h in self.hotspots
            ],
        }


def attribute_cprofile(stats: pstats.Stats, top: int = 10) -> Attribution:
    """Split a cProfile's self time by category; list the top local functions."""
    attribution = Attribution()
    local: list[Hotspot] = []
    for (filename, line, function), (_cc, calls, self_time, _cum, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if function in ("sleep", "<built-in method time.sleep>"):
            # A sleep's time splits by caller: the SDK's retry sleep is back-off, others are local waits.
            for (_f, _l, caller), (_c, _n, edge_self, _edge_cum) in callers.items():
                category = BACKOFF if caller == "_sleep_for_retry" else IDLE
                attribution.seconds[category] += edge_self
            continue
        category = classify(filename, function)
        attribution.seconds[category] += self_time
        if category == LOCAL and function != "<method 'disable' of '_lsprof.Profiler' objects>":
            local.append(Hotspot(function, filename, line, self_time, calls))
    local.sort(key=lambda h: h.self_s, reverse=True)
    attribution.hotspots = local[:top]
    return attribution
