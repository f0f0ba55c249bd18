"""An embedded OpenAI-compatible API server (chat, Responses, completions, embeddings, models)
with scripted latency and faults.

    with SimulatorProcess(load_scenario("flaky"), ground_truth_path=Path("gt.jsonl")) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test")

Every request it receives is logged with what it really did (delays, fault),
which is the ground truth a profiler's measurements are checked against.
"""

from typing import Any

from .process import SimulatorError, SimulatorProcess
from .scenario import BUILTIN_SCENARIOS, FAULT_KINDS, Scenario, ScenarioError, load_scenario
from .tls import client_ssl_context

__all__ = [
    "BUILTIN_SCENARIOS",
    "FAULT_KINDS",
    "Scenario",
    "ScenarioError",
    "SimulatorError",
    "SimulatorProcess",
    "client_ssl_context",
    "create_app",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    # The ASGI app pulls in Starlette and the API modules; a parent that only starts a
    # SimulatorProcess (or a CLI refusing a bad option) should not pay for that import.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
