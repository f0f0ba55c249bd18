"""Profiling the user's own program: ``python -m profiler.run [options] SCRIPT|-m MODULE [ARGS]``.

The program runs **once** by default, as Python would run it: against a paid
API, a second run is a second bill and every side effect (files written,
messages sent) twice. Its calls are traced and, in the same run, the chosen
profilers (pyinstrument by default) sample every thread it starts; the figures
then say they were measured with profilers attached. ``--separate-passes``
runs it once more per profiler instead, with its output hidden, so the figures
come from a trace-only run — at the price of those extra runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack, nullcontext

from rich.console import Console
from rich.markup import escape

from profiler.finish import finish_run, run_collector
from profiler.modes.common import (
    close_shippers,
    environment,
    measured_pass,
    prepare_output_dir,
    served_requests,
    start_simulator,
)
from profiler.monitor.shipping import BatchingHTTPHandler
from profiler.paths import default_output_dir
from profiler.profiling.passes import in_every_thread, passes_for
from profiler.runs import MEASURED_TRACE_ONLY, MEASURED_WITH_PROFILERS, RunConfig, TargetInfo
from profiler.script import Program, run_program
from profiler.simulator import Scenario
from profiler.target import SIMULATOR_API_KEY
from profiler.trace.gc_pauses import GcLog

EXIT_INTERRUPTED = 130


def run_script(
    args: argparse.Namespace,
    program: Program,
    profiler_choice: str,
    scenario: Scenario | None,
    shippers: list[BatchingHTTPHandler],
    console: Console,
) -> int:
    output_dir = prepare_output_dir(args.output_dir or default_output_dir(), force=args.force)
    profile_passes = passes_for(profiler_choice)
    attached = [] if args.separate_passes else profile_passes
    served: int | None = None
    with ExitStack() as stack:
        if scenario is not None:
            simulator = start_simulator(stack, scenario, output_dir, console)
            stack.enter_context(
                environment(OPENAI_BASE_URL=simulator.base_url, OPENAI_API_KEY=SIMULATOR_API_KEY)
            )
        how = f"with {' and '.join(p.name for p in attached)} attached" if attached else "trace only"
        console.print(f"Running [bold]{escape(program.label)}[/bold] ({how})", soft_wrap=True)
        collector = run_collector()
        gc_log = GcLog()
        base_url = simulator.base_url if scenario is not None else os.environ.get("OPENAI_BASE_URL")
        with (
            measured_pass(collector, gc_log, args.wire_arrivals, base_url, console) as wire,
            in_every_thread(attached) if attached else nullcontext(),
        ):
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            outcome = run_program(program)
            wall, cpu_s = (wall_start, time.perf_counter()), time.process_time() - cpu_start
        if outcome.traceback:
            sys.stderr.write(outcome.traceback)
        if scenario is not None:
            served = served_requests(output_dir / "ground_truth.jsonl", simulator.url)
        if args.separate_passes and not outcome.interrupted:
            for profile_pass in profile_passes:
                console.print(f"Running it again under {profile_pass.name} (its output hidden)")
                with in_every_thread([profile_pass]):
                    if run_program(program, quiet=True).interrupted:
                        break
    finish_run(
        collector,
        output_dir,
        wall=wall,
        cpu_s=cpu_s,
        config=RunConfig(
            source="script",
            program=program.label,
            simulate=scenario is not None,
            profiler=profiler_choice,
            exit_code=outcome.exit_code,
        ),
        target=TargetInfo(
            embedded_simulator=scenario is not None,
            scenario=scenario.name if scenario else None,
            requests_served=served,
        ),
        profile_passes=profile_passes,
        figures_from=MEASURED_WITH_PROFILERS if attached else MEASURED_TRACE_ONLY,
        interrupted=outcome.interrupted,
        log_handlers=shippers,
        console=console,
        wire=wire,
        gc_log=gc_log,
    )
    close_shippers(shippers, console)
    if outcome.interrupted:
        console.print(
            "[yellow]Interrupted: the results above cover what was measured before Ctrl-C.[/yellow]"
        )
        return EXIT_INTERRUPTED
    if outcome.exit_code:
        console.print(f"[yellow]The program exited with status {outcome.exit_code}.[/yellow]")
    return outcome.exit_code


__all__ = ["run_script"]
