"""Script mode's cost: a program's own call loop, plain and under ``python -m profiler.run``.

The program (written to a temporary file) times its own loop of SDK calls and
prints the time per call. It runs alternately as ``python script.py`` and as
``python -m profiler.run --profiler none script.py`` (the measurement pass),
both against one `instant` simulator; the ratio of the medians is reported.

    python benchmarks/script_overhead.py [--runs 12] [--calls 200]

Target (issue 5): ≤ 1.03. The last line is ``instrumented/plain ratio: X.XXX``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from profiler.simulator import SimulatorProcess, load_scenario

PROGRAM = """
import sys, time, openai
client = openai.OpenAI(max_retries=0)
messages = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What's a good book to read on a rainy day? please just name 2."}]
for _ in range(20):  # warm up
    client.chat.completions.create(model="gpt-3.5-turbo", messages=messages, n=3)
calls = int(sys.argv[1])
started = time.perf_counter()
for _ in range(calls):
    client.chat.completions.create(model="gpt-3.5-turbo", messages=messages, n=3)
print("per-call-ms", (time.perf_counter() - started) / calls * 1000)
"""


def _per_call_ms(command: list[str], env: dict[str, str]) -> float:
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("per-call-ms"))
    return float(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=12, help="runs of each (default: 12)")
    parser.add_argument("--calls", type=int, default=200, help="calls per run (default: 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, SimulatorProcess(load_scenario("instant")) as simulator:
        script = Path(scratch) / "program.py"
        script.write_text(PROGRAM)
        env = {**os.environ, "OPENAI_BASE_URL": simulator.base_url, "OPENAI_API_KEY": "sk-bench"}
        plain_command = [sys.executable, str(script), str(args.calls)]
        profiled_command = [
            sys.executable,
            "-m",
            "profiler.run",
            "--profiler",
            "none",
            "--quiet",
            "--output-dir",
            str(Path(scratch) / "out"),
            str(script),
            str(args.calls),
        ]
        plain: list[float] = []
        profiled: list[float] = []
        for run in range(args.runs):
            order = [(plain, plain_command), (profiled, profiled_command)]
            for values, command in order if run % 2 == 0 else order[::-1]:
                values.append(_per_call_ms(command, env))
    print(f"{args.runs} runs of {args.calls} calls each, alternating, instant scenario")
    print(f"plain:        {statistics.median(plain):.3f} ms/call (runs: {min(plain):.3f} … {max(plain):.3f})")
    print(
        f"instrumented: {statistics.median(profiled):.3f} ms/call "
        f"(runs: {min(profiled):.3f} … {max(profiled):.3f})"
    )
    print(f"instrumented/plain ratio: {statistics.median(profiled) / statistics.median(plain):.3f}")


if __name__ == "__main__":
    main()
