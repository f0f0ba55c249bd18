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

from .limits import MAX_JSON_DEPTH, MAX_OUTPUT_TOKENS, MAX_REPLY_MS
from .safe_json import JSONRejected, loads

__all__ = [
    "BUILTIN_SCENARIOS",
    "FAULT_KINDS",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario_json",
]

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
# Bounds on what a scenario may ask of the server: no reply is planned to take
# longer than the SDK's default timeout, and the rest keeps numbers sane.
MAX_JITTER_MS = 60_000.0
MAX_RETRY_AFTER_S = 3600.0
MAX_CLIENT_TIMEOUT_S = 3600.0
MAX_NAME_LENGTH = 200
# Seeds become text inside RNG seeds; Python refuses to print ints past 4300 digits.
MAX_SEED = 2**63 - 1
# A scenario is a few hundred bytes; a file of megabytes is a mistake, not a scenario.
_MAX_FILE_BYTES = 1024 * 1024
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
        if len(self.name) > MAX_NAME_LENGTH:
            raise ScenarioError(f"name must be at most {MAX_NAME_LENGTH} characters, got {len(self.name)}")
        _check_int("seed", self.seed, minimum=-MAX_SEED, maximum=MAX_SEED)
        for name in ("ttft_ms", "token_ms"):
            _check_number(name, getattr(self, name), minimum=0.0, maximum=MAX_REPLY_MS)
        _check_number("jitter_ms", self.jitter_ms, minimum=0.0, maximum=MAX_JITTER_MS)
        _check_number("retry_after_s", self.retry_after_s, minimum=0.0, maximum=MAX_RETRY_AFTER_S)
        _check_number("stall_s", self.stall_s, minimum=0.0, maximum=MAX_STALL_S)
        _check_int("output_tokens", self.output_tokens, minimum=1, maximum=MAX_OUTPUT_TOKENS)
        reply_ms = self.ttft_ms + self.output_tokens * self.token_ms
        if reply_ms > MAX_REPLY_MS:
            raise ScenarioError(
                f"ttft_ms + output_tokens × token_ms must be <= {MAX_REPLY_MS:g} ms "
                f"(the SDK's default timeout), got {reply_ms:g}"
            )
        if self.client_timeout_s is not None:
            _check_number(
                "client_timeout_s",
                self.client_timeout_s,
                minimum=0.0,
                maximum=MAX_CLIENT_TIMEOUT_S,
                exclusive_minimum=True,
            )
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


def parse_scenario_json(text: str | bytes, where: str = "", *, name: str | None = None) -> Scenario:
    """A scenario from JSON text; every mistake is a one-line ScenarioError, after `where: ` if given.

    Parsed with the same depth limit as request bodies, so a file nested 100,000
    deep is refused in a line rather than crashing with RecursionError.
    """
    try:
        data = loads(text, max_depth=MAX_JSON_DEPTH)
    except JSONRejected as exc:
        raise ScenarioError(_at(where, exc)) from None
    if isinstance(data, dict) and "name" not in data and name is not None:
        # A file that does not name itself is known by its file name, not as "default".
        data = {**data, "name": name}
    try:
        return Scenario.from_dict(data)
    except (ScenarioError, TypeError) as exc:  # TypeError: a last guard, from_dict checks names first
        raise ScenarioError(_at(where, exc)) from None


def _at(where: str, exc: Exception) -> str:
    return f"{where}: {exc}" if where else str(exc)


def _load_file(path: Path) -> Scenario:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"scenario file {path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > _MAX_FILE_BYTES:
        raise ScenarioError(f"scenario file {path}: {len(data)} bytes, more than a scenario needs")
    return parse_scenario_json(data, f"scenario file {path}", name=path.stem)


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


def _check_int(name: str, value: Any, *, minimum: int, maximum: int) -> None:
    # bool is an int subclass, but `"seed": true` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{name} must be an integer, got {_describe(value)}")
    if value < minimum:
        raise ScenarioError(f"{name} must be >= {minimum}, got {_short(value)}")
    if value > maximum:
        raise ScenarioError(f"{name} must be <= {maximum}, got {_short(value)}")


def _short(value: int) -> str:
    # str() itself refuses ints past 4300 digits, so the huge ones are described, not printed.
    return str(value) if value.bit_length() <= 64 else f"an integer of {value.bit_length()} bits"


def _check_number(
    name: str,
    value: Any,
    *,
    minimum: float,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{name} must be a number, got {_describe(value)}")
    if isinstance(value, int) and abs(value) > 2**53:
        # Too large to print with :g (an int past the float range would raise OverflowError).
        raise ScenarioError(
            f"{name} must be between {minimum:g} and {maximum or math.inf:g}, got {_short(value)}"
        )
    if not math.isfinite(value):
        raise ScenarioError(f"{name} must be a number, got {_describe(value)}")
    if value < minimum or (exclusive_minimum and value == minimum):
        relation = ">" if exclusive_minimum else ">="
        raise ScenarioError(f"{name} must be {relation} {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ScenarioError(f"{name} must be <= {maximum:g}, got {value:g}")


def _describe(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"number {_short(value)}"
    try:
        shown = json.dumps(value, default=repr)[:40]
    except (ValueError, RecursionError):
        shown = "…"
    return f"{_json_type(value)} {shown}"


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
