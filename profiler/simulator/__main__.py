"""python -m profiler.simulator: serve an OpenAI-compatible API in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .app import create_app
from .scenario import BUILTIN_SCENARIOS, Scenario, ScenarioError, load_scenario
from .server import bind, serve

PROG = "python -m profiler.simulator"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Serve an OpenAI-compatible Chat Completions API (POST /v1/chat/completions,\n"
            "GET /v1/models) whose latency and failures follow a scenario. Point a client\n"
            "at the printed base URL with any API key. See docs/simulator.md."
        ),
        epilog=f"example:\n  {PROG} --port 8000 --scenario flaky --ground-truth ground_truth.jsonl",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on; 0 lets the OS pick a free one (default: %(default)s)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        default="default",
        help=f"built-in scenario ({', '.join(BUILTIN_SCENARIOS)}) or a JSON scenario file "
        "(default: %(default)s)",
    )
    source.add_argument(
        "--scenario-json",
        metavar="JSON",
        help="the scenario as a JSON object, fields as in a scenario file (how SimulatorProcess passes one)",
    )
    parser.add_argument(
        "--ground-truth",
        metavar="FILE",
        type=Path,
        help="append one JSON line per request received, saying what the server really did",
    )
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scenario = _scenario(args)
    except ScenarioError as exc:
        return _fail(str(exc), 2)
    try:
        app = create_app(scenario, args.ground_truth)
    except OSError as exc:
        return _fail(f"cannot open ground-truth file {args.ground_truth}: {exc.strerror or exc}", 2)
    _log_to_stderr(args.log_level)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1)

    def announce(port: int) -> None:
        if args.managed:
            print(f"READY {port}", flush=True)
        else:
            host = f"[{args.host}]" if ":" in args.host else args.host
            print(f"scenario {scenario.name!r}: serving http://{host}:{port}/v1 (Ctrl-C to stop)", flush=True)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a foreground server is meant to stop
        serve(
            app,
            sock,
            on_ready=announce,
            access_log=args.access_log,
            log_level=args.log_level,
            exit_on_stdin_eof=args.managed,
        )
    return 0


def _scenario(args: argparse.Namespace) -> Scenario:
    if args.scenario_json is None:
        return load_scenario(args.scenario)
    try:
        data = json.loads(args.scenario_json)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"--scenario-json: invalid JSON: {exc.msg}") from None
    try:
        return Scenario.from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError(f"--scenario-json: {exc}") from None


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
