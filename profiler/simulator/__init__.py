"""An embedded OpenAI-compatible Chat Completions server with scripted latency and faults.

    with SimulatorProcess(load_scenario("flaky"), ground_truth_path=Path("gt.jsonl")) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test")

Every request it receives is logged with what it really did (delays, fault),
which is the ground truth a profiler's measurements are checked against.
"""

from .app import create_app
from .process import SimulatorError, SimulatorProcess
from .scenario import BUILTIN_SCENARIOS, FAULT_KINDS, Scenario, ScenarioError, load_scenario

__all__ = [
    "BUILTIN_SCENARIOS",
    "FAULT_KINDS",
    "Scenario",
    "ScenarioError",
    "SimulatorError",
    "SimulatorProcess",
    "create_app",
    "load_scenario",
]
