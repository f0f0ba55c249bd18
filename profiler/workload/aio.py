"""The workload on the async client: one event loop, ``concurrency`` calls in flight at most.

The loop's own lag is measured beside the calls: a task asks to wake every
10 ms and notes how late it was. A loop busy parsing chunks or running the
post-processing wakes everything late, its timers included — that lag is the
event loop's contention, the async twin of the GIL between threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import openai

from profiler.trace.instrument import scheduled_at
from profiler.workload.arrivals import offsets
from profiler.workload.prompt import WorkloadConfig, WorkloadResult, aask

LAG_PROBE_S = 0.010


async def _probe_lag(lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(LAG_PROBE_S)
        lags.append(max(0.0, loop.time() - asked - LAG_PROBE_S))


async def _one(
    client: openai.AsyncOpenAI, config: WorkloadConfig, due: float | None, result: WorkloadResult
) -> None:
    scheduled_at.set(due)  # this task's own context
    try:
        await aask(client, config)
    except Exception:  # any failure: SDK errors, a body that is not JSON, a stream cut mid-way
        result.failures += 1


async def _closed_loop(client: openai.AsyncOpenAI, config: WorkloadConfig, result: WorkloadResult) -> None:
    remaining = iter(range(config.requests))

    async def worker() -> None:
        for _ in remaining:  # shared: each worker takes the next request when it is free
            await _one(client, config, None, result)

    await asyncio.gather(*(worker() for _ in range(config.concurrency)))


async def _open_loop(client: openai.AsyncOpenAI, config: WorkloadConfig, result: WorkloadResult) -> None:
    assert config.rate is not None
    slots = asyncio.Semaphore(config.concurrency)
    origin = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()

    async def limited(due: float) -> None:
        async with slots:  # waiting here is the client's queue, counted from the scheduled start
            await _one(client, config, due, result)

    for number, offset in enumerate(offsets(config.rate, config.arrival, config.seed)):
        if number >= config.requests:
            break
        wait = origin + offset - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(limited(origin + offset))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)


async def _run(client: openai.AsyncOpenAI, config: WorkloadConfig, result: WorkloadResult) -> None:
    lags: list[float] = []
    probe = asyncio.create_task(_probe_lag(lags))
    try:
        async with client:
            if config.rate is None:
                await _closed_loop(client, config, result)
            else:
                await _open_loop(client, config, result)
    finally:
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe
        result.loop_lag_s = lags


def run_async(client: openai.AsyncOpenAI, config: WorkloadConfig) -> WorkloadResult:
    """Run the workload to the end (or Ctrl-C) on a new event loop, uvloop's when asked."""
    result = WorkloadResult()
    wall_before, cpu_before = time.perf_counter(), time.process_time()
    result.started = wall_before
    loop_factory = None
    if config.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(_run(client, config, result))
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        result.wall_s = time.perf_counter() - wall_before
        result.cpu_s = time.process_time() - cpu_before
    return result
