"""The one-sentence verdict: which part of the run's wall time is to blame."""

from __future__ import annotations

from profiler.runs import Run

# Below this share, local time is too small to be worth naming a function for.
_NAME_HOTSPOT_FROM = 0.05


# From this share of the TTFT (or of the calls' time) on, the process's own lateness is named.
_NAME_CONTENTION_FROM = 0.10
# Below this share of the wall time, the CPU a process spent beside its calls is not another busy thread
# (a progress bar, the profiler's own bookkeeping).
_BESIDE_SHARE = 0.05
# From this share of that contention on, garbage collection is named as its cause.
_NAME_COLLECTIONS_FROM = 0.20


def _server_share(run: Run) -> float:
    """The part of network time that was the server: its wait, and for streams the chunks it generated."""
    breakdown = run.figures.breakdown
    network, server_wait, download = breakdown["network"], breakdown["server_wait"], breakdown["download"]
    if network is None or server_wait is None or network.total <= 0:
        return 0.0
    server = server_wait.total
    if run.figures.streaming is not None and download is not None:
        server += download.total  # a stream's chunks come as fast as the server generates them
    return min(1.0, server / network.total)


def _contention_text(run: Run) -> str | None:
    """ "your process was busy: 38% of TTFT is contention", when that is what held the calls up.

    Contention is the time the client's side took to get to bytes that had arrived, or between the
    HTTP client's steps: its threads, the GIL or its event loop, and also the OS waking or scheduling
    the thread (benchmarks/wakeup.py: 0.02–0.16 ms a wait on an idle VM). A run with one call at a
    time and no CPU spent beside the calls had nothing of its own to be busy with: the verdict then
    names the OS and the HTTP client's own steps instead of the process's threads."""
    figures = run.figures
    share: float | None = None
    of = "each call"
    streaming = figures.streaming
    if streaming is not None and streaming.ttft is not None and streaming.ttft.mean > 0:
        part = streaming.ttft_parts.get("contention")
        if part is not None and part.mean / streaming.ttft.mean >= _NAME_CONTENTION_FROM:
            share, of = part.mean / streaming.ttft.mean, "TTFT"
    contention, latency = figures.breakdown["contention"], figures.latency
    if (
        share is None
        and contention is not None
        and latency is not None
        and latency.mean > 0
        and contention.mean / latency.mean >= _NAME_CONTENTION_FROM
    ):
        share = contention.mean / latency.mean
    if share is None:
        return None
    busy = _process_busy(run)
    if busy is False:
        return (
            f"{share:.0%} of {of} is contention with nothing else of your process running (one call "
            "after another, no CPU spent beside them): the OS waking the thread that waited, and the "
            "HTTP client's own steps, not network"
        )
    if busy:
        return (
            f"your process was busy: {share:.0%} of {of} is contention (other calls or threads, the GIL "
            "or its event loop held it up; the OS's scheduling is part of it), not network"
        )
    return (
        f"your side was late: {share:.0%} of {of} is contention (bytes that had arrived waited for "
        "your process: its threads, the GIL, its event loop or the OS scheduling it), not network"
    )


def _process_busy(run: Run) -> bool | None:
    """Whether anything of the process's own ran beside a call: calls in flight together, garbage
    collections inside the calls, or CPU spent beyond the calls' own. None when that cannot be told:
    a call's CPU is unknown (async calls share one thread), or the calls left time between them,
    where the program's own code ran for a CPU time nobody measured."""
    figures, cpu = run.figures, run.figures.cpu_per_call
    if _calls_overlapped(run) or _collections_text(run) is not None:
        return True
    if cpu is None or cpu.count < figures.started or figures.wall_s <= 0:
        return None
    if figures.split.local_between_calls > _BESIDE_SHARE * figures.wall_s:
        return None
    beside_s = figures.cpu_s - cpu.mean * cpu.count / 1000 - figures.split.local_between_calls
    return beside_s > _BESIDE_SHARE * figures.wall_s


def _calls_overlapped(run: Run) -> bool:
    latest_end = float("-inf")
    for call in sorted(run.calls, key=lambda c: c.start):
        if call.start < latest_end:
            return True
        latest_end = max(latest_end, call.end)
    return False


def _collections_text(run: Run) -> str | None:
    """ "garbage collection was 80% of it", when collections explain the contention just named."""
    figures, gc = run.figures, run.figures.gc
    contention = figures.breakdown["contention"]
    if gc is None or not gc.calls_contention_ms or contention is None or contention.total <= 0:
        return None
    if gc.of_calls < figures.started:  # the calls past those kept whole have no segments left
        return None
    share = min(1.0, gc.calls_contention_ms / contention.total)
    return f"garbage collection was {share:.0%} of it" if share >= _NAME_COLLECTIONS_FROM else None


def _nothing_recorded(run: Run) -> str:
    served = run.target.requests_served
    if served:
        return (
            f"0 calls recorded; the simulator served {served} request{'s' if served != 1 else ''}: "
            "they were made by a client the profiler does not instrument (not the openai SDK?)."
        )
    return "0 calls recorded: the program made no OpenAI API call."


def verdict(run: Run) -> str:
    """Name the largest share of wall time, then the others, from the wall-time split."""
    figures = run.figures
    wall = figures.wall_s
    if figures.started == 0 or wall <= 0:
        return _nothing_recorded(run)
    split = figures.split
    network, backoff, local = split.network / wall, split.backoff / wall, split.local / wall
    between = split.local_between_calls / wall
    server = network * _server_share(run)
    top = run.attribution.top_local if run.attribution is not None else None
    hotspot = top.label if top is not None else None
    local_text = f"local processing {local:.0%}"
    if between >= _NAME_HOTSPOT_FROM:
        local_text += f" ({between:.0%} in your code between calls)"
    if hotspot and local >= _NAME_HOTSPOT_FROM:
        local_text += f", most of it in {hotspot}"
    network_text = f"waiting on the server {server:.0%} (network in all {network:.0%})"
    if backoff >= max(network, local):
        text = f"Retry back-off: {backoff:.0%} of wall time was the SDK sleeping after failures"
        text += f"; {network_text}; {local_text}"
    elif network >= local:
        if server >= network * 0.6:
            text = f"Waiting on the server: {server:.0%} of wall time (network in all {network:.0%})"
            text += f"; {local_text}"
        else:
            text = f"Network transfer: {network:.0%} of wall time, the server only {server:.0%}; {local_text}"
    else:
        text = f"Local processing: {local:.0%} of wall time"
        if between >= _NAME_HOTSPOT_FROM:
            text += f" ({between:.0%} in your code between calls)"
        text += f", most of it in {hotspot}" if hotspot else ""
        text += f"; {network_text}"
    if backoff and not backoff >= max(network, local):
        text += f"; back-off {backoff:.0%}"
    busy = _contention_text(run)
    if busy:
        text += f"; {busy}"
        collections = _collections_text(run)
        if collections:
            text += f" ({collections})"
    if figures.error_rate:
        text += f"; {figures.error_rate:.0%} of calls failed"
    return text + "."
