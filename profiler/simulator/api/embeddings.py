"""The embeddings API (`POST /v1/embeddings`): deterministic unit vectors, as floats or base64.

A vector depends only on the seed, the model and the input (text or token ids),
never on arrival order: the same text embeds the same way in every run and in
every request. As with text-embedding-3, a shorter `dimensions` is the full
vector cut and renormalised. base64 is the little-endian float32 bytes of the
very floats the `float` format lists, exactly as the API encodes them.
"""

from __future__ import annotations

import base64
import hashlib
import math
import sys
from array import array
from dataclasses import dataclass
from typing import Any

from .. import params
from ..errors import InvalidRequest
from ..limits import MAX_EMBEDDING_DIMENSIONS, MAX_EMBEDDING_INPUTS
from .common import estimate_tokens

__all__ = ["EmbeddingRequest", "embedding_list", "native_dimensions", "parse_embedding_request", "vector"]

_NATIVE = {"text-embedding-3-large": 3072, "text-embedding-3-small": 1536, "text-embedding-ada-002": 1536}


def native_dimensions(model: str) -> int:
    """Any model name is accepted, as on chat; unknown ones embed like text-embedding-3-small."""
    return _NATIVE.get(model, 1536)


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    inputs: list[str]  # token-id inputs are spelled out, so they hash like text
    dimensions: int
    encoding: str
    prompt_tokens: int


def parse_embedding_request(payload: dict[str, Any]) -> EmbeddingRequest:
    model = params.model_name(payload)
    if payload.get("input") is None:
        raise params.missing("input")
    inputs, tokens = _inputs(payload["input"])
    encoding = payload.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        shown = f"'{encoding}'" if isinstance(encoding, str) else params.type_name(encoding)
        raise InvalidRequest(
            f"Invalid value: {shown}. Supported values are: 'float' and 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    native = native_dimensions(model)
    dimensions = params.optional_int(payload, "dimensions", minimum=1, maximum=MAX_EMBEDDING_DIMENSIONS)
    if dimensions is not None and model == "text-embedding-ada-002":
        raise InvalidRequest("This model does not support specifying dimensions.", param="dimensions")
    if dimensions is not None and dimensions > native:
        raise InvalidRequest(
            f"Invalid 'dimensions': {model} returns at most {native} dimensions, "
            f"but {dimensions} were asked for.",
            param="dimensions",
            code="invalid_value",
        )
    params.optional_str(payload, "user")
    return EmbeddingRequest(model, inputs, dimensions or native, encoding, tokens)


def _inputs(value: Any) -> tuple[list[str], int]:
    if isinstance(value, str):
        _check_text(value, "input")
        return [value], estimate_tokens(value)
    if not isinstance(value, list):
        raise params.wrong_type("input", "a string or an array", value)
    if not value:
        raise InvalidRequest(
            "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array "
            "instead.",
            param="input",
            code="empty_array",
        )
    if len(value) > MAX_EMBEDDING_INPUTS:
        raise InvalidRequest(
            f"Invalid 'input': array too long. Expected an array with maximum length {MAX_EMBEDDING_INPUTS}, "
            f"but got an array with length {len(value)} instead.",
            param="input",
            code="array_above_max_length",
        )
    if all(_is_token(item) for item in value):
        return [_spelled(value)], len(value)
    if all(isinstance(item, str) for item in value):
        for index, item in enumerate(value):
            _check_text(item, f"input[{index}]")
        return list(value), sum(estimate_tokens(item) for item in value)
    if all(isinstance(item, list) and item and all(_is_token(t) for t in item) for item in value):
        return [_spelled(item) for item in value], sum(len(item) for item in value)
    raise InvalidRequest(
        "Invalid 'input': expected a string, an array of strings, an array of integers, or an array of "
        "arrays of integers.",
        param="input",
        code="invalid_type",
    )


def _check_text(text: str, param: str) -> None:
    if not text:
        raise InvalidRequest(f"Invalid '{param}': empty string. Expected a non-empty string.", param=param)


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32


def _spelled(tokens: list[int]) -> str:
    # A prefix no text starts with, so token ids and text never collide.
    return "\x00tokens:" + ",".join(map(str, tokens))


def vector(seed: int, model: str, text: str, dimensions: int) -> list[float]:
    """A unit vector from (seed, model, text), cut to `dimensions` and renormalised, as float32 values."""
    native = native_dimensions(model)
    digest = hashlib.shake_256(f"{seed}\x00{model}\x00{text}".encode("utf-8", "surrogatepass"))
    raw = array("h", digest.digest(2 * native))[:dimensions]
    norm = math.hypot(*raw) or 1.0
    # Through float32 and back, so the floats listed are exactly those base64 carries.
    return array("f", [value / norm for value in raw]).tolist()


def embedding_list(request: EmbeddingRequest, seed: int) -> dict[str, Any]:
    data = []
    for index, text in enumerate(request.inputs):
        values = vector(seed, request.model, text, request.dimensions)
        embedding: list[float] | str = values if request.encoding == "float" else _base64(values)
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": request.model,
        "usage": {"prompt_tokens": request.prompt_tokens, "total_tokens": request.prompt_tokens},
    }


def _base64(values: list[float]) -> str:
    packed = array("f", values)
    if sys.byteorder == "big":  # pragma: no cover - the API's bytes are little-endian everywhere
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")
