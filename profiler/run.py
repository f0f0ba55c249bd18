"""``python -m profiler.run``: profile the sample ChatGPT workload.

One measurement pass with tracing only gives the response times and the
network/local split; then cProfile and pyinstrument passes (each profiler
slows calls down, so neither touches the figures) explain where local time
goes. Everything lands in one output directory.
"""

from __future__ import annotations

import argparse
import gc
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openai
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from profiler.monitor.shipping import BatchingHTTPHandler, handlers_from_env
from profiler.output import save_run
from profiler.profiling.passes import PROFILER_CHOICES, PyinstrumentPass, passes_for
from profiler.report.console import print_report
from profiler.script import Program, check, run_program
from profiler.simulator import BUILTIN_SCENARIOS, Scenario, ScenarioError, SimulatorProcess, load_scenario
from profiler.target import SIMULATOR_API_KEY, Target, TargetError, redact_url, resolve_target
from profiler.trace.instrument import collecting
from profiler.workload import MODEL, WorkloadConfig, run_workload

EXIT_OK, EXIT_NO_SUCCESS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m profiler.run",
        usage="%(prog)s [options] [SCRIPT [ARGS ...] | -m MODULE [ARGS ...]]",
        description=(
            "Profile a program that calls the OpenAI Chat Completions API: split every request into "
            "network phases and local processing, measure latency and errors, and save cProfile and "
            "pyinstrument profiles. Without SCRIPT or -m it runs a sample ChatGPT workload; with no API "
            "key and no base URL the calls go to an embedded OpenAI-compatible simulator on 127.0.0.1."
        ),
        epilog=(
            "examples:\n"
            "  python -m profiler.run                               # 10 requests to the simulator\n"
            "  python -m profiler.run --scenario slow --stream      # a slow server, streamed\n"
            "  python -m profiler.run --local-work-ms 300           # heavy local post-processing\n"
            "  OPENAI_API_KEY=... python -m profiler.run --base-url https://api.openai.com/v1\n"
            "  python -m profiler.run app.py --input data.csv       # your program, as python runs it\n"
            "  python -m profiler.run --simulate -m mypkg.worker    # your module, against the simulator\n"
            "  python -m profiler.compare profiles/A profiles/B     # what changed between two runs\n"
            "\nexit status: 0 ok, 1 no request succeeded, 2 bad usage, 130 interrupted (results kept)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    workload = parser.add_argument_group("workload")
    workload.add_argument(
        "--requests",
        "-n",
        type=_positive_int,
        default=10,
        metavar="N",
        help="number of chat completion calls per pass (default: 10)",
    )
    workload.add_argument(
        "--concurrency",
        "-c",
        type=_positive_int,
        default=1,
        metavar="C",
        help="at most C calls in flight, from C worker threads sharing one client (default: 1)",
    )
    workload.add_argument(
        "--stream", action="store_true", help="stream the replies (adds TTFT, inter-token latency and TPOT)"
    )
    workload.add_argument(
        "--local-work-ms",
        type=_non_negative_float,
        default=0.0,
        metavar="MS",
        help="add exactly MS milliseconds of CPU work to each reply's post-processing (default: 0)",
    )
    workload.add_argument(
        "--model", default=MODEL, metavar="M", help=f"model name to request (default: {MODEL})"
    )
    workload.add_argument(
        "--choices",
        type=_positive_int,
        default=3,
        metavar="K",
        help="completions per request, the API's n (default: 3)",
    )

    target = parser.add_argument_group("target")
    target.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else the embedded simulator);"
        " the key comes from $OPENAI_API_KEY",
    )
    target.add_argument(
        "--scenario",
        default="default",
        metavar="NAME|FILE",
        help="simulator behaviour: a built-in name ("
        + ", ".join(BUILTIN_SCENARIOS)
        + ") or a JSON file; see docs/simulator.md (default: default)",
    )
    target.add_argument(
        "--timeout",
        type=_non_negative_float,
        default=None,
        metavar="S",
        help="client timeout per attempt in seconds (default: the scenario's hint, else 60)",
    )
    target.add_argument(
        "--max-retries",
        type=int,
        default=2,
        metavar="R",
        help="the SDK's retries on 408/409/429/5xx and connection errors (default: 2)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--profiler",
        choices=PROFILER_CHOICES,
        default="both",
        help="profiler passes to run after the measurement pass (default: both)",
    )
    output.add_argument(
        "--output-dir",
        "-o",
        type=Path,
        metavar="DIR",
        help="where to write the results (default: profiles/<UTC timestamp>/)",
    )
    output.add_argument(
        "--view",
        action="store_true",
        help="serve the cProfile profile with snakeviz on 127.0.0.1 and print its URL",
    )
    output.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    program = parser.add_argument_group(
        "your program",
        "Run SCRIPT (or -m MODULE) as Python would, with every OpenAI client it creates instrumented. "
        "It runs once per pass: once to measure, then once per profiler with its output hidden "
        "(--profiler none runs it once). The exit status is the program's.",
    )
    program.add_argument("-m", dest="module", metavar="MODULE", help="run a library module as a script")
    program.add_argument(
        "--simulate",
        action="store_true",
        help="point the program at the embedded simulator (sets OPENAI_BASE_URL and a dummy "
        "OPENAI_API_KEY in its environment; --scenario applies)",
    )
    program.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        metavar="SCRIPT [ARGS]",
        help="the script and its arguments (after -m: the module's arguments)",
    )
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


