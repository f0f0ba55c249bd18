"""The models API: `GET /v1/models` and `GET /v1/models/{model}`."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequest

__all__ = ["MODELS", "model_object", "models_list"]

MODELS: tuple[tuple[str, int, str], ...] = (
    ("gpt-3.5-turbo", 1677610602, "openai"),
    ("gpt-3.5-turbo-instruct", 1692901427, "system"),
    ("gpt-4o", 1715367049, "system"),
    ("gpt-4o-mini", 1721172741, "system"),
    ("gpt-4.1-mini", 1744318173, "system"),
    ("text-embedding-3-small", 1705948997, "system"),
    ("text-embedding-3-large", 1705953180, "system"),
    ("text-embedding-ada-002", 1671217299, "openai-internal"),
)


def _object(model_id: str, created: int, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}


def models_list() -> dict[str, Any]:
    return {"object": "list", "data": [_object(*model) for model in MODELS]}


def model_object(model_id: str) -> dict[str, Any]:
    for model in MODELS:
        if model[0] == model_id:
            return _object(*model)
    raise InvalidRequest(
        f"The model `{model_id}` does not exist or you do not have access to it.",
        code="model_not_found",
        status=404,
    )
