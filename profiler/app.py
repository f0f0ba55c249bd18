"""``python -m profiler.app``: a monitored Flask ``/chat`` service.

``POST /chat`` calls the OpenAI API through the instrumented SDK and returns
the completion with its timing breakdown; ``GET /metrics`` serves Prometheus
metrics; ``GET /healthz`` says it is up. Errors are logged as JSON records
(with tracebacks) and shipped to Loggly/Splunk when configured; callers get a
generic message and the request id, never exception text or internals.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from contextlib import ExitStack
from typing import Any

import openai
from flask import Flask, Response, g, jsonify, request

from profiler.monitor.error_log import ERROR_LOGGER, json_handler, log_call_errors
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.otel import OtelExporter, exporter_from_env
from profiler.target import client_timeout
from profiler.trace.derive import trace_call
from profiler.trace.instrument import collecting_here
from profiler.trace.kinds import RATE_LIMIT, TIMEOUT
from profiler.trace.model import RequestTrace
from profiler.workload import MODEL, stream_texts

MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGES = 100
_ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})

log = logging.getLogger(ERROR_LOGGER)


class BadRequest(ValueError):
    """The client's request cannot be served as sent (message safe to return)."""


def parse_chat_request(body: Any) -> tuple[list[dict[str, str]], str, bool]:
    """(messages, model, stream) from a /chat body, or :class:`BadRequest`."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    model = body.get("model", MODEL)
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' must be a non-empty string")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be true or false")
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
            raise BadRequest(f"'messages' must be a list of 1 to {MAX_MESSAGES} messages")
        for index, message in enumerate(messages):
            if (
                not isinstance(message, dict)
                or message.get("role") not in _ROLES
                or not isinstance(message.get("content"), str)
            ):
                raise BadRequest(
                    f"messages[{index}] must be an object with a known 'role' and a string 'content'"
                )
        return [{"role": m["role"], "content": m["content"]} for m in messages], model, stream
    if "prompt" in body:
        prompt = body["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise BadRequest("'prompt' must be a non-empty string")
        return [{"role": "user", "content": prompt}], model, stream
    raise BadRequest("the body needs 'messages' (OpenAI chat format) or 'prompt'")


def upstream_status(kind: str | None) -> int:
    """The status a caller gets when the upstream API failed this way."""
    if kind == TIMEOUT:
        return 504
    if kind == RATE_LIMIT:
        return 503
    return 502


def _complete(
    client: openai.OpenAI, messages: list[dict[str, str]], model: str, stream: bool
) -> dict[str, Any]:
    if not stream:
        completion = client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
        return {
            "model": completion.model,
            "choices": [
                {"index": c.index, "message": {"role": "assistant", "content": c.message.content}}
                for c in completion.choices
            ],
        }
    chunks = list(
        client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},  # type: ignore[arg-type]
        )
    )
    response_model = next((chunk.model for chunk in chunks if chunk.model), model)
    return {
        "model": response_model,
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text}}
            for i, text in enumerate(stream_texts(chunks))
        ],
    }


def _timing(trace: RequestTrace) -> dict[str, Any]:
    timing = {
        key: None if value is None else round(value * 1000, 3) for key, value in trace.breakdown().items()
    }
    return {"latency_ms": round(trace.e2e * 1000, 3), "attempts": len(trace.attempts), "phases_ms": timing}


def create_app(
    client: openai.OpenAI, metrics: ServiceMetrics | None = None, otel: OtelExporter | None = None
) -> Flask:
    app = Flask("profiler.app")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    metrics = metrics or ServiceMetrics()
    app.extensions["profiler_metrics"] = metrics

    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(request.method, route, response.status_code, time.perf_counter() - g.started)
        return response

    @app.errorhandler(413)
    def _too_large(_error: Exception) -> tuple[Response, int]:
        return jsonify(error={"message": f"the body is larger than {MAX_BODY_BYTES} bytes"}), 400

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        status = getattr(error, "code", None)
        if isinstance(status, int) and 400 <= status < 500:
            return jsonify(error={"message": getattr(error, "description", "bad request")}), status
        log.error("unhandled error", exc_info=error, extra={"event": "app_error"})
        return jsonify(error={"message": "internal error"}), 500

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")

    @app.post("/chat")
    def chat() -> tuple[Response, int]:
        body = request.get_json(silent=True, force=True)
        try:
            messages, model, stream = parse_chat_request(body)
        except BadRequest as problem:
            return jsonify(error={"message": str(problem)}), 400
        with collecting_here() as collector:
            try:
                answer = _complete(client, messages, model, stream)
                failure: BaseException | None = None
            except Exception as exc:  # the upstream failed: the caller gets a generic answer
                answer, failure = {}, exc
        trace = trace_call(collector.recordings[-1], collector.origin) if collector.recordings else None
        if trace is not None:
            metrics.observe_call(trace)
            if otel is not None:
                otel.observe_call(trace)
            log_call_errors(trace, log, exc_info=failure)
        elif failure is not None:
            log.error("chat failed before any API call", exc_info=failure, extra={"event": "app_error"})
        request_id = trace.x_request_id if trace else None
        if failure is not None or (trace is not None and not trace.ok):
            kind = trace.error_kind if trace else None
            message = "the language model service did not answer; try again later"
            error = {"message": message, "kind": kind, "request_id": request_id}
            return jsonify(error=error), upstream_status(kind)
        assert trace is not None
        return jsonify(
            id=trace.call_id,
            request_id=request_id,
            **answer,
            usage={"input_tokens": trace.input_tokens, "output_tokens": trace.output_tokens},
            timing=_timing(trace),
        ), 200

    return app


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m profiler.app",
        description="A monitored Flask /chat service in front of the OpenAI API (or the embedded simulator "
        "when neither OPENAI_API_KEY nor a base URL is set). Serves POST /chat, GET /metrics, GET /healthz.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    parser.add_argument(
        "--scenario",
        default="default",
        metavar="NAME|FILE",
        help="simulator scenario when fronting the embedded simulator (default: default)",
    )
    parser.add_argument(
        "--base-url", metavar="URL", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)"
    )
    parser.add_argument(
        "--max-retries", type=int, default=2, metavar="R", help="the SDK's retries (default: 2)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="client timeout per attempt (default: the scenario's hint, else 60)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from profiler.monitor.shipping import handlers_from_env
    from profiler.simulator import ScenarioError, SimulatorProcess, load_scenario
    from profiler.target import TargetError, redact_url, resolve_target

    args = _parse_args(argv)
    try:
        target = resolve_target(args.base_url)
        scenario = load_scenario(args.scenario) if target.embedded else None
        shippers = handlers_from_env()
        otel = exporter_from_env()
    except (TargetError, ScenarioError, ValueError) as exc:
        print(f"python -m profiler.app: error: {exc}", file=sys.stderr)
        return 2
    log.setLevel(logging.INFO)
    log.addHandler(json_handler(sys.stderr))
    for shipper in shippers:
        log.addHandler(shipper)
    with ExitStack() as stack:
        base_url = target.base_url
        if scenario is not None:
            base_url = stack.enter_context(SimulatorProcess(scenario)).base_url
        timeout = client_timeout(args.timeout, scenario.client_timeout_s if scenario else None)
        client = openai.OpenAI(
            base_url=base_url, api_key=target.api_key, timeout=timeout, max_retries=args.max_retries
        )
        app = create_app(client, otel=otel)
        upstream = redact_url(base_url)
        print(f"profiler.app: serving on http://{args.host}:{args.port} (upstream {upstream})", flush=True)
        app.run(host=args.host, port=args.port, threaded=True)
    if otel is not None:
        otel.shutdown()
    for shipper in shippers:
        shipper.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
