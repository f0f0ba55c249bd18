"""/chat with our instrumentation against a bare Flask route calling the SDK.

Both apps run in this process on real loopback HTTP servers (werkzeug,
threaded) in front of the `instant` simulator; requests alternate between
them in a rotating order, and the ratio of the median latencies is reported.
The instrumented app adds the trace, the Prometheus metrics and the timing
breakdown in its answer; the bare route only calls the SDK and returns the text.

    python benchmarks/chat_overhead.py [--requests 400] [--scenario instant]

Target (issue 4): ≤ 1.03. With `--scenario default` (a realistic upstream) the
fixed cost of our work per request is measured against a realistic latency.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time

import httpx2
import openai
from flask import Flask, jsonify
from werkzeug.serving import make_server

from profiler.app import create_app
from profiler.simulator import SimulatorProcess, load_scenario
from profiler.workload import MODEL


def bare_app(client: openai.OpenAI) -> Flask:
    app = Flask("bare")

    @app.post("/chat")
    def chat():  # type: ignore[no-untyped-def]
        from flask import request

        prompt = request.get_json(force=True)["prompt"]
        completion = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": prompt}]
        )
        return jsonify(choices=[{"index": c.index, "content": c.message.content} for c in completion.choices])

    return app


def serve(app: Flask) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/chat", server


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="requests per app (default: 400)")
    parser.add_argument("--scenario", default="instant", help="simulator scenario (default: instant)")
    args = parser.parse_args()
    with SimulatorProcess(load_scenario(args.scenario)) as simulator:
        sdk = openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
        urls = {"bare": serve(bare_app(sdk))[0], "instrumented": serve(create_app(sdk))[0]}
        latencies: dict[str, list[float]] = {name: [] for name in urls}
        names = list(urls)
        with httpx2.Client(timeout=10) as http:
            for _ in range(20):  # warm up both
                for url in urls.values():
                    http.post(url, json={"prompt": "Two books?"}).raise_for_status()
            for index in range(args.requests):
                for name in names[index % 2 :] + names[: index % 2]:
                    started = time.perf_counter()
                    http.post(urls[name], json={"prompt": "Two books?"}).raise_for_status()
                    latencies[name].append(time.perf_counter() - started)
    bare, instrumented = (statistics.median(latencies[name]) for name in ("bare", "instrumented"))
    print(f"{args.requests} requests per app, alternating, {args.scenario} scenario, loopback HTTP")
    for name in names:
        values = sorted(latencies[name])
        print(
            f"{name:>12}: median {statistics.median(values) * 1000:.3f} ms, "
            f"p90 {values[int(len(values) * 0.9)] * 1000:.3f} ms"
        )
    print(f"instrumented/bare /chat ratio: {instrumented / bare:.3f}")


if __name__ == "__main__":
    main()
