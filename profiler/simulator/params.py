"""Reading one request parameter at a time, refusing it in the API's own words.

The messages copy the API's: `Invalid type for 'n': expected an integer, but
got a string instead.`, `Invalid 'temperature': decimal above maximum value.
Expected a value <= 2, but got 3 instead.`, `Missing required parameter: 'model'.`
Each helper either returns a value of the promised type or raises InvalidRequest,
whatever JSON it is handed: that is what keeps every endpoint free of 500s.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidRequest

__all__ = [
    "invalid_value",
    "missing",
    "model_name",
    "optional_bool",
    "optional_int",
    "optional_list",
    "optional_number",
    "optional_object",
    "optional_str",
    "type_name",
    "wrong_type",
]

Payload = dict[str, Any]


def type_name(value: Any) -> str:
    """How the API names a JSON value's type in its messages."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string", list: "an array"}
    return names.get(type(value), "an object")


def wrong_type(param: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, but got {type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def missing(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def invalid_value(param: str, message: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(f"Invalid value for '{param}': {message}", param=param, code=code)


def present(payload: Payload, name: str) -> Any:
    # The API treats an explicit null like an omitted parameter.
    return payload.get(name)


def model_name(payload: Payload) -> str:
    model = payload.get("model")
    if model is None or model == "":
        raise InvalidRequest("you must provide a model parameter")
    if not isinstance(model, str):
        raise wrong_type("model", "a string", model)
    return model


def optional_bool(payload: Payload, name: str, default: bool) -> bool:
    value = present(payload, name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise wrong_type(name, "a boolean", value)
    return value


def optional_str(payload: Payload, name: str, *, param: str | None = None) -> str | None:
    value = present(payload, name)
    if value is not None and not isinstance(value, str):
        raise wrong_type(param or name, "a string", value)
    return value


def optional_object(payload: Payload, name: str, *, param: str | None = None) -> dict[str, Any] | None:
    value = present(payload, name)
    if value is not None and not isinstance(value, dict):
        raise wrong_type(param or name, "an object", value)
    return value


def optional_list(payload: Payload, name: str, *, param: str | None = None) -> list[Any] | None:
    value = present(payload, name)
    if value is not None and not isinstance(value, list):
        raise wrong_type(param or name, "an array", value)
    return value


def optional_int(
    payload: Payload, name: str, *, minimum: int, maximum: int | None = None, param: str | None = None
) -> int | None:
    value = present(payload, name)
    if value is None:
        return None
    param = param or name
    # bool is an int subclass, but `"n": true` is not the number 1 to the API either.
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(param, "an integer", value)
    _check_range(param, value, minimum, maximum, "integer")
    return value


def optional_number(
    payload: Payload, name: str, *, minimum: float, maximum: float, param: str | None = None
) -> float | None:
    value = present(payload, name)
    if value is None:
        return None
    param = param or name
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(param, "a number", value)
    if not math.isfinite(value):  # pragma: no cover - the JSON parser refuses NaN and Infinity first
        raise invalid_value(param, "must be a finite number.")
    _check_range(param, value, minimum, maximum, "decimal")
    return float(value)


def _check_range(param: str, value: float, minimum: float, maximum: float | None, kind: str) -> None:
    if value < minimum:
        raise InvalidRequest(
            f"Invalid '{param}': {kind} below minimum value. "
            f"Expected a value >= {_show(minimum)}, but got {_show(value)} instead.",
            param=param,
            code=f"{kind}_below_min_value",
        )
    if maximum is not None and value > maximum:
        raise InvalidRequest(
            f"Invalid '{param}': {kind} above maximum value. "
            f"Expected a value <= {_show(maximum)}, but got {_show(value)} instead.",
            param=param,
            code=f"{kind}_above_max_value",
        )


def _show(value: float) -> str:
    # `:g` would raise OverflowError on an int too large for a float, such as 10**400.
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 24 else f"{text[:20]}…({len(text)} digits)"
    return f"{value:g}"
