"""What the simulator should do: latency model, fault probabilities, client hints.

A scenario is plain data so it can travel as JSON to a child process and be
saved beside a run's results; all checking happens here, once, so the server
can trust every field.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BUILTIN_SCENARIOS", "FAULT_KINDS", "Scenario", "ScenarioError", "load_scenario"]

FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",
    "server_error",
    "timeout",
    "disconnect",
    "malformed",
    "truncated_stream",
)

# A `timeout` fault must end on its own even if no client ever gives up,
# or a forgotten request would pin a connection for as long as it likes.
MAX_STALL_S = 300.0
# Float sums of probabilities such as 0.1 + 0.2 + 0.7 overshoot 1 by an ulp.
_PROBABILITY_SLACK = 1e-9


class ScenarioError(ValueError):
    """A scenario name, file or field is wrong; the message says which, in one line."""


@dataclass(frozen=True)
class Scenario:
    """How the simulator behaves: delays, reply size and the per-request fault plan.

    A plain reply waits `ttft_ms + output_tokens * token_ms` before answering.
    A stream waits `ttft_ms`, then sends the headers, the role-only chunk and
    the first content chunk, then one content chunk per further token,
    `token_ms` apart. Every delay gets uniform jitter in `[-jitter_ms, +jitter_ms]`,
    clamped at zero.
    """

    name: str = "default"
    seed: int = 0
    ttft_ms: float = 350.0
    token_ms: float = 12.0
    jitter_ms: float = 40.0
    output_tokens: int = 24
    faults: dict[str, float] = field(default_factory=dict)
    retry_after_s: float = 1.0
    stall_s: float = 30.0
    client_timeout_s: float | None = None

    def __post_init__(self) -> None:
        _check_str("name", self.name)
        _check_int("seed", self.seed)
        for name in ("ttft_ms", "token_ms", "jitter_ms", "retry_after_s"):
            _check_number(name, getattr(self, name), minimum=0.0)
        _check_number("stall_s", self.stall_s, minimum=0.0, maximum=MAX_STALL_S)
        _check_int("output_tokens", self.output_tokens, minimum=1)
        if self.client_timeout_s is not None:
            _check_number("client_timeout_s", self.client_timeout_s, minimum=0.0, exclusive_minimum=True)
        # Normalised to every kind in a fixed order, so two scenarios that mean
        # the same thing compare equal and serialise identically.
        object.__setattr__(self, "faults", _normalise_faults(self.faults))

    @property
    def fault_rate(self) -> float:
        """The probability that a request gets any fault at all."""
        return sum(self.faults.values())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: Scenario | None = None) -> Scenario:
        """Build a scenario from JSON-like data; fields it lacks come from `base` (the `default` one)."""
        if not isinstance(data, Mapping):
            raise ScenarioError(f"a scenario must be a JSON object, got {_json_type(data)}")
        known = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in known:
                raise ScenarioError(f"unknown field {key!r} (fields: {', '.join(known)})")
        return dataclasses.replace(base or BUILTIN_SCENARIOS["default"], **data)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Return the built-in scenario of that name, or the one in that JSON file."""
    text = str(name_or_path)
    if text in BUILTIN_SCENARIOS:
        return BUILTIN_SCENARIOS[text]
    path = Path(text)
    looks_like_path = path.suffix.lower() == ".json" or "/" in text or "\\" in text
    if not path.is_file():
        if looks_like_path:
            raise ScenarioError(f"scenario file {text}: no such file")
        raise ScenarioError(f"unknown scenario {text!r} (built-in: {', '.join(BUILTIN_SCENARIOS)})")
    return _load_file(path)


def _load_file(path: Path) -> Scenario:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"scenario file {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"scenario file {path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"scenario file {path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if isinstance(data, dict) and "name" not in data:
        # A file that does not name itself is known by its file name, not as "default".
        data = {**data, "name": path.stem}
    try:
        return Scenario.from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError(f"scenario file {path}: {exc}") from None
    except TypeError as exc:  # pragma: no cover - from_dict checks names first; kept as a last guard
        raise ScenarioError(f"scenario file {path}: {exc}") from None


def _normalise_faults(faults: Any) -> dict[str, float]:
    if not isinstance(faults, Mapping):
        raise ScenarioError(
            f"faults must be an object of fault kind to probability, got {_json_type(faults)}"
        )
    for kind in faults:
        if kind not in FAULT_KINDS:
            raise ScenarioError(f"unknown fault {kind!r} (faults: {', '.join(FAULT_KINDS)})")
    normalised: dict[str, float] = {}
    for kind in FAULT_KINDS:
        probability = faults.get(kind, 0.0)
        _check_number(f"faults.{kind}", probability, minimum=0.0, maximum=1.0)
        normalised[kind] = float(probability)
    total = sum(normalised.values())
    if total > 1.0 + _PROBABILITY_SLACK:
        raise ScenarioError(f"fault probabilities add up to {total:g}, more than 1")
    return normalised


def _check_str(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{name} must be a non-empty string, got {_describe(value)}")


def _check_int(name: str, value: Any, *, minimum: int | None = None) -> None:
    # bool is an int subclass, but `"seed": true` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{name} must be an integer, got {_describe(value)}")
    if minimum is not None and value < minimum:
        raise ScenarioError(f"{name} must be >= {minimum}, got {value}")


def _check_number(
    name: str,
    value: Any,
    *,
    minimum: float,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{name} must be a number, got {_describe(value)}")
    if value < minimum or (exclusive_minimum and value == minimum):
        relation = ">" if exclusive_minimum else ">="
        raise ScenarioError(f"{name} must be {relation} {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ScenarioError(f"{name} must be <= {maximum:g}, got {value:g}")


def _describe(value: Any) -> str:
    return f"{_json_type(value)} {json.dumps(value, default=repr)[:40]}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


_DEFAULT = Scenario()

BUILTIN_SCENARIOS: dict[str, Scenario] = {
    # Roughly what gpt-3.5-turbo-class models feel like for a short answer.
    "default": _DEFAULT,
    # No waiting at all: what is left of a call's time is the client's own.
    "instant": dataclasses.replace(
        _DEFAULT, name="instant", ttft_ms=0.0, token_ms=0.0, jitter_ms=0.0, output_tokens=8
    ),
    "slow": dataclasses.replace(_DEFAULT, name="slow", ttft_ms=1500.0, token_ms=40.0, jitter_ms=150.0),
    # About one request in four fails somehow; retries wait 50 ms instead of
    # seconds, and a stall outlasts the 1 s client timeout so it really times out.
    # Seed 9 because seed 0 happens to draw no fault in its first twelve requests,
    # which made a short run look healthy; with 9 the first ten already include
    # a timeout, a rate limit and a server error.
    "flaky": dataclasses.replace(
        _DEFAULT,
        name="flaky",
        seed=9,
        ttft_ms=200.0,
        token_ms=8.0,
        jitter_ms=20.0,
        output_tokens=16,
        faults={
            "rate_limit": 0.06,
            "server_error": 0.05,
            "timeout": 0.03,
            "disconnect": 0.04,
            "malformed": 0.03,
            "truncated_stream": 0.04,
        },
        retry_after_s=0.05,
        stall_s=3.0,
        client_timeout_s=1.0,
    ),
}
