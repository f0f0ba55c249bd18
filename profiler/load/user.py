"""Locust users that call the OpenAI API through the instrumented SDK: subclass :class:`OpenAIUser`.

Importing this module (a locustfile does) registers the profiler's hooks with
Locust: its ``--profiler-…`` options, the master's and the workers' halves of
the run, and their messages. Write tasks as for any Locust user, calling the
SDK through ``self.client`` (an ``openai.OpenAI`` pointed at ``--host``)::

    class Chat(OpenAIUser):
        @task
        def ask(self) -> None:
            self.client.chat.completions.create(model="gpt-4o-mini", messages=[...])

Each task run is one of ``--profiler-requests`` iterations; every SDK call in
it is one line of the merged ``requests.jsonl`` and one Locust request.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable
from typing import Any

import gevent
import openai
from locust import User, events
from locust import runners as locust_runners
from locust.runners import MasterRunner, WorkerRunner

from profiler.load.master import MasterSide
from profiler.load.merge import CALLS, DONE, GRANT, WANT
from profiler.load.options import LoadOptions, add_arguments
from profiler.load.worker import WorkerSide

_sides: dict[str, Any] = {}  # "master", "worker": this process's halves (a local runner has both)
DUMMY_KEY = "sk-profiler-load"  # what a user without OPENAI_API_KEY sends (the simulator takes any)


def worker_side() -> WorkerSide:
    side = _sides.get("worker")
    if side is None:
        raise RuntimeError("profiler.load: no worker side (is this a Locust worker or local run?)")
    return side


@events.init_command_line_parser.add_listener
def _options(parser: Any, **_: Any) -> None:
    add_arguments(parser)


def _tolerate_silence(heartbeats: int) -> None:
    """Let a worker miss more heartbeats (one a second) before the master calls it missing.

    Locust has no option for it: its master reads the module's ``HEARTBEAT_LIVENESS``
    each time, so setting that is enough. When the last worker goes missing, Locust
    stops the test; workers sharing a busy machine's CPU can miss three in a row.
    """
    if heartbeats > 0:
        locust_runners.HEARTBEAT_LIVENESS = heartbeats


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    _sides.clear()
    if runner is None:
        return
    if isinstance(runner, MasterRunner):
        _tolerate_silence(LoadOptions.of(environment.parsed_options).heartbeat_liveness)
    if not isinstance(runner, WorkerRunner):
        master = _sides["master"] = MasterSide(environment)
        runner.register_message(WANT, master.on_want)
        runner.register_message(CALLS, master.on_calls)
        runner.register_message(DONE, master.on_done)
    if not isinstance(runner, MasterRunner):
        worker = _sides["worker"] = WorkerSide(environment)
        runner.register_message(GRANT, worker.on_grant)
    # Locust fires ``quitting`` listeners last-added first, and its runner added its own (which
    # stops the runner, and on a worker tells the master it quits) when it was made: after it, ours
    # run first.
    environment.events.quitting.add_listener(_quitting)
    if not isinstance(runner, WorkerRunner):
        _report_before_quit(runner)


def _report_before_quit(runner: Any) -> None:
    """A headless ``--run-time`` quits the runner before the ``quitting`` event: the master then gets
    the workers' reports and writes the run first, while it can still hear them."""
    quit_runner = runner.quit

    @functools.wraps(quit_runner)
    def quit() -> None:
        _quitting(runner.environment)
        quit_runner()

    runner.quit = quit


@events.test_start.add_listener
def _test_start(environment: Any, **_: Any) -> None:
    for side in _sides.values():
        side.test_start()


@events.test_stop.add_listener
def _test_stop(environment: Any, **_: Any) -> None:
    if "worker" in _sides:
        _sides["worker"].test_stop()
    if "master" in _sides:
        _sides["master"].test_stop()


def _quitting(environment: Any, **_: Any) -> None:
    """Before Locust's own: the worker sends what it did before its "quit", the master waits for it."""
    if "worker" in _sides:
        _sides["worker"].test_stop()
    if "master" in _sides:
        _sides["master"].quitting()


def _counted(task: Callable[..., Any]) -> Callable[..., Any]:
    """A task run as one of ``--profiler-requests``; an API failure (the trace has it) is not raised."""
    if getattr(task, "_profiler_counted", False):
        return task

    @functools.wraps(task)
    def run(user: Any, *args: Any, **kwargs: Any) -> None:
        side = worker_side()
        if not side.take():
            while True:  # nothing left to do: idle until the master stops the test
                gevent.sleep(60)
        failed_before = side.failed_calls
        try:
            task(user, *args, **kwargs)
        except Exception:
            if side.failed_calls == failed_before:
                raise  # not an API call's failure: Locust reports it as the task's error
        finally:
            side.iteration_ended()

    run._profiler_counted = True  # type: ignore[attr-defined]
    return run


class OpenAIUser(User):
    """A Locust user with ``self.client``, an instrumented ``openai.OpenAI`` for ``--host``."""

    abstract = True
    client: openai.OpenAI

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        wrapped: dict[int, Callable[..., Any]] = {}
        cls.tasks = [
            wrapped.setdefault(id(t), _counted(t)) if callable(t) and not isinstance(t, type) else t
            for t in cls.tasks
        ]

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self._due: float | None = None  # with --profiler-rate: when this user's next task is due

    def wait_time(self) -> float:
        """Closed loop (no wait) unless ``--profiler-rate``: then each user's tasks are due one period
        apart, from a random phase, and a late one is caught up (the rate is kept on average)."""
        rate = worker_side().options.per_user_rate
        if not rate or self._due is None:
            return 0.0
        self._due += 1.0 / rate
        return max(0.0, self._due - time.monotonic())

    def on_start(self) -> None:
        options = worker_side().options
        self.client = openai.OpenAI(
            base_url=self.host or os.environ.get("OPENAI_BASE_URL") or None,
            api_key=os.environ.get("OPENAI_API_KEY") or DUMMY_KEY,
            timeout=options.timeout or 60.0,
            max_retries=options.max_retries,
        )
        if options.per_user_rate:
            # Users all spawn at once; each starts at a random point of its period, so that their
            # calls spread over it instead of coming in one burst a period.
            gevent.sleep(random.uniform(0.0, 1.0 / options.per_user_rate))
            self._due = time.monotonic()

    def on_stop(self) -> None:
        self.client.close()
