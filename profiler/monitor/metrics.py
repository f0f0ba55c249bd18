"""Prometheus metrics for a service that calls the OpenAI API.

Names, units, buckets and attributes follow the OpenTelemetry GenAI semantic
conventions (see :mod:`profiler.monitor.conventions`), named for Prometheus the
way OpenTelemetry's Prometheus exporter names them: dots become underscores and
the unit is a suffix (``gen_ai.client.operation.duration`` in ``s`` →
``gen_ai_client_operation_duration_seconds``; ``{token}`` is an annotation, so no
suffix). An attribute that does not apply is an empty label (Prometheus treats
``error_type=""`` as no label). Labels are low-cardinality only: operation,
provider, model, server, error kind, token type, phase. Never prompts, ids or users.
What a client may choose is bounded: an HTTP method outside the standard nine is
``_OTHER`` (OpenTelemetry's HTTP conventions), and past ``max_models`` distinct
models (a ``/chat`` caller names its model) a model not seen yet is ``_OTHER``.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from profiler.monitor.conventions import (
    DURATION_BUCKETS,
    HTTP_DURATION_BUCKETS,
    PROVIDER,
    TOKEN_USAGE_BUCKETS,
)
from profiler.trace.model import RequestTrace
from profiler.trace.phases import OCCASIONAL_PHASES

# Kept under their former names: other modules and dashboards' docs refer to them.
OPERATION_DURATION_BUCKETS = DURATION_BUCKETS
TIME_TO_FIRST_CHUNK_BUCKETS = DURATION_BUCKETS
TIME_PER_OUTPUT_CHUNK_BUCKETS = DURATION_BUCKETS

# A service observes these per call (each observe costs microseconds); profiling runs keep every phase.
MONITORED_PHASES = ("server_wait", "download", "backoff", "queue")

_GENAI_LABELS = (
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "server_address",
    "server_port",
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "_OTHER"  # the label of a value past the bound
_KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"))
MAX_MODELS = 100


class ServiceMetrics:
    """The metrics of one service process, in one registry (its own unless given one)."""

    _shared: ClassVar[dict[int, ServiceMetrics]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls, registry: CollectorRegistry = REGISTRY) -> ServiceMetrics:
        """The one instance for ``registry`` (a metric name can be registered in a registry only once),
        by default prometheus_client's own: what an app's existing ``/metrics`` already serves."""
        with cls._shared_lock:
            found = cls._shared.get(id(registry))
            if found is None:
                found = cls._shared[id(registry)] = cls(registry)
            return found

    def __init__(self, registry: CollectorRegistry | None = None, *, max_models: int = MAX_MODELS) -> None:
        multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if multiprocess_dir and not os.path.isdir(multiprocess_dir):  # else every scrape fails, later
            raise ValueError("PROMETHEUS_MULTIPROC_DIR is set but is not a directory (create it first)")
        self.registry = registry if registry is not None else CollectorRegistry()
        self.max_models = max_models
        self._models: set[str] = set()  # the model labels in use
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration",
            "GenAI operation duration (the whole SDK call, retries included).",
            [*_GENAI_LABELS, "error_type"],
            unit="seconds",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used.",
            [*_GENAI_LABELS, "gen_ai_token_type"],
            buckets=TOKEN_USAGE_BUCKETS,
            registry=self.registry,
        )
        self.time_to_first_chunk = Histogram(
            "gen_ai_client_operation_time_to_first_chunk",
            "Time to receive the first chunk of a streamed response, from when the request is issued.",
            list(_GENAI_LABELS),
            unit="seconds",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.time_per_output_chunk = Histogram(
            "gen_ai_client_operation_time_per_output_chunk",
            "Time per output chunk after the first: from the end of the previous chunk to the end of this.",
            list(_GENAI_LABELS),
            unit="seconds",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.phase_duration = Histogram(
            "profiler_openai_phase_duration",
            "Time per part of an OpenAI call: network, local, server_wait, download, backoff, queue.",
            ["phase"],
            unit="seconds",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "profiler_openai_errors",
            "OpenAI calls that failed, by operation and error kind (what the caller saw).",
            ["gen_ai_operation_name", "error_kind"],
            registry=self.registry,
        )
        self.attempt_errors = Counter(
            "profiler_openai_attempt_errors",
            "Failed HTTP attempts, by operation and error kind, retried ones included.",
            ["gen_ai_operation_name", "error_kind"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "http_server_request_duration",
            "Duration of HTTP server requests.",
            ["http_request_method", "http_route", "http_response_status_code"],
            unit="seconds",
            buckets=HTTP_DURATION_BUCKETS,
            registry=self.registry,
        )
        # labels() costs microseconds a call: the labelled children are kept, per label values.
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *values: str) -> Any:
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def _model_label(self, model: str | None) -> str:
        if not model or model in self._models:
            return model or ""
        if len(self._models) >= self.max_models:
            return OTHER
        self._models.add(model)
        return model

    def observe_call(self, trace: RequestTrace) -> None:
        genai = (
            trace.operation,
            PROVIDER,
            self._model_label(trace.model),
            trace.server_address or "",
            "" if trace.server_port is None else str(trace.server_port),
        )
        child = self._child
        child(self.operation_duration, *genai, trace.error_kind or "").observe(trace.e2e)
        if trace.input_tokens is not None:
            child(self.token_usage, *genai, "input").observe(trace.input_tokens)
        if trace.output_tokens is not None:
            child(self.token_usage, *genai, "output").observe(trace.output_tokens)
        if trace.stream and trace.ttft_s is not None:
            child(self.time_to_first_chunk, *genai).observe(trace.ttft_s)
        if trace.stream and trace.itl_s:
            per_chunk = child(self.time_per_output_chunk, *genai)
            for gap in trace.itl_s:
                per_chunk.observe(gap)
        phases = trace.phases
        child(self.phase_duration, "network").observe(trace.network)
        child(self.phase_duration, "local").observe(trace.local)
        for phase in MONITORED_PHASES:
            seconds = phases[phase]
            if not seconds and phase in OCCASIONAL_PHASES:
                continue  # a call that was not retried has no back-off: not a 0 in its histogram
            child(self.phase_duration, phase).observe(seconds or 0.0)
        if trace.error_kind is not None:
            child(self.errors, trace.operation, trace.error_kind).inc()
        for kind in trace.attempt_errors:
            child(self.attempt_errors, trace.operation, kind).inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _KNOWN_METHODS else OTHER
        self._child(self.request_duration, method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """The text format for ``/metrics``; under gunicorn, every worker's metrics merged."""
        multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=multiprocess_dir)
            return generate_latest(registry)
        return generate_latest(self.registry)
