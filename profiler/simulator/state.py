"""What every request of one simulator shares; touched only from the event loop thread, so no locks."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .api.reply import Answer
from .api.responses_store import ResponseStore
from .faults import FaultPlan
from .ground_truth import GroundTruthLog
from .headers import RateLimitBudget
from .latency import LatencyModel, ReplyTiming
from .scenario import Scenario

__all__ = ["ReplyPlan", "SimulatorState"]


@dataclass(frozen=True)
class ReplyPlan:
    fault: str | None
    timing: ReplyTiming


class SimulatorState:
    def __init__(self, scenario: Scenario, log: GroundTruthLog | None) -> None:
        self.scenario = scenario
        self.log = log
        self.faults = FaultPlan(scenario)
        self.latency = LatencyModel(scenario)
        self.content_rng = random.Random(f"{scenario.seed}:content")
        self.budget = RateLimitBudget()
        self.system_fingerprint = f"fp_{random.Random(f'{scenario.seed}:fp').getrandbits(40):010x}"
        self.store = ResponseStore()
        self.in_flight = 0  # requests taken and not yet logged (settle.py waits for none)
        self.finished = 0  # requests logged, or that would have been without a log

    def plan(self, answer: Answer) -> ReplyPlan:
        # One fault draw and one timing per request, each from its own seeded stream, so a
        # request's plan depends only on the seed and its arrival order, never on how
        # other requests interleave.
        fault = self.faults.draw()
        if fault == "truncated_stream" and not answer.stream:
            fault = None  # there is no stream to cut short
        if answer.wait == "generate":
            timing = self.latency.plan(stream=answer.stream, tokens=answer.tokens)
        elif answer.wait == "lookup":
            timing = self.latency.lookup()
        else:
            timing = ReplyTiming(wait_ms=0.0, token_gaps_ms=())
        return ReplyPlan(fault, timing)
