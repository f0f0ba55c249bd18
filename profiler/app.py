"""``python -m profiler.app``: a monitored Flask ``/chat`` service.

``POST /chat`` calls the OpenAI API through the instrumented SDK and returns
the completion with its ids (this request's, as in ``X-Request-ID``, and the
API's) and usage (``POST /chat?timing=1``: and the call's timing breakdown,
derived in the request); ``GET /metrics`` serves Prometheus
metrics; ``GET /healthz`` says it is up. The monitoring is the same one line a
user's app gets (:class:`profiler.monitor.Monitor`): errors are logged as JSON
records (with tracebacks) and shipped to Loggly/Splunk when configured; callers
get a generic message and the request id, never exception text or internals.
``/chat`` takes what the Chat Completions API takes (:mod:`profiler.monitor.chat_input`)
and answers 400, not 500, to anything it would refuse.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from contextlib import ExitStack
from typing import Any

import openai
from flask import Flask, Response, jsonify, request

from profiler.cli_parser import OneLineParser
from profiler.monitor.answers import UPSTREAM_MESSAGE, upstream_status
from profiler.monitor.chat_input import MAX_MESSAGES, BadRequest, ChatInput, parse_chat_input
from profiler.monitor.error_log import ERROR_LOGGER
from profiler.monitor.flask_ext import Monitor
from profiler.monitor.json_body import BadJson, parse_json_body
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.otel import OtelExporter
from profiler.monitor.scope import current_fields
from profiler.monitor.telemetry import Telemetry
from profiler.target import client_timeout
from profiler.trace.derive import trace_call
from profiler.trace.instrument import collecting_here
from profiler.trace.model import RequestTrace
from profiler.trace.recording import Collector
from profiler.workload import MODEL, stream_texts

MAX_BODY_BYTES = 64 * 1024
# ``POST /chat?timing=1`` answers with the call's timing breakdown too (derived in the request).
_TIMING_FLAGS = {None: False, "0": False, "false": False, "1": True, "true": True}
PROG = "python -m profiler.app"
__all__ = ["MAX_BODY_BYTES", "MAX_MESSAGES", "BadRequest", "create_app", "main", "upstream_status"]

log = logging.getLogger(ERROR_LOGGER)


def _complete(client: openai.OpenAI, chat: ChatInput) -> dict[str, Any]:
    """The answer's ``request_id``, ``model`` and ``choices``."""
    if not chat.stream:
        completion = client.chat.completions.create(model=chat.model, messages=chat.messages)  # type: ignore[arg-type]
        return {
            "request_id": completion._request_id,  # the SDK read x-request-id already
            "model": completion.model,
            "choices": [
                {"index": c.index, "message": {"role": "assistant", "content": c.message.content}}
                for c in completion.choices
            ],
        }
    stream = client.chat.completions.create(
        model=chat.model,
        messages=chat.messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    response_model = next((chunk.model for chunk in chunks if chunk.model), chat.model)
    return {
        "request_id": stream.response.headers.get("x-request-id"),
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


def _bad_request(message: str) -> tuple[Response, int]:
    return jsonify(error={"message": message}), 400


def create_app(
    client: openai.OpenAI,
    metrics: ServiceMetrics | None = None,
    otel: OtelExporter | None = None,
    telemetry: Telemetry | None = None,
) -> Flask:
    """The ``/chat`` service; ``telemetry`` (default: its own metrics, ``otel``, no log handlers)."""
    app = Flask("profiler.app")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    if telemetry is None:
        telemetry = Telemetry(metrics=metrics or ServiceMetrics(), otel=otel, error_stream=None)
    monitor = Monitor(app, telemetry=telemetry)
    app.extensions["profiler_metrics"] = telemetry.metrics

    @app.errorhandler(413)
    def _too_large(_error: Exception) -> tuple[Response, int]:
        return _bad_request(f"the body is larger than {MAX_BODY_BYTES} bytes")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        status = getattr(error, "code", None)
        if isinstance(status, int) and 400 <= status < 500:
            return jsonify(error={"message": getattr(error, "description", "bad request")}), status
        monitor.log_unhandled(error, "unhandled error")
        return jsonify(error={"message": "internal error"}), 500

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.post("/chat")
    def chat() -> Response | tuple[Response, int]:
        timing = request.args.get("timing") if request.query_string else None  # parsed only if sent
        if timing not in _TIMING_FLAGS:
            return _bad_request("the query parameter 'timing' must be 1, true, 0 or false")
        with_timing = _TIMING_FLAGS[timing]
        try:
            body = parse_json_body(request.get_data(cache=False))
        except BadJson as problem:
            return _bad_request(f"the body must be a JSON object: {problem}")
        try:
            chat = parse_chat_input(body, MODEL)
        except BadRequest as problem:
            return _bad_request(str(problem))
        # A scope of its own inside the monitor's: /chat answers with the call's request id, usage
        # and, when asked, its timing.
        collector = Collector()
        with collecting_here(collector):
            try:
                answer = _complete(client, chat)
                failure: BaseException | None = None
            except Exception as exc:  # the upstream failed: the caller gets a generic answer
                answer, failure = {}, exc
        recording = collector.recordings[-1] if collector.recordings else None
        trace: RequestTrace | None = None
        if recording is None:
            if failure is not None:
                monitor.log_unhandled(failure, "chat failed before any API call")
        elif with_timing or failure is not None or recording.error_kind is not None:
            trace = trace_call(recording, collector.origin)
            telemetry.observe_trace(trace, exc_info=failure)
        else:
            # Derived in the monitor's worker, after the answer, as any monitored route's call is:
            # the derivation is most of what answering with the timing costs (docs/performance.md).
            telemetry.on_done(recording)
        if recording is None or failure is not None or recording.error_kind is not None:
            kind = recording.error_kind if recording else None
            request_id = recording.x_request_id if recording else None
            error = {"message": UPSTREAM_MESSAGE, "kind": kind, "request_id": request_id}
            return jsonify(error=error), upstream_status(kind)
        extra = {} if trace is None else {"timing": _timing(trace)}
        fields = current_fields()  # the monitor's scope: this request's id, as in X-Request-ID and the log
        return jsonify(  # a Response, not a (response, status) pair Flask would take apart
            id=fields["http_request_id"] if fields is not None else None,
            **answer,
            usage={
                "input_tokens": recording.usage_input_tokens,
                "output_tokens": recording.usage_output_tokens,
            },
            **extra,
        )

    return app


# --- the command line: every option checked while parsing, one line and exit 2 when wrong ------------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1 to 65535)")
    return port


def _host(text: str) -> str:
    if not text or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"not a host name or address: {text!r}")
    try:
        socket.getaddrinfo(text, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise argparse.ArgumentTypeError(f"{text!r} is no address this machine can listen on") from None
    return text


def _retries(text: str) -> int:
    try:
        retries = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= retries <= 100:
        raise argparse.ArgumentTypeError(f"{retries} is not 0 to 100")
    return retries


def _timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < seconds <= 3600:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} is not more than 0 and at most 3600 seconds")
    return seconds


def _base_url(text: str) -> str:
    from profiler.target import TargetError, check_base_url

    try:
        check_base_url(text)  # its messages show the URL redacted, never its credentials
    except TargetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _scenario(text: str) -> Any:
    from profiler.simulator import ScenarioError, load_scenario

    try:
        return load_scenario(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(
        prog=PROG,
        description="A monitored Flask /chat service in front of an OpenAI-compatible API: --base-url or "
        "$OPENAI_BASE_URL (with $OPENAI_API_KEY), else the embedded simulator (a key alone does not send "
        "the calls to OpenAI). Serves POST /chat, GET /metrics, GET /healthz.",
    )
    parser.add_argument(
        "--host", type=_host, default="127.0.0.1", help="address to bind (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=_port, default=5000, help="port, 1 to 65535 (default: 5000)")
    parser.add_argument(
        "--scenario",
        type=_scenario,
        default="default",
        metavar="NAME|FILE",
        help="simulator scenario when fronting the embedded simulator (default: default)",
    )
    parser.add_argument(
        "--base-url",
        type=_base_url,
        metavar="URL",
        help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)",
    )
    parser.add_argument(
        "--max-retries",
        type=_retries,
        default=2,
        metavar="R",
        help="the SDK's retries, 0 to 100 (default: 2)",
    )
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=None,
        metavar="S",
        help="client timeout per attempt in seconds (default: the scenario's hint, else 60)",
    )
    return parser.parse_args(argv)


def _listener(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, handed to werkzeug, which left to bind itself answers a port
    in use with two lines of its own and exits."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def main(argv: list[str] | None = None) -> int:
    from werkzeug.serving import make_server

    from profiler.simulator import SimulatorProcess
    from profiler.target import TargetError, key_without_url_note, redact_url, resolve_target

    args = _parse_args(argv)
    try:
        target = resolve_target(args.base_url)
        telemetry = Telemetry.from_env(metrics=ServiceMetrics())
    except (TargetError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    scenario = args.scenario if target.embedded else None
    with ExitStack() as stack:
        base_url = target.base_url
        if scenario is not None:
            base_url = stack.enter_context(SimulatorProcess(scenario)).base_url
        timeout = client_timeout(args.timeout, scenario.client_timeout_s if scenario else None)
        client = openai.OpenAI(
            base_url=base_url, api_key=target.api_key, timeout=timeout, max_retries=args.max_retries
        )
        app = create_app(client, telemetry=telemetry)
        try:
            listener = _listener(args.host, args.port)
        except OSError as exc:  # the port taken, the address not this machine's
            reason = os.strerror(exc.errno) if exc.errno else exc
            print(f"{PROG}: error: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
            return 1
        with listener:  # werkzeug serves on its own copy of the socket
            server = make_server(args.host, args.port, app, threaded=True, fd=listener.fileno())
        if target.key_without_url:
            print(key_without_url_note(), file=sys.stderr)
        upstream = redact_url(base_url)
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"profiler.app: serving on http://{host}:{args.port} (upstream {upstream})", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    telemetry.close()
    for handler in telemetry.log_handlers:
        handler.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
