"""The master's half of a distributed run: hand out the iterations, gather the calls, write one run.

The run is written once: when every granted iteration has been reported done
(then the master quits, and its workers with it); or else when Locust stops the
test first (its last worker went missing, the web UI's stop): once every worker
that took iterations has reported done, or ``DONE_WAIT_S`` later, from whatever
the workers had sent — a headless master then quits rather than wait for
iterations no worker will run; or else when Locust quits (a ``--run-time``,
Ctrl-C). Runs under gevent.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import gevent

from profiler.load.merge import GRANT, MergedCalls, WorkerTotals
from profiler.load.options import LoadOptions
from profiler.modes.common import served_requests
from profiler.paths import default_output_dir
from profiler.runs import Run, RunConfig, TargetInfo
from profiler.target import redact_url

DONE_WAIT_S = 10.0  # after a stop, how long the workers get to report what they did


class MasterSide:
    def __init__(self, environment: Any) -> None:
        self.environment = environment
        parsed = environment.parsed_options
        if parsed is not None:  # the users share the rate: every worker learns how many there are
            parsed.profiler_users = getattr(parsed, "num_users", None) or 1
        self._new_test()

    def _new_test(self) -> None:
        """One test's books (the web UI starts one after another in one process)."""
        self.options = LoadOptions.of(self.environment.parsed_options)
        self.remaining: int | None = self.options.requests or None
        self.granted: Counter[str] = Counter()
        self.merged = MergedCalls(time.time(), self.options.keep)
        self._started = time.perf_counter()
        self.run: Run | None = None
        self._writing = False  # a write has begun: one run, however many ends a test meets
        self._stopped: float | None = None  # when the test was stopped: the end of its wall time

    def test_start(self) -> None:
        parsed = self.environment.parsed_options
        runner = self.environment.runner
        if parsed is not None and getattr(runner, "target_user_count", None):
            # Started from the web UI: the users are the ones asked for there, not -u's.
            parsed.profiler_users = runner.target_user_count
        self._new_test()

    # --- messages from the workers ---------------------------------------------------------------

    def on_want(self, environment: Any, msg: Any) -> None:
        wanted = int(msg.data["n"])
        granted = wanted if self.remaining is None else min(wanted, self.remaining)
        if self.remaining is not None:
            self.remaining -= granted
        self.granted[msg.node_id] += granted
        environment.runner.send_message(GRANT, {"n": granted}, client_id=msg.node_id)

    def on_calls(self, environment: Any, msg: Any) -> None:
        data = msg.data
        self.merged.add_records(str(data["worker"]), float(data["started_at"]), data["records"])

    def on_done(self, environment: Any, msg: Any) -> None:
        self.merged.add_totals(WorkerTotals.from_dict(msg.data))
        if self.complete:
            self.write(interrupted=False)
            gevent.spawn(environment.runner.quit)  # not from this greenlet: quit kills the runner's

    @property
    def complete(self) -> bool:
        """Every iteration granted, and reported done (a worker reports once, when it has none left)."""
        return self.remaining == 0 and self.merged.iterations == self.options.requests

    # --- the run ---------------------------------------------------------------------------------

    def test_stop(self) -> None:
        """Locust stopped the test: if it is not complete, write what the workers report, then end."""
        if self.run is None and not self.complete:
            self._stopped = self._stopped or time.perf_counter()
            gevent.spawn(self._write_when_reported)

    def _write_when_reported(self) -> None:
        self._wait_for_reports()
        if self.run is not None or self._writing:  # it completed meanwhile, or Locust quit
            return
        self.write(interrupted=True)
        parsed = self.environment.parsed_options
        if parsed is not None and getattr(parsed, "headless", False):
            gevent.spawn(self.environment.runner.quit)

    def _wait_for_reports(self) -> None:
        """Until every worker that took iterations (without ``--profiler-requests``: every worker
        connected) has reported done, or ``DONE_WAIT_S``."""
        deadline = time.monotonic() + DONE_WAIT_S
        while time.monotonic() < deadline and not self._expected_reports() <= set(self.merged.totals):
            gevent.sleep(0.1)

    def _expected_reports(self) -> set[str]:
        if self.remaining is not None:
            return set(self.granted)
        clients = getattr(self.environment.runner, "clients", None)  # a local runner has none
        return {client.id for client in clients.all} if clients is not None else set()

    def quitting(self) -> None:
        """Locust quits (Ctrl-C, SIGTERM, ``--run-time``): called before Locust's own quitting, which
        stops the runner, so the workers can still report. Stop the test, so every worker sends what
        it did, wait for their reports, and write the run; or wait for a write already under way."""
        if self.run is None and not self._writing:
            self._stopped = self._stopped or time.perf_counter()
            runner = self.environment.runner
            if not self.complete and runner.state not in ("stopped", "stopping"):
                runner.stop()  # the workers' test_stop sends their calls and totals
            self._wait_for_reports()
            if self.run is None and not self._writing:
                self.write(interrupted=not self.complete)
        while self.run is None and self._writing:  # another greenlet's write: the process waits for it
            gevent.sleep(0.05)

    def write(self, *, interrupted: bool) -> Run | None:
        """Write the run, once: None when a write has already begun."""
        if self._writing:
            return self.run
        self._writing = True
        from profiler.output import OutputContext, write_run
        from profiler.report.console import make_console

        # From the test's start to its stop, not to this write: waiting for the workers' reports
        # is no part of the test.
        wall_s = (self._stopped or time.perf_counter()) - self._started
        options = self.options
        directory = options.directory or default_output_dir()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            run = self.merged.run(
                wall_s=wall_s, config=self._config(), target=self._target(directory), interrupted=interrupted
            )
            write_run(run, OutputContext(directory, [], [], make_console()))
        except BaseException:
            self._writing = False  # nobody waits for a write that failed
            raise
        self.run = run
        return run

    def _config(self) -> RunConfig:
        options = self.options
        return RunConfig(
            source="locust",
            requests=options.requests or None,
            concurrency=options.users or None,
            client="locust",
            rate=options.rate,
            arrival="constant" if options.rate else None,
            stream=options.stream,
            local_work_ms=options.local_work_ms,
            model=options.model,
            n=options.choices,
            api="chat.completions",
            profiler="none",
            max_retries=options.max_retries,
            workers=len(self.merged.totals) or None,
        )

    def _target(self, directory: Path) -> TargetInfo:
        host = self.environment.host or ""
        embedded = bool(self.options.scenario)
        return TargetInfo(
            embedded_simulator=embedded,
            base_url=None if embedded else redact_url(host),
            scenario=self.options.scenario or None,
            tls=host.startswith("https://"),
            requests_served=served_requests(directory / "ground_truth.jsonl", host) if embedded else None,
        )
