"""/chat with our instrumentation, and a user's route with the one-line monitor, against a bare route.

Four apps (five routes) run in this process on real loopback HTTP servers
(werkzeug, threaded) in front of the `instant` simulator:

- `bare`: a Flask route calling the SDK and returning the text (no profiler at all);
- `monitored`: the very same route with `profiler.monitor.init_app(app)` added
  (every call recorded, metrics, error log; the derivation and the metrics happen
  in the monitor's worker thread, after the request);
- `chat`: `profiler.app`'s `/chat` (validation, the call recorded and derived in the
  monitor's worker like any monitored call, its request id and usage in the answer);
- `chat-timing`: the same `/chat` asked for its timing (`POST /chat?timing=1`): the trace
  derived in the request and the breakdown added to the answer;
- `chat-bare`: `/chat`'s own work without the profiler — the same body parsing and
  checks, the same SDK call and an answer of the same shape — so that `chat/chat-bare`
  is what recording the call costs `/chat`, `chat-timing/chat-bare` what answering with
  the timing costs on top, and `chat-bare/bare` what `/chat` does for itself.

Requests go one at a time, each round visiting the five routes in a fresh random
order, so drifts of the machine fall on all alike. Reported: each app's median
latency, the ratio of medians to `bare`, and the spread of that ratio over blocks
of rounds (median [p25 – p75]).

    python benchmarks/chat_overhead.py [--requests 600] [--scenario instant] [--thread-cpu | --opcodes]

`--thread-cpu` measures the same routes in process instead, through Flask's test
client (no sockets on the app's side), and reports each request's CPU time in the
thread that served it (median), and what each adds to `bare`: the
work the request pays for itself, without the wall-clock effects of other threads.

`--opcodes` counts instead the bytecode instructions each request runs in the thread
that serves it (traced with `sys.settrace`; the mean over requests, in random order
each round): a figure the machine's fast and slow spells do not move. Of what a route
adds to its twin, two parts are exact: the profiler's own code (for `chat`, with
`/chat`'s own parsing, which `chat-bare` runs too), and httpcore reporting each step
to the trace callback (its `Trace` and the coroutine check it makes). The total moves
by a few hundred instructions from request to request, as the HTTP stack's reads
split. Tracing slows each request enough that the monitor's worker is idle when the
call ends, so every traced request also pays for waking it, which an untraced one
pays once per burst.

Target (issue #12): ≤ 1.03 for `monitored` and for `chat`. With `--scenario default` (a
realistic upstream) the fixed cost per request is measured against a realistic latency.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import random
import statistics
import sys
import threading
import time
from typing import Any

import httpx2
import openai
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

import profiler.monitor
from profiler.app import _complete, create_app
from profiler.monitor.chat_input import parse_chat_input
from profiler.monitor.json_body import parse_json_body
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.telemetry import Telemetry
from profiler.runs.stats import percentile
from profiler.simulator import SimulatorProcess, load_scenario
from profiler.workload import MODEL


def bare_app(client: openai.OpenAI, name: str = "bare") -> Flask:
    app = Flask(name)

    @app.post("/chat")
    def chat():  # type: ignore[no-untyped-def]
        prompt = request.get_json(force=True)["prompt"]
        completion = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": prompt}]
        )
        return jsonify(choices=[{"index": c.index, "content": c.message.content} for c in completion.choices])

    return app


def chat_bare_app(client: openai.OpenAI) -> Flask:
    app = Flask("chat-bare")

    @app.post("/chat")
    def chat():  # type: ignore[no-untyped-def]
        chat = parse_chat_input(parse_json_body(request.get_data(cache=False)), MODEL)
        answer = _complete(client, chat)
        usage = {"input_tokens": None, "output_tokens": None}
        return jsonify(id=None, **answer, usage=usage)

    return app


def monitored_app(client: openai.OpenAI) -> Flask:
    app = bare_app(client, "monitored")
    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)  # as the default, own registry
    profiler.monitor.init_app(app, telemetry=telemetry)
    return app


def routes(sdk: openai.OpenAI) -> dict[str, tuple[Flask, str]]:
    """Each measured route: its app and path (`chat` and `chat-timing` are one app)."""
    chat = create_app(sdk)
    return {
        "bare": (bare_app(sdk), "/chat"),
        "monitored": (monitored_app(sdk), "/chat"),
        "chat": (chat, "/chat"),
        "chat-timing": (chat, "/chat?timing=1"),
        "chat-bare": (chat_bare_app(sdk), "/chat"),
    }


def serve(measured: dict[str, tuple[Flask, str]]) -> dict[str, str]:
    """Each route's URL, every app on a loopback server of its own."""
    origins: dict[int, str] = {}
    for app, _ in measured.values():
        if id(app) not in origins:
            server = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            origins[id(app)] = f"http://127.0.0.1:{server.server_port}"
    return {name: origins[id(app)] + path for name, (app, path) in measured.items()}


def thread_cpu(measured: dict[str, tuple[Flask, str]], requests: int, rng: random.Random) -> None:
    clients = {name: (app.test_client(), path) for name, (app, path) in measured.items()}
    for _ in range(30):
        for client, path in clients.values():
            assert client.post(path, json={"prompt": "Two books?"}).status_code == 200
    cpu_us: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    for _ in range(requests):
        rng.shuffle(names)
        for name in names:
            client, path = clients[name]
            began = time.thread_time_ns()
            answer = client.post(path, json={"prompt": "Two books?"})
            cpu_us[name].append((time.thread_time_ns() - began) / 1000)
            assert answer.status_code == 200
    medians = {name: statistics.median(values) for name, values in cpu_us.items()}
    print(f"{requests} requests per app in process (Flask's test client), random order each round")
    for name, median in medians.items():
        extra = "" if name == "bare" else f"  (+{median - medians['bare']:.0f} µs over bare)"
        print(f"{name:>11}: request thread CPU median {median:.0f} µs{extra}")
    for name in ("chat", "chat-timing"):
        print(f"{name} over chat-bare: +{medians[name] - medians['chat-bare']:.0f} µs")


