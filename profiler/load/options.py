"""The options a load test adds to Locust's command line, and what they mean (no Locust import).

``python -m profiler.run --locust`` turns its usual workload options into these;
a master started by hand takes them directly (``locust -f … --profiler-requests 100``).
The master hands them to its workers with every spawn message, so they are given once.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from profiler.workload.prompt import CHOICES, MODEL

PREFIX = "profiler_"


class _Parser(Protocol):
    def add_argument(self, *names: str, **options: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class LoadOptions:
    requests: int = 0  # task iterations in all (one SDK call each, for the sample workload); 0: no bound
    rate: float | None = None  # open loop: task iterations per second in all, spread over the users
    stream: bool = False
    local_work_ms: float = 0.0
    model: str = MODEL
    choices: int = CHOICES
    timeout: float | None = None  # the client's timeout per attempt (None: 60 s)
    max_retries: int = 2
    output_dir: str = ""  # where the master writes the run ("": profiles/<UTC timestamp>/)
    scenario: str = ""  # the embedded simulator's scenario, when the target is one (its log is in output_dir)
    keep: int = 20_000  # calls kept whole, in all; later ones go as mergeable figures
    users: int = 0  # set by the master: how many users share --profiler-rate
    heartbeat_liveness: int = 0  # master: heartbeats a worker may miss before it is "missing" (0: Locust's 3)

    @classmethod
    def of(cls, parsed: object) -> LoadOptions:
        """From Locust's parsed options (an ``argparse.Namespace``)."""
        values: Mapping[str, Any] = vars(parsed) if parsed is not None else {}
        names = (f.name for f in fields(cls))
        found = {name: values[PREFIX + name] for name in names if values.get(PREFIX + name) is not None}
        return cls(**found)

    @property
    def per_user_rate(self) -> float | None:
        return None if not self.rate else self.rate / max(1, self.users)

    @property
    def directory(self) -> Path | None:
        return Path(self.output_dir) if self.output_dir else None


def add_arguments(parser: _Parser) -> None:
    """Locust's ``init_command_line_parser`` hook: our options, each ``--profiler-…``."""
    group = parser.add_argument_group("profiler") if hasattr(parser, "add_argument_group") else parser
    add = group.add_argument
    add("--profiler-requests", type=int, default=0, help="task runs in all workers (0: no bound)")
    add("--profiler-rate", type=float, default=None, help="open loop: iterations per second in all")
    add("--profiler-stream", action="store_true", default=False, help="sample workload: stream the replies")
    add("--profiler-local-work-ms", type=float, default=0.0, help="sample workload: CPU work per reply")
    add("--profiler-model", default=MODEL, help=f"sample workload: the model (default {MODEL})")
    add("--profiler-choices", type=int, default=CHOICES, help="sample workload: the API's n")
    add("--profiler-timeout", type=float, default=None, help="client timeout per attempt, seconds")
    add("--profiler-max-retries", type=int, default=2, help="the SDK's retries")
    add("--profiler-output-dir", default="", help="where the master writes the merged run")
    add("--profiler-scenario", default="", help="the target is the embedded simulator with this scenario")
    add("--profiler-keep", type=int, default=20_000, help="calls kept whole (then figures only)")
    add("--profiler-users", type=int, default=0, help=argparse.SUPPRESS)
    add(
        "--profiler-heartbeat-liveness",
        type=int,
        default=0,
        help="master: seconds of missed heartbeats before a worker counts as missing (0: Locust's 3)",
    )
