"""/chat with our instrumentation, and a user's route with the one-line monitor, against a bare route.

Three apps run in this process on real loopback HTTP servers (werkzeug,
threaded) in front of the `instant` simulator:

- `bare`: a Flask route calling the SDK and returning the text (no profiler at all);
- `monitored`: the very same route with `profiler.monitor.init_app(app)` added
  (every call recorded, metrics, error log; the derivation and the metrics happen
  in the monitor's worker thread, after the request);
- `chat`: `profiler.app`'s `/chat` (validation, the trace derived in the request
  for the timing breakdown it answers with, metrics, the bigger JSON answer).

Requests go one at a time, each round visiting the three apps in a fresh random
order, so drifts of the machine fall on all alike. Reported: each app's median
latency, the ratio of medians to `bare`, and the spread of that ratio over blocks
of rounds (median [p25 – p75]).

    python benchmarks/chat_overhead.py [--requests 600] [--scenario instant]

Target (issue #12): ≤ 1.03 for both. With `--scenario default` (a realistic upstream) the
fixed cost per request is measured against a realistic latency.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import threading
import time

import httpx2
import openai
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

import profiler.monitor
from profiler.app import create_app
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.telemetry import Telemetry
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


def monitored_app(client: openai.OpenAI) -> Flask:
    app = bare_app(client, "monitored")
    telemetry = Telemetry(metrics=ServiceMetrics(), error_stream=None)  # as the default, own registry
    profiler.monitor.init_app(app, telemetry=telemetry)
    return app


def serve(app: Flask) -> str:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/chat"


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
        "--blocks", type=int, default=10, help="blocks of rounds for the spread (default: 10)"
    )
    args = parser.parse_args()
    rng = random.Random(12)
    with SimulatorProcess(load_scenario(args.scenario)) as simulator:
        sdk = openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
        urls = {
            "bare": serve(bare_app(sdk)),
            "monitored": serve(monitored_app(sdk)),
            "chat": serve(create_app(sdk)),
        }
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
    for name in ("bare", "monitored", "chat"):
        p90 = sorted(latencies[name])[int(len(latencies[name]) * 0.9)]
        print(f"{name:>10}: median {medians[name] * 1000:.3f} ms, p90 {p90 * 1000:.3f} ms")
    size = max(1, args.requests // args.blocks)
    for name in ("monitored", "chat"):
        blocks = [
            statistics.median(latencies[name][i : i + size])
            / statistics.median(latencies["bare"][i : i + size])
            for i in range(0, args.requests - size + 1, size)
        ]
        ratio = medians[name] / medians["bare"]
        print(f"{name}/bare ratio: {ratio:.3f} (blocks of {size}: {spread(blocks)})")


if __name__ == "__main__":
    main()
