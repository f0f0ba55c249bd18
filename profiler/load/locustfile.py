"""``locust -f profiler/load/locustfile.py``: the sample ChatGPT workload as Locust users.

Each user makes the sample workload's request (:func:`profiler.workload.prompt.ask`)
in a loop; the ``--profiler-…`` options shape it (see docs/load.md).
"""

from __future__ import annotations

from locust import task

from profiler.load.user import OpenAIUser, worker_side
from profiler.workload.prompt import WorkloadConfig, ask


class SampleUser(OpenAIUser):
    """One user of the sample workload: build the messages, call, pull out the titles."""

    @task
    def ask(self) -> None:
        options = worker_side().options
        config = WorkloadConfig(
            stream=options.stream, local_work_ms=options.local_work_ms, model=options.model, n=options.choices
        )
        ask(self.client, config)
