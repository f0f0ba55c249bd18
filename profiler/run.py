"""``python -m profiler.run``: profile the sample ChatGPT workload, or your own program.

This module parses and checks the command line — every option at parse time,
one clear line and exit 2 for bad usage — and hands over to a mode
(:mod:`profiler.modes.sample`, :mod:`profiler.modes.script`).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from profiler.cli_parser import OneLineParser
from profiler.modes.common import UsageError
from profiler.profiling.passes import PROFILER_CHOICES
from profiler.report.console import make_console
from profiler.script import Program, check
from profiler.simulator import BUILTIN_SCENARIOS, ScenarioError, load_scenario
from profiler.target import TargetError, resolve_target
from profiler.workload import MODEL

EXIT_USAGE = 2
PROG = "python -m profiler.run"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _directory(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: name a directory (. for this one)")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        usage="%(prog)s [options] [SCRIPT [ARGS ...] | -m MODULE [ARGS ...]]",
        description=(
            "Find out why a program that calls the OpenAI API is slow or failing: split every call into "
            "network phases and local processing, measure latency and errors, and save cProfile and "
            "pyinstrument profiles. Without SCRIPT or -m it runs a sample ChatGPT workload; without a base "
            "URL the calls go to an embedded OpenAI-compatible simulator on 127.0.0.1."
        ),
        epilog=(
            "examples:\n"
            "  python -m profiler.run                               # 10 requests to the simulator\n"
            "  python -m profiler.run --scenario slow --stream      # a slow server, streamed\n"
            "  python -m profiler.run --local-work-ms 300           # heavy local post-processing\n"
            "  OPENAI_API_KEY=... python -m profiler.run --base-url https://api.openai.com/v1\n"
            "  python -m profiler.run app.py --input data.csv       # your program, once, as python runs it\n"
            "  python -m profiler.run --simulate -m mypkg.worker    # your module, against the simulator\n"
            "  python -m profiler.compare profiles/A profiles/B     # what changed between two runs\n"
            "\nexit status: 0 ok, 1 no request succeeded, 2 bad usage, 130 interrupted (results kept);\n"
            "with SCRIPT or -m: the program's own exit status"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    workload = parser.add_argument_group("the sample workload")
    workload.add_argument(
        "--requests", "-n", type=_positive_int, default=10, metavar="N",
        help="number of chat completion calls per pass (default: 10)",
    )  # fmt: skip
    workload.add_argument(
        "--concurrency", "-c", type=_positive_int, default=1, metavar="C",
        help="at most C calls in flight (threads: C worker threads sharing one client) (default: 1)",
    )  # fmt: skip
    workload.add_argument(
        "--client", choices=("threads", "async"), default="threads",
        help="threads: the sync OpenAI client from worker threads; async: AsyncOpenAI on one event loop, "
        "with its lag measured (default: threads)",
    )  # fmt: skip
    workload.add_argument(
        "--uvloop",
        action="store_true",
        help="with --client async: run on uvloop's event loop (pip install uvloop)",
    )
    workload.add_argument(
        "--rate", type=_positive_float, default=None, metavar="R",
        help="open loop: start R calls per second whatever the server does (at most C in flight); latency "
        "then counts from each call's scheduled start, its wait in the client reported apart "
        "(default: closed loop, the next call when one ends). With --locust: each of the C users paced "
        "at R/C calls per second, a call's latency from its start (no scheduled start)",
    )  # fmt: skip
    workload.add_argument(
        "--arrival", choices=("poisson", "constant"), default="poisson",
        help="with --rate: Poisson arrivals (seeded) or evenly spaced ones (default: poisson)",
    )  # fmt: skip
    workload.add_argument(
        "--tls", action="store_true",
        help="serve the embedded simulator over HTTPS (a throw-away test CA the client trusts), so the run "
        "has a TLS phase as against a real endpoint",
    )  # fmt: skip
    workload.add_argument(
        "--stream", action="store_true", help="stream the replies (adds TTFT, inter-token latency and TPOT)"
    )
    workload.add_argument(
        "--local-work-ms", type=_non_negative_float, default=0.0, metavar="MS",
        help="add exactly MS milliseconds of CPU work to each reply's post-processing (default: 0)",
    )  # fmt: skip
    workload.add_argument(
        "--model", default=MODEL, metavar="M", help=f"model name to request (default: {MODEL})"
    )
    workload.add_argument(
        "--choices", type=_positive_int, default=3, metavar="K",
        help="completions per request, the API's n (default: 3)",
    )  # fmt: skip

    target = parser.add_argument_group("target")
    target.add_argument(
        "--base-url", metavar="URL",
        help="an OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 (default: $OPENAI_BASE_URL, "
        "else the embedded simulator); the key comes from $OPENAI_API_KEY",
    )  # fmt: skip
    target.add_argument(
        "--scenario", default="default", metavar="NAME|FILE",
        help="simulator behaviour: a built-in name (" + ", ".join(BUILTIN_SCENARIOS)
        + ") or a JSON file; see docs/simulator.md (default: default)",
    )  # fmt: skip
    target.add_argument(
        "--timeout", type=_positive_float, default=None, metavar="S",
        help="client timeout per attempt in seconds (default: the scenario's hint, else 60)",
    )  # fmt: skip
    target.add_argument(
        "--max-retries", type=_non_negative_int, default=2, metavar="R",
        help="the SDK's retries on 408/409/429/5xx and connection errors (default: 2)",
    )  # fmt: skip

    output = parser.add_argument_group("output")
    output.add_argument(
        "--profiler", choices=PROFILER_CHOICES, default=None,
        help="profilers to run: for the sample workload, one extra pass each after the trace-only "
        "measurement (default: both); for your program, attached to its one run (default: pyinstrument)",
    )  # fmt: skip
    output.add_argument(
        "--output-dir", "-o", type=_directory, metavar="DIR",
        help="where to write the results (default: profiles/<UTC timestamp>/)",
    )  # fmt: skip
    output.add_argument(
        "--force", action="store_true", help="replace the run already in --output-dir (default: refuse)"
    )
    output.add_argument(
        "--view",
        action="store_true",
        help="serve the cProfile profile with snakeviz on 127.0.0.1 and print its URL",
    )
    output.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    output.add_argument(
        "--wire-arrivals", action="store_true",
        help="take every read's arrival and every write's departure from a packet capture of the "
        "target's port (Linux, root or CAP_NET_RAW): exact however busy the process is, where the "
        "socket's own stamps are lost once it reads late; without the privilege, says so and goes on "
        "(docs/arrival-times.md)",
    )  # fmt: skip

    load = parser.add_argument_group("load test (docs/load.md)")
    load.add_argument(
        "--locust", action="store_true",
        help="run the sample workload as Locust users: a master and --workers workers on 127.0.0.1, "
        "one merged run (users = --concurrency, --rate spread over them)",
    )  # fmt: skip
    load.add_argument(
        "--workers", type=_positive_int, default=2, metavar="W",
        help="with --locust: worker processes (default: 2)",
    )  # fmt: skip

    program = parser.add_argument_group(
        "your program",
        "Run SCRIPT (or -m MODULE) once, as Python would, with every OpenAI client it creates "
        "instrumented and the profilers attached to every thread it starts. "
        "The exit status is the program's.",
    )
    program.add_argument("-m", dest="module", metavar="MODULE", help="run a library module as a script")
    program.add_argument(
        "--simulate", action="store_true",
        help="point the program at the embedded simulator (sets OPENAI_BASE_URL and a dummy "
        "OPENAI_API_KEY in its environment; --scenario applies)",
    )  # fmt: skip
    program.add_argument(
        "--separate-passes", action="store_true",
        help="measure in a trace-only run, then run the program again once per profiler with its "
        "output hidden: 1 + (number of profilers) runs, so every API call and side effect repeats",
    )  # fmt: skip
    program.add_argument(
        "program", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS]",
        help="the script and its arguments (after -m: the module's arguments)",
    )  # fmt: skip
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Like ``python -m``: everything after ``-m MODULE`` is the module's, options included."""
    if "-m" in argv:
        split = argv.index("-m") + 2
        args = parser.parse_args(argv[:split])
        if not args.program:  # no script came first, so -m is ours
            args.program = argv[split:]
            return args
    return parser.parse_args(argv)