def opcodes(measured: dict[str, tuple[Flask, str]], requests: int, rng: random.Random) -> None:
    """Bytecode instructions per request in the serving thread, by whose code ran them."""
    clients = {name: (app.test_client(), path) for name, (app, path) in measured.items()}
    for _ in range(30):
        for client, path in clients.values():
            assert client.post(path, json={"prompt": "Two books?"}).status_code == 200
    counted: dict[Any, int] = {}  # by code object

    def trace(frame: Any, event: str, _arg: Any) -> Any:
        if event == "call":
            frame.f_trace_opcodes = True
        elif event == "opcode":
            code = frame.f_code
            counted[code] = counted.get(code, 0) + 1
        return trace

    counts: dict[str, dict[str, list[int]]] = {name: {} for name in clients}
    names = list(clients)
    for _ in range(requests):
        rng.shuffle(names)
        for name in names:
            client, path = clients[name]
            counted.clear()
            sys.settrace(trace)
            answer = client.post(path, json={"prompt": "Two books?"})
            sys.settrace(None)
            assert answer.status_code == 200
            for part, count in _by_part(counted).items():
                counts[name].setdefault(part, []).append(count)
    # Means: the HTTP stack takes one of a few paths a request (±400 instructions), and a median
    # would pick one of them for one route and another for the next.
    means = {name: {part: statistics.fmean(n) for part, n in parts.items()} for name, parts in counts.items()}
    print(f"{requests} requests per app in process (Flask's test client), bytecode instructions a request")
    base = means["bare"]
    for name, parts in means.items():
        line = f"{name:>11}: {parts['total']:,.0f}"
        if name != "bare":
            added = parts["total"] - base["total"]
            ours = parts["profiler"] - base["profiler"]
            httpcore = parts["httpcore trace"] - base["httpcore trace"]
            line += (
                f"  (+{added:,.0f} = +{100 * added / base['total']:.1f}% over bare;"
                f" in the profiler's code {ours:,.0f}, in httpcore's trace {httpcore:,.0f})"
            )
        print(line)


def _by_part(counted: dict[Any, int]) -> dict[str, int]:
    parts = {"total": sum(counted.values()), "profiler": 0, "httpcore trace": 0}
    for code, count in counted.items():
        filename = code.co_filename
        if f"{os.sep}profiler{os.sep}" in filename and f"{os.sep}benchmarks{os.sep}" not in filename:
            parts["profiler"] += count
        elif filename.endswith(f"httpcore2{os.sep}_trace.py") or code is _ISCOROUTINE:
            parts["httpcore trace"] += count  # its Trace, and the coroutine check it makes per step
    return parts


_ISCOROUTINE = inspect.iscoroutine.__code__


def spread(values: list[float]) -> str:
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):.3f} [{q1:.3f} – {q3:.3f}]"


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=600, help="requests per app (default: 600)")
    parser.add_argument("--scenario", default="instant", help="simulator scenario (default: instant)")
    parser.add_argument(
        "--thread-cpu",
        action="store_true",
        help="measure each request's CPU time in its own thread, in process, instead of latency",
    )
    parser.add_argument(
        "--blocks", type=int, default=10, help="blocks of rounds for the spread (default: 10)"
    )
    parser.add_argument(
        "--opcodes",
        action="store_true",
        help="count each request's bytecode instructions in its own thread, in process, instead of latency",
    )
    args = parser.parse_args()
    rng = random.Random(12)
    with SimulatorProcess(load_scenario(args.scenario)) as simulator:
        sdk = openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
        if args.thread_cpu:
            thread_cpu(routes(sdk), args.requests, rng)
            return
        if args.opcodes:
            opcodes(routes(sdk), args.requests, rng)
            return
        urls = serve(routes(sdk))
        latencies: dict[str, list[float]] = {name: [] for name in urls}
        names = list(urls)
        with httpx2.Client(timeout=10) as http:
            for _ in range(30):  # warm up all
                for url in urls.values():
                    http.post(url, json={"prompt": "Two books?"}).raise_for_status()
            for _ in range(args.requests):
                rng.shuffle(names)
                for name in names:
                    started = time.perf_counter()
                    http.post(urls[name], json={"prompt": "Two books?"}).raise_for_status()
                    latencies[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in latencies.items()}
    print(
        f"{args.requests} requests per app, random order each round, {args.scenario} scenario, loopback HTTP"
    )
    for name in urls:
        ordered = sorted(latencies[name])
        p90, p99 = percentile(ordered, 90), percentile(ordered, 99)
        print(
            f"{name:>11}: median {medians[name] * 1000:.3f} ms,"
            f" p90 {p90 * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms"
        )
    size = max(1, args.requests // args.blocks)
    pairs = (
        ("monitored", "bare"),
        ("chat", "bare"),
        ("chat", "chat-bare"),
        ("chat-timing", "chat-bare"),
        ("chat-bare", "bare"),
    )
    for name, reference in pairs:
        blocks = [
            statistics.median(latencies[name][i : i + size])
            / statistics.median(latencies[reference][i : i + size])
            for i in range(0, args.requests - size + 1, size)
        ]
        ratio = medians[name] / medians[reference]
        print(f"{name}/{reference} ratio: {ratio:.3f} (blocks of {size}: {spread(blocks)})")


if __name__ == "__main__":
    main()
