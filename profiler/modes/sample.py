"""The sample ChatGPT workload, profiled: one trace-only measurement pass, then a pass per profiler.

Profilers slow calls down (DESIGN: cProfile ×2.4, pyinstrument ×2.0 on a loop
of SDK calls), so the figures come from the trace-only pass and the profiler
passes explain where local time goes. The workload is ours, so running it again
costs nothing but time.
"""

from __future__ import annotations

import argparse
import ssl
import subprocess
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import openai
from rich.console import Console
from rich.markup import escape

from profiler.finish import finish_run, run_collector
from profiler.modes.common import (
    CallProgress,
    close_shippers,
    measured_pass,
    prepare_output_dir,
    served_requests,
    start_simulator,
)
from profiler.monitor.shipping import BatchingHTTPHandler
from profiler.paths import default_output_dir
from profiler.profiling.passes import passes_for
from profiler.report.snakeviz import server_command
from profiler.runs import RunConfig, TargetInfo
from profiler.simulator import Scenario
from profiler.target import Target, client_timeout, key_without_url_note, redact_url
from profiler.trace.gc_pauses import GcLog
from profiler.trace.instrument import collecting
from profiler.trace.recording import Collector
from profiler.workload import WorkloadConfig, run_workload

EXIT_OK, EXIT_NO_SUCCESS, EXIT_INTERRUPTED = 0, 1, 130


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_snakeviz(profile: Path, console: Console) -> int:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/snakeviz/{quote(str(profile.resolve()))}"
    console.print(f"Serving the profile with snakeviz: {url}  (Ctrl-C to stop)", markup=False)
    try:
        return subprocess.call(server_command(profile, port), stdout=subprocess.DEVNULL)
    except KeyboardInterrupt:
        return EXIT_OK


def run_sample(
    args: argparse.Namespace,
    target: Target,
    scenario: Scenario | None,
    shippers: list[BatchingHTTPHandler],
    console: Console,
) -> int:
    output_dir = prepare_output_dir(args.output_dir or default_output_dir(), force=args.force)
    if target.key_without_url:
        console.print(key_without_url_note(), markup=False)
    config = WorkloadConfig(
        requests=args.requests,
        concurrency=args.concurrency,
        stream=args.stream,
        local_work_ms=args.local_work_ms,
        model=args.model,
        n=args.choices,
        client=args.client,
        rate=args.rate,
        arrival=args.arrival,
        uvloop=args.uvloop,
    )
    profile_passes = passes_for(args.profiler)
    progress = CallProgress(console, args.quiet)
    collector = run_collector(progress.call_done)
    served: int | None = None
    gc_log = GcLog()
    verify: ssl.SSLContext | bool = True
    with ExitStack() as stack:
        if scenario is not None:
            simulator = start_simulator(stack, scenario, output_dir, console, tls=args.tls)
            base_url = simulator.base_url
            if args.tls:
                verify = simulator.ssl_context()
        else:
            base_url = target.base_url or ""
        shape = f"{config.rate:g} calls/s ({config.arrival}), " if config.rate else ""
        console.print(
            f"Target: {escape(redact_url(base_url) or '')}  ·  {config.requests} requests, {shape}"
            f"concurrency {config.concurrency} ({config.client}){', streamed' if config.stream else ''}, "
            f"model {escape(config.model)}, n={config.n}"
        )
        timeout = client_timeout(args.timeout, scenario.client_timeout_s if scenario else None)

        def client() -> openai.OpenAI | openai.AsyncOpenAI:
            # One per pass: the async client closes with its event loop.
            made: openai.OpenAI | openai.AsyncOpenAI
            options = {"base_url": base_url, "api_key": target.api_key, "max_retries": args.max_retries}
            if config.client == "async":  # the SDK's own HTTP clients (its pool limits), trusting our CA
                http = openai.DefaultAsyncHttpxClient(verify=verify, timeout=timeout)
                made = openai.AsyncOpenAI(**options, http_client=http)
            else:
                made = openai.OpenAI(
                    **options, http_client=openai.DefaultHttpxClient(verify=verify, timeout=timeout)
                )
            if isinstance(made, openai.OpenAI):
                stack.enter_context(made)
            return made

        with progress:
            progress.start("measure (trace only)", config.requests)
            with measured_pass(collector, gc_log, args.wire_arrivals, base_url, console) as wire:
                measured = run_workload(client(), config)
            interrupted = measured.interrupted
            if scenario is not None:
                served = served_requests(
                    output_dir / "ground_truth.jsonl",
                    simulator.url,
                    verify if isinstance(verify, ssl.SSLContext) else None,
                )
            for profile_pass in [] if interrupted else profile_passes:
                progress.start(f"profile ({profile_pass.name})", config.requests)
                # Traced too, only so the bar counts failures as the summary does; the records are dropped.
                with collecting(Collector(on_done=progress.call_done)):
                    if config.client == "async":  # one thread runs the loop: profile that thread
                        with profile_pass.thread_context():
                            result = run_workload(client(), config)
                    else:
                        result = run_workload(client(), config, thread_context=profile_pass.thread_context)
                if result.interrupted:
                    interrupted = True
                    break

    run = finish_run(
        collector,
        output_dir,
        wall=(measured.started, measured.started + measured.wall_s),
        cpu_s=measured.cpu_s,
        config=RunConfig(
            source="profiler.run",
            requests=config.requests,
            concurrency=config.concurrency,
            client=config.client,
            rate=config.rate,
            arrival=config.arrival if config.rate else None,
            stream=config.stream,
            local_work_ms=config.local_work_ms,
            model=config.model,
            n=config.n,
            api="chat.completions",
            profiler=args.profiler,
            max_retries=args.max_retries,
        ),
        target=TargetInfo(
            embedded_simulator=scenario is not None,
            base_url=None if scenario is not None else redact_url(base_url),
            scenario=scenario.name if scenario else None,
            tls=base_url.startswith("https://"),
            requests_served=served,
        ),
        profile_passes=profile_passes,
        interrupted=interrupted,
        log_handlers=shippers,
        console=console,
        loop_lag_s=measured.loop_lag_s,
        wire=wire,
        gc_log=gc_log,
    )
    close_shippers(shippers, console)
    if interrupted:
        console.print(
            "[yellow]Interrupted: the results above cover what was measured before Ctrl-C.[/yellow]"
        )
        return EXIT_INTERRUPTED
    if run.figures.succeeded == 0:
        console.print(
            f"[red]No request succeeded[/red] ({escape(', '.join(run.figures.errors) or 'no response')}): "
            f"check the target {escape(redact_url(base_url) or '')}"
        )
        return EXIT_NO_SUCCESS
    if args.view and "cprofile" in run.artifacts:
        return serve_snakeviz(Path(run.artifacts["cprofile"]), console)
    return EXIT_OK