def _default_output_dir() -> Path:
    return Path("profiles") / datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _make_client(
    base_url: str, target: Target, scenario: Scenario | None, args: argparse.Namespace
) -> openai.OpenAI:
    timeout = args.timeout
    if timeout is None:
        timeout = (scenario.client_timeout_s if scenario else None) or 60.0
    return openai.OpenAI(
        base_url=base_url, api_key=target.api_key, timeout=timeout, max_retries=args.max_retries
    )


class _Passes:
    """Runs the measurement pass and the profiler passes with one progress display."""

    def __init__(self, client: openai.OpenAI, config: WorkloadConfig, console: Console, quiet: bool) -> None:
        self.client, self.config = client, config
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=False,
        )

    def run(self, description: str, thread_context: Any = None) -> Any:
        task = self.progress.add_task(description, total=self.config.requests, failed=0)
        failed = 0

        def done(ok: bool) -> None:
            nonlocal failed
            failed += not ok
            self.progress.update(task, advance=1, failed=failed)

        kwargs = {"thread_context": thread_context} if thread_context else {}
        return run_workload(self.client, self.config, on_done=done, **kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def snakeviz_command(profile: Path, port: int) -> list[str]:
    """snakeviz in server mode on 127.0.0.1 (no browser: these machines have no screen)."""
    return [
        sys.executable,
        "-m",
        "snakeviz",
        "--server",
        "--hostname",
        "127.0.0.1",
        "--port",
        str(port),
        str(profile),
    ]


def _serve_snakeviz(profile: Path, console: Console) -> int:
    port = _free_port()
    command = snakeviz_command(profile, port)
    url = f"http://127.0.0.1:{port}/snakeviz/{quote(str(profile.resolve()))}"
    console.print(f"Serving the profile with snakeviz: [bold]{url}[/bold]  (Ctrl-C to stop)", soft_wrap=True)
    try:
        return subprocess.call(command, stdout=subprocess.DEVNULL)
    except KeyboardInterrupt:
        return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, sys.argv[1:] if argv is None else argv)
    console = Console(stderr=False, highlight=False)
    if args.module or args.program:
        return run_program_mode(parser, args, console)
    try:
        target = resolve_target(args.base_url)
        scenario = load_scenario(args.scenario) if target.embedded else None
        shippers = handlers_from_env()
    except (TargetError, ScenarioError, ValueError) as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {exc}\n")
    output_dir: Path = args.output_dir or _default_output_dir()
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.exit(
            EXIT_USAGE, f"{parser.prog}: error: cannot create output directory {output_dir}: {exc.strerror}\n"
        )

    config = WorkloadConfig(
        requests=args.requests,
        concurrency=args.concurrency,
        stream=args.stream,
        local_work_ms=args.local_work_ms,
        model=args.model,
        n=args.choices,
    )
    profile_passes = passes_for(args.profiler)
    artifacts: dict[str, str] = {}
    interrupted = False
    with ExitStack() as stack:
        if target.embedded:
            assert scenario is not None
            base_url = _start_simulator(stack, scenario, output_dir, artifacts, console)
        else:
            base_url = target.base_url or ""
        console.print(
            f"Target: {redact_url(base_url)}  ·  {config.requests} requests, concurrency {config.concurrency}"
            f"{', streamed' if config.stream else ''}, model {config.model}, n={config.n}"
        )
        client = stack.enter_context(_make_client(base_url, target, scenario, args))
        passes = _Passes(client, config, console, args.quiet)
        with passes.progress:
            with collecting() as collector:
                measured = passes.run("measure (trace only)")
            interrupted = measured.interrupted
            wall = (collector.origin, collector.origin + measured.wall_s)
            for profile_pass in [] if interrupted else profile_passes:
                result = passes.run(f"profile ({profile_pass.name})", profile_pass.thread_context)
                if result.interrupted:
                    interrupted = True
                    break

    saved = save_run(
        output_dir,
        collector,
        wall=wall,
        cpu_s=measured.cpu_s,
        config={
            "requests": config.requests,
            "concurrency": config.concurrency,
            "stream": config.stream,
            "local_work_ms": config.local_work_ms,
            "model": config.model,
            "n": config.n,
            "profiler": args.profiler,
            "max_retries": args.max_retries,
        },
        target={**target.describe(), "scenario": scenario.name if scenario else None},
        profile_passes=profile_passes,
        artifacts=artifacts,
        interrupted=interrupted,
        log_handlers=shippers,
    )
    summary = saved.summary
    _close_shippers(shippers, console)
    print_report(console, summary, str(output_dir))

    if interrupted:
        console.print(
            "[yellow]Interrupted: the results above cover what was measured before Ctrl-C.[/yellow]"
        )
        return EXIT_INTERRUPTED
    if summary["requests"]["succeeded"] == 0:
        console.print(
            f"[red]No request succeeded[/red] ({', '.join(summary['errors']) or 'no response'}): "
            f"check the target {redact_url(base_url)}"
        )
        return EXIT_NO_SUCCESS
    if args.view and "cprofile" in summary["artifacts"]:
        return _serve_snakeviz(Path(summary["artifacts"]["cprofile"]), console)
    return EXIT_OK


