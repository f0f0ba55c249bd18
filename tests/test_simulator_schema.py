"""Generated JSON validates against the schema it was generated for, checked by jsonschema."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pydantic
import pytest
from openai.lib._pydantic import to_strict_json_schema

from profiler.simulator.content import WORDS, split_evenly
from profiler.simulator.schema_instance import instance_of

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["name", "children"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}
SCHEMAS: dict[str, Any] = {
    "empty": {},
    "true": True,
    "string": {"type": "string", "minLength": 30, "maxLength": 40},
    "short string": {"type": "string", "maxLength": 3},
    "formats": {
        "type": "object",
        "properties": {
            name: {"type": "string", "format": name}
            for name in (
                "date-time",
                "date",
                "time",
                "email",
                "uri",
                "uuid",
                "ipv4",
                "ipv6",
                "hostname",
                "duration",
            )
        },
        "required": [
            "date-time",
            "date",
            "time",
            "email",
            "uri",
            "uuid",
            "ipv4",
            "ipv6",
            "hostname",
            "duration",
        ],
    },
    "integers": {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "minimum": 5, "maximum": 5},
            "b": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
            "c": {"type": "integer", "multipleOf": 7, "minimum": 10, "maximum": 30},
            "d": {"type": "integer", "minimum": -1000000},
            "e": {"type": "integer", "maximum": -50},
        },
        "required": ["a", "b", "c", "d", "e"],
    },
    "numbers": {
        "type": "object",
        "properties": {
            "a": {"type": "number", "minimum": 0.5, "maximum": 0.75},
            "b": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1.1},
            "c": {"type": "number", "multipleOf": 0.25, "minimum": 1, "maximum": 2},
        },
        "required": ["a", "b", "c"],
    },
    "enum and const": {
        "type": "object",
        "properties": {"kind": {"enum": ["a", 1, None]}, "fixed": {"const": {"x": [1]}}},
        "required": ["kind", "fixed"],
    },
    "arrays": {
        "type": "object",
        "properties": {
            "few": {"type": "array", "items": {"type": "boolean"}, "minItems": 3, "maxItems": 4},
            "unique": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 100},
                "minItems": 2,
                "uniqueItems": True,
            },
            "tuple": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "integer"}],
                "items": False,
                "minItems": 2,
            },
        },
        "required": ["few", "unique", "tuple"],
    },
    "anyOf with null": {"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}]},
    "oneOf": {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]},
    "allOf": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
        ]
    },
    "type list": {"type": ["null", "integer"], "minimum": 3},
    "implicit types": {
        "properties": {"x": {"minimum": 2}, "y": {"items": {"maxLength": 1}}},
        "required": ["x", "y"],
    },
    "min properties": {"type": "object", "minProperties": 3, "additionalProperties": {"type": "integer"}},
    "recursive tree": TREE,
    "definitions and pointers": {
        "definitions": {"a/b": {"type": "integer"}, "c~d": {"type": "string"}},
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/a~1b"}, "y": {"$ref": "#/definitions/c~0d"}},
        "required": ["x", "y"],
    },
    "self reference through anyOf": {
        "type": "object",
        "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
        "required": ["next"],
    },
}


class Address(pydantic.BaseModel):
    street: str
    zip_code: str | None


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0, le=130)
    home: Address
    friends: list[Person]
    role: str = pydantic.Field(json_schema_extra={"enum": ["reader", "writer"]})


@pytest.mark.parametrize("name", list(SCHEMAS))
@pytest.mark.parametrize("seed", range(4))
def test_instances_validate(name: str, seed: int) -> None:
    schema = SCHEMAS[name]
    value = instance_of(schema, random.Random(seed), WORDS)
    jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("seed", range(8))
def test_a_strict_pydantic_schema_as_the_sdk_sends_it(seed: int) -> None:
    schema = to_strict_json_schema(Person)
    value = instance_of(schema, random.Random(seed), WORDS)
    jsonschema.validate(value, schema)
    Person.model_validate(value)


def test_the_same_seed_gives_the_same_instance() -> None:
    schema = to_strict_json_schema(Person)
    first = instance_of(schema, random.Random(3), WORDS)
    assert first == instance_of(schema, random.Random(3), WORDS)
    assert first != instance_of(schema, random.Random(4), WORDS)


def test_a_schema_that_cannot_end_still_ends() -> None:
    # Required and self-referential: no finite instance exists; generation must stop anyway.
    endless = {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]}
    assert isinstance(json.dumps(instance_of(endless, random.Random(0), WORDS)), str)


@pytest.mark.parametrize("count", [1, 2, 7, 50, 400])
def test_json_text_splits_into_exact_pieces_that_join_back(count: int) -> None:
    text = json.dumps({"quote": 'a "b" \\ c', "accent": "é\u2028", "n": [1, 2]}, ensure_ascii=True)
    pieces = split_evenly(text, count)
    assert len(pieces) == count and all(pieces)
    assert json.loads("".join(pieces)) == json.loads(text)
    assert not any(piece.endswith("\\") and not piece.endswith("\\\\") for piece in pieces), (
        "an escape was cut"
    )
