"""A reference streaming client as the benchmark tools write one: aiohttp, one event loop.

It measures TTFT the way vLLM's and SGLang's clients do — from sending the
request to the first SSE chunk with content — and joins each request to the
simulator's ground truth by x-request-id. Printed: TTFT over the server's TTFT
and ITL over the truth, for comparison with ours (``accuracy_under_load.py``).

    python benchmarks/reference_client.py [--concurrency 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import openai

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from accuracy_under_load import _q, scenario

from profiler.accuracy import load_ground_truth
from profiler.simulator import SimulatorProcess

BODY = {
    "model": "gpt-3.5-turbo",
    "messages": [
        {"role": "user", "content": "What's a good book to read on a rainy day? please just name 2."}
    ],
    "stream": True,
}


async def one(session: aiohttp.ClientSession, url: str) -> tuple[str, float, list[float]]:
    started = time.perf_counter()
    first: float | None = None
    arrivals: list[float] = []
    async with session.post(url, json=BODY, headers={"Authorization": "Bearer sk-none"}) as response:
        request_id = response.headers["x-request-id"]
        async for line in response.content:
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            chunk = json.loads(line[6:])
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                now = time.perf_counter()
                first = first or now
                arrivals.append(now)
    assert first is not None
    return request_id, (first - started) * 1000, [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]


async def one_sdk(client: openai.AsyncOpenAI) -> tuple[str, float, list[float]]:
    """The same call through the openai SDK, not instrumented: what the SDK itself costs."""
    started = time.perf_counter()
    first: float | None = None
    arrivals: list[float] = []
    stream = await client.chat.completions.create(model=BODY["model"], messages=BODY["messages"], stream=True)
    request_id = stream.response.headers["x-request-id"]
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter()
            first = first or now
            arrivals.append(now)
    assert first is not None
    return request_id, (first - started) * 1000, [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]


async def run(url: str, concurrency: int, rounds: int, sdk: bool) -> list[tuple[str, float, list[float]]]:
    results = []
    if sdk:
        client = openai.AsyncOpenAI(base_url=url.removesuffix("/chat/completions"), api_key="sk-none")
        for _ in range(rounds):
            results += await asyncio.gather(*(one_sdk(client) for _ in range(concurrency)))
        await client.close()
        return results
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            results += await asyncio.gather(*(one(session, url) for _ in range(concurrency)))
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sdk", action="store_true", help="the openai SDK's AsyncOpenAI, not instrumented")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        truth_path = Path(scratch) / "truth.jsonl"
        with SimulatorProcess(scenario(), ground_truth_path=truth_path) as simulator:
            results = asyncio.run(
                run(f"{simulator.base_url}/chat/completions", args.concurrency, args.rounds, args.sdk)
            )
        truth = load_ground_truth(truth_path)
    ttft = [t - truth[rid]["ttft_ms"] for rid, t, _ in results]
    itl = [
        g - d for rid, _, gaps in results for g, d in zip(gaps, truth[rid]["token_delays_ms"], strict=False)
    ]
    label = "openai SDK (AsyncOpenAI), not instrumented" if args.sdk else "reference aiohttp client"
    print(f"{label} c={args.concurrency}\n  TTFT seen − server's TTFT:    {_q(ttft)}")
    print(f"  ITL − truth: {_q(itl)}")


if __name__ == "__main__":
    main()