def run_program_mode(parser: argparse.ArgumentParser, args: argparse.Namespace, console: Console) -> int:
    """``python -m profiler.run [options] SCRIPT|-m MODULE [ARGS]``."""
    if args.module:
        program = Program(module=args.module, args=tuple(args.program))
    else:
        program = Program(script=Path(args.program[0]), args=tuple(args.program[1:]))
    problem = check(program)
    scenario = None
    shippers: list[BatchingHTTPHandler] = []
    try:
        scenario = load_scenario(args.scenario) if args.simulate else None
        shippers = handlers_from_env()
    except (ScenarioError, ValueError) as exc:
        problem = str(exc)
    if problem:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {problem}\n")
    output_dir: Path = args.output_dir or _default_output_dir()
    output_dir.mkdir(parents=True, exist_ok=True)
    profile_passes = passes_for(args.profiler)
    artifacts: dict[str, str] = {}
    with ExitStack() as stack:
        if scenario is not None:
            base_url = _start_simulator(stack, scenario, output_dir, artifacts, console)
            stack.enter_context(_environment(OPENAI_BASE_URL=base_url, OPENAI_API_KEY=SIMULATOR_API_KEY))
        console.print(f"Running [bold]{program.label}[/bold] (measure pass, trace only)", soft_wrap=True)
        # Our own modules (rich, Bokeh, the SDK's models…) are long-lived: keep the garbage collector
        # from scanning them again and again while it collects the program's short-lived objects.
        gc.freeze()
        with collecting() as collector:
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            outcome = run_program(program)
            wall, cpu_s = (wall_start, time.perf_counter()), time.process_time() - cpu_start
        if outcome.traceback:
            sys.stderr.write(outcome.traceback)
        for profile_pass in [] if outcome.interrupted else profile_passes:
            console.print(f"Running it again under {profile_pass.name} (its output hidden)")
            with ExitStack() as profiling:
                profiling.enter_context(profile_pass.thread_context())
                if isinstance(profile_pass, PyinstrumentPass):
                    profiling.enter_context(profile_pass.inside_event_loops())
                if run_program(program, quiet=True).interrupted:
                    break
    saved = save_run(
        output_dir,
        collector,
        wall=wall,
        cpu_s=cpu_s,
        config={
            "program": program.label,
            "simulate": args.simulate,
            "profiler": args.profiler,
            "exit_code": outcome.exit_code,
        },
        target={"embedded_simulator": scenario is not None, "scenario": scenario.name if scenario else None},
        profile_passes=profile_passes,
        artifacts=artifacts,
        interrupted=outcome.interrupted,
        log_handlers=shippers,
    )
    _close_shippers(shippers, console)
    print_report(console, saved.summary, str(output_dir))
    if outcome.interrupted:
        console.print(
            "[yellow]Interrupted: the results above cover what was measured before Ctrl-C.[/yellow]"
        )
    elif outcome.exit_code:
        console.print(f"[yellow]The program exited with status {outcome.exit_code}.[/yellow]")
    return outcome.exit_code


def _start_simulator(
    stack: ExitStack, scenario: Scenario, output_dir: Path, artifacts: dict[str, str], console: Console
) -> str:
    """Start the embedded simulator for this run (stopped with ``stack``); return its base URL."""
    ground_truth = output_dir / "ground_truth.jsonl"
    ground_truth.unlink(missing_ok=True)  # the simulator appends; a rerun starts afresh
    console.print(f"Starting the embedded simulator (scenario [bold]{scenario.name}[/bold]) on 127.0.0.1 …")
    simulator = stack.enter_context(SimulatorProcess(scenario, ground_truth_path=ground_truth))
    artifacts["ground_truth"] = str(ground_truth)
    return simulator.base_url


def _close_shippers(shippers: list[BatchingHTTPHandler], console: Console) -> None:
    """Deliver the error records (within each shipper's close bound) and say what happened."""
    for shipper in shippers:
        shipper.close()
        stats = shipper.stats()
        dropped = ", ".join(f"{reason} {count}" for reason, count in stats.dropped.items() if count)
        console.print(
            f"{type(shipper).__name__}: {stats.sent} error records shipped"
            + (f", dropped: {dropped}" if dropped else "")
            + (f" ({stats.last_error})" if stats.last_error and dropped else "")
        )


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


if __name__ == "__main__":
    sys.exit(main())
