"""OTLP/HTTP export, received by a test receiver that decodes the OTLP protobuf."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from profiler.monitor.conventions import DURATION_BUCKETS
from profiler.monitor.otel import OtelExporter, exporter_from_env
from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.derive import trace_call
from profiler.trace.instrument import collecting


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.traces: list[ExportTraceServiceRequest] = []
        self.content_types: set[str] = set()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.content_types.add(self.headers["content-type"])
        if self.path == "/v1/metrics":
            self.server.metrics.append(ExportMetricsServiceRequest.FromString(body))
        elif self.path == "/v1/traces":
            self.server.traces.append(ExportTraceServiceRequest.FromString(body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_no_endpoint_no_exporter() -> None:
    assert exporter_from_env({}) is None


@pytest.mark.parametrize(
    "endpoint", ["not a url at all", "localhost:4318", "http://", "ftp://collector:4318"]
)
def test_an_endpoint_that_is_no_url_fails_at_start_up_naming_the_variable(endpoint: str) -> None:
    with pytest.raises(ValueError, match=r"^OTEL_EXPORTER_OTLP_ENDPOINT must look like"):
        exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})


def test_calls_are_exported_as_genai_metrics_and_spans(receiver: Receiver) -> None:
    exporter = exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}"})
    assert isinstance(exporter, OtelExporter)
    with SimulatorProcess(load_scenario("instant")) as simulator, collecting() as collector:
        client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-otel", max_retries=0)
        server_port = simulator.port
        client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])
        stream = client.chat.completions.create(
            model="gpt-3.5-turbo",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass
    for recording in collector.recordings:
        exporter.observe_call(trace_call(recording))
    exporter.shutdown()

    assert receiver.content_types == {"application/x-protobuf"}
    points: dict[str, int] = {}
    for request in receiver.metrics:
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    # Cumulative temporality: the latest export holds the totals.
                    points[metric.name] = sum(p.count for p in metric.histogram.data_points)
                    first = metric.histogram.data_points[0]
                    attributes = {a.key: a.value.string_value or a.value.int_value for a in first.attributes}
                    assert attributes["gen_ai.operation.name"] == "chat"
                    assert attributes["gen_ai.provider.name"] == "openai"
                    assert attributes["server.address"] == "127.0.0.1"
                    assert attributes["server.port"] == server_port
                    if metric.name != "gen_ai.client.token.usage":
                        # The conventions give the three duration metrics the same buckets, in seconds.
                        assert metric.unit == "s"
                        assert list(first.explicit_bounds) == list(DURATION_BUCKETS)
    assert points["gen_ai.client.operation.duration"] == 2
    assert points["gen_ai.client.token.usage"] == 4  # input and output, per call
    assert points["gen_ai.client.operation.time_to_first_chunk"] == 1  # the stream only
    # One point per content chunk after the first, of the one stream (8 tokens: 7 gaps).
    assert points["gen_ai.client.operation.time_per_output_chunk"] == 7

    spans = [s for r in receiver.traces for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(spans) == 2
    streamed = 0
    for span in spans:
        assert span.name == "chat gpt-3.5-turbo"
        values = {a.key: a.value for a in span.attributes}
        attributes = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == "openai" and attributes["server.address"] == "127.0.0.1"
        stream = values["gen_ai.request.stream"].bool_value
        streamed += stream
        ttft = values.get("gen_ai.response.time_to_first_chunk")
        assert (ttft is not None and 0 < ttft.double_value < 5) if stream else ttft is None
        assert str(attributes["openai.request_id"]).startswith("req_")
        events = {e.name for e in span.events}
        assert {"attempt", "phase.server_wait", "phase.network", "phase.local_pre"} <= events
        assert span.end_time_unix_nano > span.start_time_unix_nano
    assert streamed == 1
