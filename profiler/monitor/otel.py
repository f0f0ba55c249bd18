"""OpenTelemetry export of the same figures, for apps that run on many machines.

When ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, every traced call becomes
- the GenAI client metrics ``gen_ai.client.operation.duration``,
  ``gen_ai.client.token.usage``, and for streams
  ``gen_ai.client.operation.time_to_first_chunk`` and
  ``gen_ai.client.operation.time_per_output_chunk`` (one point per chunk after the first);
- one span ``{gen_ai.operation.name} {gen_ai.request.model}`` (kind CLIENT) with the
  conventions' attributes, one event per attempt and one per phase,
sent with the OpenTelemetry SDK's OTLP/HTTP exporters (conventions:
:mod:`profiler.monitor.conventions`). The SDK is an extra
(``pip install 'profiler[otel]'``); nothing here is imported without it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from profiler.monitor.conventions import DURATION_BUCKETS, PROVIDER, SCHEMA_URL, TOKEN_USAGE_BUCKETS
from profiler.trace.model import RequestTrace

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"


def _unix_ns(trace: RequestTrace, offset: float) -> int:
    return int((trace.started_at + (offset - trace.start)) * 1e9)


class OtelExporter:
    """Metrics and spans for traced calls, exported over OTLP/HTTP to ``endpoint``."""

    def __init__(self, endpoint: str, service_name: str = "profiler", export_interval_ms: int = 5000) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        base = endpoint.rstrip("/")
        resource = Resource.create({"service.name": service_name})
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics"), export_interval_millis=export_interval_ms
        )
        self._meters = MeterProvider(resource=resource, metric_readers=[reader])
        self._tracers = TracerProvider(resource=resource)
        self._tracers.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
        meter = self._meters.get_meter("profiler", schema_url=SCHEMA_URL)
        self._tracer = self._tracers.get_tracer("profiler", schema_url=SCHEMA_URL)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(TOKEN_USAGE_BUCKETS),
        )
        self.time_to_first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk, measured from when the client issues the "
            "generation request to when the first chunk is received in the response stream.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.time_per_output_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_per_output_chunk",
            unit="s",
            description="Time per output chunk, recorded for each chunk received after the first one, "
            "measured as the time elapsed from the end of the previous chunk to the end of the current "
            "chunk.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )

    def observe_call(self, trace: RequestTrace) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        # Required: operation and provider; conditionally required: the model (when known), the
        # port (when the address is set), error.type (when it failed); recommended: the address.
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": trace.operation,
            "gen_ai.provider.name": PROVIDER,
        }
        if trace.model:
            attributes["gen_ai.request.model"] = trace.model
        if trace.server_address:
            attributes["server.address"] = trace.server_address
            if trace.server_port is not None:
                attributes["server.port"] = trace.server_port
        duration_attributes = attributes
        if trace.error_kind:
            duration_attributes = {**attributes, "error.type": trace.error_kind}
        self.duration.record(trace.e2e, duration_attributes)
        if trace.input_tokens is not None:
            self.token_usage.record(trace.input_tokens, {**attributes, "gen_ai.token.type": "input"})
        if trace.output_tokens is not None:
            self.token_usage.record(trace.output_tokens, {**attributes, "gen_ai.token.type": "output"})
        if trace.stream and trace.ttft_s is not None:
            self.time_to_first_chunk.record(trace.ttft_s, attributes)
        if trace.stream:
            for gap in trace.itl_s:
                self.time_per_output_chunk.record(gap, attributes)

        span_attributes: dict[str, Any] = {
            **duration_attributes,
            "gen_ai.request.stream": trace.stream,
            "profiler.attempts": len(trace.attempts),
        }
        if trace.stream and trace.ttft_s is not None:
            span_attributes["gen_ai.response.time_to_first_chunk"] = trace.ttft_s
        if trace.input_tokens is not None:
            span_attributes["gen_ai.usage.input_tokens"] = trace.input_tokens
        if trace.output_tokens is not None:
            span_attributes["gen_ai.usage.output_tokens"] = trace.output_tokens
        if trace.n != 1:
            span_attributes["gen_ai.request.choice.count"] = trace.n
        span = self._tracer.start_span(
            f"{trace.operation} {trace.model}" if trace.model else trace.operation,
            kind=SpanKind.CLIENT,
            start_time=_unix_ns(trace, trace.start),
            attributes=span_attributes,
        )
        if trace.x_request_id:
            span.set_attribute("openai.request_id", trace.x_request_id)
        for number, attempt in enumerate(trace.attempts, start=1):
            event: dict[str, Any] = {"attempt": number, "reused_connection": bool(attempt.reused_connection)}
            if attempt.status is not None:
                event["http.response.status_code"] = attempt.status
            if attempt.error_kind:
                event["error.type"] = attempt.error_kind
            span.add_event("attempt", event, timestamp=_unix_ns(trace, attempt.start))
        for phase, seconds in trace.breakdown().items():
            if seconds:
                span.add_event(f"phase.{phase}", {"duration_ms": round(seconds * 1000, 3)})
        if trace.error_kind:
            span.set_status(Status(StatusCode.ERROR, trace.error_kind))
        span.end(end_time=_unix_ns(trace, trace.end))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Export what is pending, within a bound."""
        self._tracers.force_flush(timeout_ms)
        self._meters.force_flush(timeout_ms)
        self._tracers.shutdown()
        self._meters.shutdown(timeout_millis=timeout_ms)


def exporter_from_env(environ: Mapping[str, str] = os.environ) -> OtelExporter | None:
    """An exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else None."""
    endpoint = environ.get(ENDPOINT_VARIABLE)
    if not endpoint:
        return None
    scheme, _, rest = endpoint.partition("://")
    if scheme not in ("http", "https") or not rest.split("/", 1)[0]:
        raise ValueError(f"{ENDPOINT_VARIABLE} must look like http[s]://host[:port][/path]")
    try:
        return OtelExporter(endpoint, service_name=environ.get("OTEL_SERVICE_NAME", "profiler"))
    except ImportError as missing:
        raise ValueError(
            f"{ENDPOINT_VARIABLE} is set but the OpenTelemetry SDK is not installed: "
            f"pip install 'profiler[otel]' ({missing.name})"
        ) from missing
