"""A JSON value that validates against a JSON schema, drawn from a seeded RNG.

Covers what structured outputs and function parameters use in practice: `type`
(one or a list), objects with `properties`/`required`/`additionalProperties`/
`minProperties`, arrays with `items`/`prefixItems`/`minItems`/`maxItems`/
`uniqueItems`, `enum`, `const`, `anyOf`/`oneOf`/`allOf`, local `$ref` into
`$defs`/`definitions` (cycles included), strings with `minLength`/`maxLength`
and the cheap `format`s, numbers within `minimum`/`maximum` (exclusive too) and
`multipleOf`. `pattern` is not honoured. The value is small on purpose: one to
two items per array, and past a depth or a node budget only what the schema
requires.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from .limits import MAX_SCHEMA_DEPTH

__all__ = ["instance_of"]

# Past MAX_SCHEMA_DEPTH only required content is generated; past this, nothing at all,
# so that a schema whose required properties refer to themselves still ends.
_HARD_DEPTH = MAX_SCHEMA_DEPTH + 16
# Optional content stops once this many values have been generated.
_NODE_BUDGET = 400
_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties", "minProperties", "maxProperties")
_ARRAY_KEYWORDS = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")
_STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def instance_of(schema: Any, rng: random.Random, words: Sequence[str]) -> Any:
    """A value valid against `schema` (a dict, or a boolean schema); strings are made of `words`."""
    return _Generator(schema, rng, words).value(schema, 0, "")


class _Generator:
    def __init__(self, root: Any, rng: random.Random, words: Sequence[str]) -> None:
        self.root = root
        self.rng = rng
        self.words = list(words) or ["text"]
        self.nodes = 0

    @property
    def frugal(self) -> bool:
        return self.nodes >= _NODE_BUDGET

    def value(self, schema: Any, depth: int, hint: str) -> Any:
        self.nodes += 1
        if schema is True or not isinstance(schema, dict):
            return self.string({}, hint)
        if depth > _HARD_DEPTH:
            return None
        schema = self.resolve(schema, depth)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return self.rng.choice(enum)
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list) and branches:
                return self.value(self.branch(branches, depth), depth + 1, hint)
        kind = self.kind(schema, depth)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, depth, hint)
        if kind == "integer":
            return self.integer(schema)
        if kind == "number":
            return self.number(schema)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self.string(schema, hint)

    def resolve(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        """Follow `$ref`s and fold `allOf` in, so what is left is one plain schema."""
        for _ in range(_HARD_DEPTH):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                break
            target = self.lookup(ref)
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **siblings} if isinstance(target, dict) else siblings
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            merged = {key: value for key, value in schema.items() if key != "allOf"}
            for part in parts:
                if isinstance(part, dict):
                    merged = _merge(merged, self.resolve(part, depth))
            schema = merged
        return schema

    def lookup(self, ref: str) -> Any:
        # Only refs into this very document: `#`, `#/$defs/name`, `#/definitions/name`, any pointer.
        if not ref.startswith("#"):
            return {}
        node = self.root
        for raw in ref[1:].split("/")[1:]:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return {}
        return node

    def branch(self, branches: list[Any], depth: int) -> Any:
        # Optional fields are `anyOf: [X, null]`: say something rather than null, until deep
        # enough that the shortest way out is wanted.
        non_null = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if depth >= MAX_SCHEMA_DEPTH or self.frugal:
            plain = [b for b in branches if isinstance(b, dict) and "$ref" not in b]
            return (plain or branches)[0] if len(non_null) == len(branches) else {"type": "null"}
        return self.rng.choice(non_null or branches)

    def kind(self, schema: dict[str, Any], depth: int) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            names = [name for name in declared if isinstance(name, str)]
            if "null" in names and (depth >= MAX_SCHEMA_DEPTH or len(names) == 1):
                return "null"
            names = [name for name in names if name != "null"]
            declared = names[0] if names else None
        if isinstance(declared, str):
            return declared
        for keywords, kind in (
            (_OBJECT_KEYWORDS, "object"),
            (_ARRAY_KEYWORDS, "array"),
            (_NUMBER_KEYWORDS, "number"),
            (_STRING_KEYWORDS, "string"),
        ):
            if any(keyword in schema for keyword in keywords):
                return kind
        return "string"

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [name for name in schema.get("required") or [] if isinstance(name, str)]
        generous = depth < MAX_SCHEMA_DEPTH and not self.frugal
        names = list(dict.fromkeys(required))
        names += [name for name in properties if name not in names and generous and self.rng.random() < 0.5]
        minimum = _int(schema.get("minProperties"), 0)
        for name in properties:
            if len(names) >= minimum:
                break
            if name not in names:
                names.append(name)
        extra = schema.get("additionalProperties", True)
        counter = 1
        while len(names) < minimum and extra is not False and counter <= minimum:
            names.append(f"extra_{counter}")
            counter += 1
        result: dict[str, Any] = {}
        for name in names:
            subschema = properties.get(name, extra if isinstance(extra, dict) else {})
            result[name] = self.value(subschema, depth + 1, name)
        return result

    def array(self, schema: dict[str, Any], depth: int, hint: str) -> list[Any]:
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", {})
        minimum = _int(schema.get("minItems"), 0)
        maximum = _int(schema.get("maxItems"), max(minimum, 2))
        wanted = minimum if depth >= MAX_SCHEMA_DEPTH or self.frugal else self.rng.randint(1, 2)
        count = max(minimum, min(wanted, maximum))
        if items is False:
            count = min(count, len(prefix))
        result: list[Any] = []
        seen: set[str] = set()
        for index in range(count):
            subschema = prefix[index] if index < len(prefix) else items
            value = self.value(subschema, depth + 1, hint)
            if schema.get("uniqueItems") is True:
                for _ in range(4):
                    if repr(value) not in seen:
                        break
                    value = self.value(subschema, depth + 1, f"{hint}{index}")
                seen.add(repr(value))
            result.append(value)
        return result

    def integer(self, schema: dict[str, Any]) -> int:
        low, high = _bounds(schema, integer=True)
        step = schema.get("multipleOf")
        if _is_number(step) and step > 0 and float(step).is_integer():
            step = int(step)
            first, last = math.ceil(low / step), math.floor(high / step)
            return step * (self.rng.randint(first, last) if first <= last else first)
        low, high = math.ceil(low), math.floor(high)
        return self.rng.randint(low, high) if low <= high else low

    def number(self, schema: dict[str, Any]) -> float | int:
        low, high = _bounds(schema, integer=False)
        step = schema.get("multipleOf")
        if _is_number(step) and step > 0:
            first, last = math.ceil(low / step), math.floor(high / step)
            multiple = self.rng.randint(first, last) if first <= last else first
            return multiple * step
        value = round(self.rng.uniform(low, high), 2)
        return value if low <= value <= high else low

    def string(self, schema: dict[str, Any], hint: str) -> str:
        text = _formatted(schema.get("format"), self.rng)
        if text is None:
            count = self.rng.randint(1, 3)
            text = " ".join(self.rng.choice(self.words) for _ in range(count))
        minimum = _int(schema.get("minLength"), 0)
        maximum = _int(schema.get("maxLength"), max(minimum, len(text)))
        while len(text) < minimum:
            text += " " + self.rng.choice(self.words)
        return text[: max(minimum, maximum)]


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = {**right, **left}
    for key in ("properties",):
        if isinstance(left.get(key), dict) and isinstance(right.get(key), dict):
            merged[key] = {**right[key], **left[key]}
    if isinstance(left.get("required"), list) or isinstance(right.get("required"), list):
        merged["required"] = list(
            dict.fromkeys([*(left.get("required") or []), *(right.get("required") or [])])
        )
    return merged


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int(value: Any, default: int) -> int:
    # Bounded so that `"minItems": 1000000000` cannot ask for a billion items.
    return min(int(value), 64) if _is_number(value) and value >= 0 else default


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    nudge = 1 if integer else 0.01
    low = schema.get("minimum")
    high = schema.get("maximum")
    low = float(low) if _is_number(low) else None
    high = float(high) if _is_number(high) else None
    exclusive_low = schema.get("exclusiveMinimum")
    exclusive_high = schema.get("exclusiveMaximum")
    if _is_number(exclusive_low):
        low = max(low if low is not None else -math.inf, float(exclusive_low) + nudge)
    if _is_number(exclusive_high):
        high = min(high if high is not None else math.inf, float(exclusive_high) - nudge)
    if low is None and high is None:
        return (1.0, 100.0)
    if low is None:
        low = high - 100.0 if high is not None else 1.0
    if high is None:
        high = low + 100.0
    return (low, high) if low <= high else (low, low)


def _formatted(name: Any, rng: random.Random) -> str | None:
    if name == "date-time":
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:30:00Z"
    if name == "date":
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if name == "time":
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    if name == "email":
        return f"reader{rng.randint(1, 999)}@example.com"
    if name in ("uri", "url", "iri"):
        return f"https://example.com/books/{rng.randint(1, 9999)}"
    if name == "uuid":
        bits = f"{rng.getrandbits(128):032x}"
        return f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-a{bits[17:20]}-{bits[20:]}"
    if name == "ipv4":
        return f"192.0.2.{rng.randint(1, 254)}"
    if name == "ipv6":
        return f"2001:db8::{rng.randint(1, 65535):x}"
    if name == "hostname":
        return "books.example.com"
    if name == "duration":
        return f"P{rng.randint(1, 30)}D"
    return None