def _usage_error(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return EXIT_USAGE


# The sample workload's options (destination, as written): a program runs its own calls instead.
_WORKLOAD_OPTIONS = (
    ("requests", "--requests"),
    ("concurrency", "--concurrency"),
    ("client", "--client"),
    ("uvloop", "--uvloop"),
    ("tls", "--tls"),
    ("rate", "--rate"),
    ("arrival", "--arrival"),
    ("stream", "--stream"),
    ("local_work_ms", "--local-work-ms"),
    ("model", "--model"),
    ("choices", "--choices"),
)


def _ignored_option(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """An option given a value the run would not use: the line that says so (else None)."""

    def given(dest: str) -> bool:
        return getattr(args, dest) != parser.get_default(dest)

    if args.module or args.program:
        for dest, option in _WORKLOAD_OPTIONS:
            if given(dest):
                return f"{option} applies to the sample workload; your program makes its own calls"
        if args.view:
            return "--view serves the sample workload's profile; yours: the snakeviz line the run prints"
    if given("workers") and not args.locust:
        return "--workers needs --locust"
    if given("arrival") and args.rate is None:
        return "--arrival needs --rate (arrivals of an open loop)"
    if args.view and args.locust:
        return "--view serves a cProfile profile, and a load test writes none"
    if args.locust and args.tls:
        return "--tls: not with --locust (the workers call the simulator over plain HTTP)"
    if args.locust and given("arrival"):
        return "--arrival: not with --locust (Locust paces each user at a constant rate)"
    if args.locust and args.profiler is not None:
        return "--profiler: not with --locust (a load test's workers are not profiled)"
    if args.view and args.profiler in ("pyinstrument", "none"):
        return f"--view serves the cProfile profile: not with --profiler {args.profiler}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, sys.argv[1:] if argv is None else argv)
    ignored = _ignored_option(parser, args)
    if ignored is not None:
        return _usage_error(ignored)
    console = make_console()
    try:
        return _dispatch(args, console)
    except UsageError as exc:
        return _usage_error(str(exc))


def _dispatch(args: argparse.Namespace, console: object) -> int:
    from profiler.monitor.shipping import handlers_from_env

    is_program = bool(args.module or args.program)
    try:
        shippers = handlers_from_env()
        if is_program:
            program = (
                Program(module=args.module, args=tuple(args.program))
                if args.module
                else Program(script=Path(args.program[0]), args=tuple(args.program[1:]))
            )
            problem = check(program)
            if problem:
                return _usage_error(problem)
            scenario = load_scenario(args.scenario) if args.simulate else None
        else:
            target = resolve_target(args.base_url)
            scenario = load_scenario(args.scenario) if target.embedded else None
            if args.tls and not target.embedded:
                return _usage_error(
                    "--tls applies to the embedded simulator; a --base-url has its own scheme"
                )
            if args.uvloop and args.client != "async":
                return _usage_error("--uvloop needs --client async")
            if args.uvloop:
                try:
                    import uvloop  # noqa: F401
                except ImportError:
                    return _usage_error("--uvloop: uvloop is not installed (pip install uvloop)")
    except (TargetError, ScenarioError, ValueError) as exc:
        return _usage_error(str(exc))
    if is_program:
        from profiler.modes.script import run_script

        if args.locust:
            return _usage_error("--locust runs the sample workload; your own tasks: see docs/load.md")

        if args.profiler == "both" and not args.separate_passes:
            return _usage_error(
                "--profiler both needs --separate-passes for your program: cProfile and pyinstrument "
                "cannot profile one run at once (a Python thread has one profile hook)"
            )

        return run_script(args, program, args.profiler or "pyinstrument", scenario, shippers, console)  # type: ignore[arg-type]
    if args.locust:
        from profiler.load.launch import run_locust

        if args.client != "threads":
            return _usage_error("--locust: Locust runs the users (gevent); --client async does not apply")
        if args.wire_arrivals:
            return _usage_error("--wire-arrivals: not with --locust (the workers take the socket's stamps)")

        try:
            return run_locust(args, target, scenario, console)  # type: ignore[arg-type]
        except KeyboardInterrupt:  # before the master started: there is nothing to write yet
            print("python -m profiler.run: interrupted before the load test started; no run written")
            return 130
    from profiler.modes.sample import run_sample

    args.profiler = args.profiler or "both"
    return run_sample(args, target, scenario, shippers, console)  # type: ignore[arg-type]


__all__ = ["build_parser", "main", "parse_args"]

if __name__ == "__main__":
    sys.exit(main())
