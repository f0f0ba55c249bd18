"""python -m profiler.simulator: serve an OpenAI-compatible API in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from profiler.cli_parser import OneLineParser

from .scenario import BUILTIN_SCENARIOS, Scenario, ScenarioError, load_scenario, parse_scenario_json
from .tls import create_certificates, server_ssl_check

PROG = "python -m profiler.simulator"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Serve an OpenAI-compatible API whose latency and failures follow a scenario:\n"
            "POST /v1/chat/completions, /v1/responses, /v1/completions, /v1/embeddings;\n"
            "GET /v1/responses/{id}, /v1/models, /v1/models/{id}. Point a client at the\n"
            "printed base URL with any API key. See docs/simulator.md."
        ),
        epilog=f"example:\n  {PROG} --port 8000 --scenario flaky --ground-truth ground_truth.jsonl",
    )
    parser.add_argument(
        "--host", type=_host, default="127.0.0.1", help="interface to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="port to listen on, 0..65535; 0 lets the OS pick a free one (default: %(default)s)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        type=_scenario_source,
        default=BUILTIN_SCENARIOS["default"],
        help=f"built-in scenario ({', '.join(BUILTIN_SCENARIOS)}) or a JSON scenario file (default: default)",
    )
    source.add_argument(
        "--scenario-json",
        metavar="JSON",
        dest="scenario",
        type=_scenario_json,
        help="the scenario as a JSON object, fields as in a scenario file (how SimulatorProcess passes one)",
    )
    parser.add_argument(
        "--ground-truth",
        metavar="FILE",
        type=_new_or_writable_file,
        help="append one JSON line per request received, saying what the server really did",
    )
    tls = parser.add_argument_group("HTTPS")
    tls.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a throw-away test CA made at start; its certificate's path is printed",
    )
    tls.add_argument(
        "--tls-cert", metavar="FILE", type=_readable_file, help="serve HTTPS with this PEM chain"
    )
    tls.add_argument("--tls-key", metavar="FILE", type=_readable_file, help="the private key of --tls-cert")
    parser.add_argument("--access-log", action="store_true", help="log every request uvicorn-style to stderr")
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="warning",
        help="server log level; 'info' also reports clients that give up during a stall "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--managed",
        action="store_true",
        help="run as SimulatorProcess's child: print 'READY <port>' once listening, exit when stdin closes",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls and args.tls_cert is not None:
        parser.error("--tls makes its own certificate; drop --tls-cert/--tls-key or --tls")
    if args.tls_cert is not None:
        try:
            server_ssl_check(args.tls_cert, args.tls_key)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            parser.error(f"argument --tls-cert/--tls-key: not a certificate and its key ({_reason(exc)})")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Imported once the options are known to be good, so bad usage is answered at once.
    from .app import create_app
    from .server import bind, serve

    scenario: Scenario = args.scenario
    try:
        app = create_app(scenario, args.ground_truth)
    except OSError as exc:
        return _fail(f"cannot open ground-truth file {args.ground_truth}: {exc.strerror or exc}", 2)
    _log_to_stderr(args.log_level)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1)

    with _tls_files(args) as tls:
        scheme = "https" if tls else "http"

        def announce(port: int) -> None:
            if args.managed:
                print(f"READY {port}", flush=True)
                return
            host = f"[{args.host}]" if ":" in args.host else args.host
            trust = f"; CA certificate {args.ca_path}" if args.tls else ""
            print(
                f"scenario {scenario.name!r}: serving {scheme}://{host}:{port}/v1{trust} (Ctrl-C to stop)",
                flush=True,
            )

        # uvicorn re-raises SIGTERM once it has shut down; the default action would kill the
        # process before the test CA's directory is removed, so it ends like a Ctrl-C instead.
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a foreground server is meant to stop
            serve(
                app,
                sock,
                on_ready=announce,
                access_log=args.access_log,
                log_level=args.log_level,
                exit_on_stdin_eof=args.managed,
                tls=tls,
            )
    return 0


@contextlib.contextmanager
def _tls_files(args: argparse.Namespace) -> Iterator[tuple[str, str] | None]:
    if args.tls_cert is not None:
        yield (str(args.tls_cert), str(args.tls_key))
        return
    if not args.tls:
        yield None
        return
    certificates = create_certificates()
    args.ca_path = certificates.ca_path
    try:
        yield (str(certificates.cert_path), str(certificates.key_path))
    finally:
        certificates.remove()


# --- option types: each refuses a bad value at parse time, in words argparse puts after the option ---


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def _host(text: str) -> str:
    if not text or any(char.isspace() for char in text):
        raise argparse.ArgumentTypeError(f"not a host name or address: {text!r}")
    return text


def _scenario_source(text: str) -> Scenario:
    try:
        return load_scenario(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _scenario_json(text: str) -> Scenario:
    try:
        return parse_scenario_json(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _new_or_writable_file(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create {text}: no directory {parent}")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: permission denied")
    return path


def _readable_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read {text}")
    return path


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _log_to_stderr(level: str) -> None:
    # uvicorn configures only its own loggers; the simulator's notes need a handler too.
    logger = logging.getLogger("profiler.simulator")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level.upper())


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
