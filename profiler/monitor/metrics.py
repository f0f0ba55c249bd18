"""Prometheus metrics for a service that calls the OpenAI API.

Names and buckets follow the OpenTelemetry GenAI semantic conventions
(``gen_ai.client.operation.duration`` → ``gen_ai_client_operation_duration_seconds``),
so dashboards built for those work. Labels are low-cardinality only: operation,
provider, model, error kind, token type, phase. Never prompts, ids or users.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from profiler.trace.model import RequestTrace

# OTel GenAI semconv advisory buckets.
OPERATION_DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_USAGE_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
TIME_TO_FIRST_CHUNK_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
# OTel HTTP semconv advisory buckets for http.server.request.duration.
HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

# A service observes these per call (each observe costs ~4 µs); profiling runs keep every phase.
MONITORED_PHASES = ("server_wait", "download", "backoff", "queue")

PROVIDER = "openai"
_GENAI_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")


class ServiceMetrics:
    """The metrics of one service process, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration",
            "Duration of GenAI client operations (whole SDK call, retries included).",
            [*_GENAI_LABELS, "error_type"],
            unit="seconds",
            buckets=OPERATION_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Tokens used per GenAI client operation, by token type.",
            [*_GENAI_LABELS, "gen_ai_token_type"],
            buckets=TOKEN_USAGE_BUCKETS,
            registry=self.registry,
        )
        self.time_to_first_chunk = Histogram(
            "gen_ai_client_operation_time_to_first_chunk",
            "Time from the call to the first content chunk of a streamed response.",
            list(_GENAI_LABELS),
            unit="seconds",
            buckets=TIME_TO_FIRST_CHUNK_BUCKETS,
            registry=self.registry,
        )
        self.phase_duration = Histogram(
            "profiler_openai_phase_duration",
            "Time per part of an OpenAI call: network, local, server_wait, download, backoff, queue.",
            ["phase"],
            unit="seconds",
            buckets=OPERATION_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "profiler_openai_errors",
            "OpenAI calls that failed, by error kind (what the caller saw).",
            ["error_kind"],
            registry=self.registry,
        )
        self.attempt_errors = Counter(
            "profiler_openai_attempt_errors",
            "Failed HTTP attempts, by error kind, retried ones included.",
            ["error_kind"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "http_server_request_duration",
            "Duration of HTTP requests served.",
            ["http_request_method", "http_route", "http_response_status_code"],
            unit="seconds",
            buckets=HTTP_DURATION_BUCKETS,
            registry=self.registry,
        )
        self._phase_children: dict[str, Any] = {}

    def _phase(self, phase: str) -> Any:
        # labels() costs microseconds per call: keep the children, it runs on every request.
        child = self._phase_children.get(phase)
        if child is None:
            child = self._phase_children[phase] = self.phase_duration.labels(phase=phase)
        return child

    def observe_call(self, trace: RequestTrace) -> None:
        model = trace.model or "unknown"
        genai = (trace.operation, PROVIDER, model)
        self.operation_duration.labels(*genai, trace.error_kind or "").observe(trace.e2e)
        if trace.input_tokens is not None:
            self.token_usage.labels(*genai, "input").observe(trace.input_tokens)
        if trace.output_tokens is not None:
            self.token_usage.labels(*genai, "output").observe(trace.output_tokens)
        if trace.ttft_s is not None:
            self.time_to_first_chunk.labels(*genai).observe(trace.ttft_s)
        phases = trace.phases
        self._phase("network").observe(trace.network)
        self._phase("local").observe(trace.local)
        for phase in MONITORED_PHASES:
            self._phase(phase).observe(phases[phase] or 0.0)
        if trace.error_kind is not None:
            self.errors.labels(error_kind=trace.error_kind).inc()
        for kind in trace.attempt_errors:
            self.attempt_errors.labels(error_kind=kind).inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_duration.labels(method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """The text format for ``/metrics``; under gunicorn, every worker's metrics merged."""
        multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=multiprocess_dir)
            return generate_latest(registry)
        return generate_latest(self.registry)
