"""The worker's half of a distributed run: record every SDK call, report it to Locust, send it on.

Each call that ends is derived into its trace at once, fired as a Locust
``request`` event (request type = operation, name = model or route, response
time, length = output tokens, exception) so Locust's statistics, UI and CSV
work as usual, and queued for the master. Runs under gevent.
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import ExitStack
from typing import Any

from profiler.load.merge import CALLS, DONE, WorkerTotals
from profiler.load.options import LoadOptions
from profiler.load.tickets import Tickets
from profiler.runs.accumulate import FigureAccumulator
from profiler.runs.records import call_record
from profiler.trace.derive import trace_call
from profiler.trace.instrument import collecting
from profiler.trace.model import RequestTrace
from profiler.trace.recording import CallRecording, Collector

BATCH = 200  # calls per message to the master
_STOPPED = frozenset({"GreenletExit", "StopUser"})  # how Locust ends a user's greenlet


class CallFailed(Exception):
    """How a failed call shows in Locust's failures table: its error kind and exception class."""


def locust_name(trace: RequestTrace) -> str:
    return trace.model or trace.api


class WorkerSide:
    """One test on one worker (or on a local runner, which plays master and worker at once)."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        runner = environment.runner
        self.worker = getattr(runner, "client_id", None) or f"{socket.gethostname()}:{os.getpid()}"
        self.options = LoadOptions()
        self.tickets: Tickets | None = None
        self._stack = ExitStack()
        self._collector: Collector | None = None
        self._cpu_before = 0.0
        self._new_test()

    def _new_test(self) -> None:
        """What one test counts (the web UI starts one after another in one process)."""
        self.failed_calls = 0
        self._batch: list[dict[str, Any]] = []
        self._whole = 0
        self._calls = 0
        self._rollup = FigureAccumulator()
        self._done_sent = False

    def on_grant(self, environment: Any, msg: Any) -> None:
        if self.tickets is not None:
            self.tickets.granted(int(msg.data["n"]))

    def send(self, kind: str, data: dict[str, Any]) -> None:
        self.environment.runner.send_message(kind, data)

    # --- Locust events -------------------------------------------------------------------------

    def test_start(self) -> None:
        self._new_test()
        self.options = LoadOptions.of(self.environment.parsed_options)
        self._collector = Collector(self._call_done, keep=False, arrival_times=True)
        self.tickets = Tickets(self.send, self._block, self._finish) if self.options.requests else None
        self._cpu_before = time.process_time()
        self._stack.enter_context(collecting(self._collector))

    def test_stop(self) -> None:
        self._finish()
        self._stack.close()

    # --- the users' side -----------------------------------------------------------------------

    def _block(self) -> int:
        return 2 * max(1, self.environment.runner.user_count)

    def take(self) -> bool:
        return self.tickets is None or self.tickets.take()

    def iteration_ended(self) -> None:
        if self.tickets is not None:
            self.tickets.end()  # the last one calls _finish

    # --- calls ---------------------------------------------------------------------------------

    def _call_done(self, recording: CallRecording) -> None:
        assert self._collector is not None
        if recording.error_type in _STOPPED:  # Locust stopped the user mid-call: Ctrl-C, not a failure
            recording.interrupted, recording.error_kind, recording.error_type = True, None, None
        trace = trace_call(recording, self._collector.origin)
        trace.worker = self.worker
        self._calls += 1
        self.failed_calls += not trace.ok
        self.environment.events.request.fire(
            request_type=trace.operation,
            name=locust_name(trace),
            response_time=trace.e2e * 1000.0,
            response_length=trace.output_tokens or 0,
            exception=None if trace.ok else CallFailed(f"{trace.error_kind}: {trace.error_type}"),
            context={"x_request_id": trace.x_request_id, "worker": self.worker},
            start_time=trace.started_at,
            url=trace.api,
            response=None,
        )
        if self._whole < self.options.keep:
            self._whole += 1
            self._batch.append(call_record(trace))
            if len(self._batch) >= BATCH:
                self._flush()
        else:
            self._rollup.add(trace)

    def _flush(self) -> None:
        if self._batch and self._collector is not None:
            batch, self._batch = self._batch, []
            origin = self._collector.started_at
            self.send(CALLS, {"worker": self.worker, "started_at": origin, "records": batch})

    def _finish(self) -> None:
        if self._done_sent or self._collector is None:
            return
        self._done_sent = True
        self._flush()
        totals = WorkerTotals(
            worker=self.worker,
            started_at=self._collector.started_at,
            iterations=self.tickets.finished if self.tickets else 0,
            calls=self._calls,
            cpu_s=time.process_time() - self._cpu_before,
            rolled_up=self._rollup.to_dict() if self._calls > self._whole else None,
        )
        self.send(DONE, totals.to_dict())
