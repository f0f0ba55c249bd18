"""Output formats a request can ask for: prose, any JSON object, or JSON that fits a schema.

Chat spells it `response_format: {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`;
the Responses API `text: {"format": {"type": "json_schema", "name", "schema", "strict"}}`.
Both are read into one `TextFormat` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .. import params
from ..errors import InvalidRequest

__all__ = ["TextFormat", "mentions_json", "read_format"]

FormatKind = Literal["text", "json_object", "json_schema"]


@dataclass(frozen=True)
class TextFormat:
    kind: FormatKind
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None

    def to_responses(self) -> dict[str, Any]:
        """As the Responses API echoes it in `text.format`."""
        if self.kind != "json_schema":
            return {"type": self.kind}
        echoed: dict[str, Any] = {"type": "json_schema", "name": self.name, "schema": self.schema or {}}
        echoed["strict"] = self.strict
        if self.description is not None:  # the spec types it as a string: absent, not null
            echoed["description"] = self.description
        return echoed


def read_format(spec: Any, param: str, *, nested: bool) -> TextFormat:
    """Read a format object; `nested` is chat's shape, with the schema under `json_schema`."""
    if not isinstance(spec, dict):
        raise params.wrong_type(param, "an object", spec)
    kind = spec.get("type")
    if kind is None:
        raise params.missing(f"{param}.type")
    if kind not in ("text", "json_object", "json_schema"):
        raise InvalidRequest(
            f"Invalid value: {_quoted(kind)}. "
            "Supported values are: 'text', 'json_object', and 'json_schema'.",
            param=f"{param}.type",
            code="invalid_value",
        )
    if kind != "json_schema":
        return TextFormat(kind)
    if nested:
        inner = spec.get("json_schema")
        where = f"{param}.json_schema"
        if inner is None:
            raise params.missing(where)
        if not isinstance(inner, dict):
            raise params.wrong_type(where, "an object", inner)
    else:
        inner, where = spec, param
    name = inner.get("name")
    if name is None:
        raise params.missing(f"{where}.name")
    if not isinstance(name, str):
        raise params.wrong_type(f"{where}.name", "a string", name)
    schema = params.optional_object(inner, "schema", param=f"{where}.schema")
    strict = params.optional_bool(inner, "strict", False) if inner.get("strict") is not None else None
    description = params.optional_str(inner, "description", param=f"{where}.description")
    return TextFormat("json_schema", name=name, schema=schema, strict=strict, description=description)


def mentions_json(texts: list[str]) -> bool:
    """The API refuses `json_object` unless the conversation asks for JSON in so many words."""
    return any("json" in text.lower() for text in texts)


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)
