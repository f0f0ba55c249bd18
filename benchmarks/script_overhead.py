"""Script mode's cost: a program's own call loop, run plain and instrumented, side by side.

The program (written to a temporary file) times its own loop of SDK calls and
prints the time per call. This process runs it the way script mode does
(:func:`profiler.script.run_program`: runpy, its own ``__main__``), alternately
without and with the instrumentation active, against one `instant`
simulator; the ratio of the medians is reported. Running both modes in one
process keeps what differs between two interpreter processes (where the OS
put them, what they imported) out of the ratio.

    python benchmarks/script_overhead.py [--runs 100] [--calls 40]

Target (issue 5): ≤ 1.03. The last line is ``instrumented/plain ratio: X.XXX``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
from pathlib import Path

from profiler.script import Program, run_program
from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.instrument import collecting

PROGRAM = """
import sys, time, openai
client = openai.OpenAI(max_retries=0)
messages = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What's a good book to read on a rainy day? please just name 2."}]
for _ in range(10):  # warm up the connection
    client.chat.completions.create(model="gpt-3.5-turbo", messages=messages, n=3)
calls = int(sys.argv[1])
started = time.perf_counter()
for _ in range(calls):
    client.chat.completions.create(model="gpt-3.5-turbo", messages=messages, n=3)
print("per-call-ms", (time.perf_counter() - started) / calls * 1000)
"""


def _per_call_ms(program: Program, instrumented: bool) -> float:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), collecting() if instrumented else contextlib.nullcontext():
        outcome = run_program(program)
    assert outcome.exit_code == 0, outcome.traceback
    return float(output.getvalue().split("per-call-ms")[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100, help="runs of each mode (default: 100)")
    parser.add_argument("--calls", type=int, default=40, help="calls per run (default: 40)")
    args = parser.parse_args()
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as scratch, SimulatorProcess(load_scenario("instant")) as simulator:
        script = Path(scratch) / "program.py"
        script.write_text(PROGRAM)
        os.environ.update(OPENAI_BASE_URL=simulator.base_url, OPENAI_API_KEY="sk-bench")
        program = Program(script=script, args=(str(args.calls),))
        _per_call_ms(program, instrumented=True)  # warm up: imports, model building
        for run in range(args.runs):
            for instrumented in (False, True) if run % 2 == 0 else (True, False):
                times[instrumented].append(_per_call_ms(program, instrumented))
    plain, instrumented = (statistics.median(times[mode]) for mode in (False, True))
    print(f"{args.runs} runs of {args.calls} calls per mode, alternating, one process, instant scenario")
    print(f"plain:        {plain:.3f} ms/call (runs: {min(times[False]):.3f} … {max(times[False]):.3f})")
    print(f"instrumented: {instrumented:.3f} ms/call (runs: {min(times[True]):.3f} … {max(times[True]):.3f})")
    ratios = [i / p for p, i in zip(times[False], times[True], strict=True)]
    print(
        f"per-run ratios: median {statistics.median(ratios):.3f}, "
        f"quartiles {statistics.quantiles(ratios, n=4)[0]:.3f} – {statistics.quantiles(ratios, n=4)[2]:.3f}"
    )
    print(f"instrumented/plain ratio: {instrumented / plain:.3f}")


if __name__ == "__main__":
    main()
