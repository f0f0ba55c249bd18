"""Which fault, if any, each request gets."""

from __future__ import annotations

import random

from .scenario import FAULT_KINDS, Scenario

__all__ = ["ConnectionDropped", "FaultPlan"]


class ConnectionDropped(Exception):
    """Raised after a partial body on purpose: an ASGI server closes the connection when an app
    fails after the response started, which is exactly the `disconnect` fault."""


class FaultPlan:
    """Draws one fault kind (or None) per request, in arrival order, from `random.Random(seed)`.

    Exactly one draw per request, whatever the outcome, so the n-th request's
    fault depends only on the seed and n.
    """

    def __init__(self, scenario: Scenario) -> None:
        self._faults = [(kind, scenario.faults[kind]) for kind in FAULT_KINDS if scenario.faults[kind] > 0]
        self._rng = random.Random(scenario.seed)
        self._server_errors = 0

    def draw(self) -> str | None:
        roll = self._rng.random()
        for kind, probability in self._faults:
            if roll < probability:
                return kind
            roll -= probability
        return None

    def next_server_error_status(self) -> int:
        """500 and 503 in turn: clients often treat "broken" and "overloaded" differently."""
        self._server_errors += 1
        return 500 if self._server_errors % 2 == 1 else 503
