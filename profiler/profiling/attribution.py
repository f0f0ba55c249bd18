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
from dataclasses import dataclass
from pathlib import PurePath

from pyinstrument.frame import Frame
from pyinstrument.session import Session

from profiler.runs.model import Hotspot, ProfileAttribution

NETWORK = "network"
BACKOFF = "backoff"
IDLE = "idle"  # a thread waiting for another thread: not work, not network
LOCAL = "local"


@dataclass(frozen=True, slots=True)
class WaitRule:
    """Claims a function by file name, by function name, or, given both, by both at once."""

    category: str
    files: frozenset[str] = frozenset()  # file names (last path parts)
    functions: frozenset[str] = frozenset()  # exact function names (cProfile's C names included)
    caller_functions: frozenset[str] = frozenset()  # for sleeps: only when called from one of these

    def matches(self, filename: str, function: str) -> bool:
        in_files = _file_name(filename) in self.files
        in_functions = function in self.functions
        if self.files and self.functions:
            return in_files and in_functions
        return in_files or in_functions


def _file_name(filename: str) -> str:
    return PurePath(filename).name if filename not in ("~", "") else filename


WAIT_RULES: tuple[WaitRule, ...] = (
    WaitRule(
        BACKOFF,
        functions=frozenset({"<built-in method time.sleep>", "sleep"}),
        caller_functions=frozenset({"_sleep_for_retry"}),
    ),
    WaitRule(NETWORK, files=frozenset({"socket.py", "ssl.py", "selectors.py"})),
    WaitRule(
        NETWORK,
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
# pyinstrument sees no C functions: a socket read shows as the self time of the innermost
# Python frame that made it (httpcore's backend stream), a sleep as its caller's self time.
PYINSTRUMENT_RULES: tuple[WaitRule, ...] = (
    WaitRule(
        BACKOFF,
        functions=frozenset({"sleep", "time.sleep"}),
        caller_functions=frozenset({"_sleep_for_retry"}),
    ),
    WaitRule(BACKOFF, functions=frozenset({"_sleep_for_retry"})),
    WaitRule(
        NETWORK,
        files=frozenset({"<built-in>"}),
        functions=frozenset(
            {
                "socket.recv",
                "socket.recv_into",
                "socket.send",
                "socket.sendall",
                "socket.connect",
                "socket.getaddrinfo",
                "_SSLSocket.read",
                "_SSLSocket.write",
                "_SSLSocket.do_handshake",
                "select.select",
                "poll.poll",
                "epoll.poll",
            }
        ),
    ),
    WaitRule(
        IDLE, files=frozenset({"<built-in>"}), functions=frozenset({"sleep", "time.sleep", "lock.acquire"})
    ),
    WaitRule(NETWORK, functions=frozenset({"[await]"})),
    WaitRule(NETWORK, files=frozenset({"socket.py", "ssl.py", "selectors.py"})),
    WaitRule(
        NETWORK,
        files=frozenset({"sync.py", "anyio.py"}),  # httpcore2/_backends/
        functions=frozenset({"read", "write", "connect_tcp", "start_tls", "sleep"}),
    ),
    WaitRule(IDLE, files=frozenset({"threading.py"})),
)


def classify(
    filename: str, function: str, callers: Iterable[str] = (), rules: tuple[WaitRule, ...] = WAIT_RULES
) -> str:
    """The category of a function's own time, by the first rule that claims it."""
    caller_names = set(callers)
    for rule in rules:
        if rule.caller_functions:
            if function in rule.functions and caller_names & rule.caller_functions:
                return rule.category
            continue
        if rule.matches(filename, function):
            return rule.category
    return LOCAL


def _categories() -> dict[str, float]:
    return dict.fromkeys((NETWORK, BACKOFF, IDLE, LOCAL), 0.0)


def attribute_cprofile(stats: pstats.Stats, top: int = 10) -> ProfileAttribution:
    """Split a cProfile's self time by category; list the top local functions."""
    seconds = _categories()
    local: list[Hotspot] = []
    for (filename, line, function), (_cc, calls, self_time, _cum, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if function in ("sleep", "<built-in method time.sleep>"):
            # A sleep's time splits by caller: the SDK's retry sleep is back-off, others are local waits.
            for (_f, _l, caller), (_c, _n, edge_self, _edge_cum) in callers.items():
                category = BACKOFF if caller == "_sleep_for_retry" else IDLE
                seconds[category] += edge_self
            continue
        category = classify(filename, function)
        seconds[category] += self_time
        if category == LOCAL and function != "<method 'disable' of '_lsprof.Profiler' objects>":
            local.append(Hotspot(function, filename, line, self_time * 1000.0, calls))
    local.sort(key=lambda h: h.self_ms, reverse=True)
    return ProfileAttribution.rounded(seconds, local[:top])


def attribute_pyinstrument(session: Session, top: int = 10) -> ProfileAttribution:
    """Split a pyinstrument session's self time by category, with :data:`PYINSTRUMENT_RULES`.

    pyinstrument samples the stack: it knows time, not how often a function was called.
    """
    seconds = _categories()
    root = session.root_frame(trim_stem=False)
    if root is None:
        return ProfileAttribution.rounded(seconds, ())
    local: dict[tuple[str, str, int], float] = {}
    stack = [root]
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        self_time = (
            frame.time if frame.is_synthetic else frame.total_self_time - _synthetic_children_time(frame)
        )
        if self_time <= 0:
            continue
        owner = frame
        if frame.is_synthetic and frame.parent is not None and frame.function != "[await]":
            owner = frame.parent  # "[self]" time belongs to the frame above it
        function, file = owner.function, owner.file_path or ""
        if function == "[root]":  # the frame pyinstrument puts above combined threads: no code of its own
            continue
        callers = [owner.parent.function] if owner.parent is not None else []
        category = classify(file, function, callers, rules=PYINSTRUMENT_RULES)
        seconds[category] += self_time
        if category == LOCAL:
            key = (function, file, owner.line_no or 0)
            local[key] = local.get(key, 0.0) + self_time
    ranked = sorted(local.items(), key=lambda item: item[1], reverse=True)[:top]
    hotspots = tuple(Hotspot(f, file, line, t * 1000.0, None) for (f, file, line), t in ranked)
    return ProfileAttribution.rounded(seconds, hotspots)


def _synthetic_children_time(frame: Frame) -> float:
    return sum(child.time for child in frame.children if child.is_synthetic)
