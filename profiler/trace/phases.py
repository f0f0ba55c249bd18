"""The phase table: every part of an API call's time, in one place.

Each phase has a name, a group (network, local, back-off, queue, or
informational), a help text, a colour and whether it is a *leaf*: the leaves
partition every call's end-to-end time, so their shares add up to 100%.
Informational phases (``server_processing``) are a part of a leaf as another
party reports it; totals (``network``, ``local``) sum a group. The console, the
report, compare, the metrics and OpenTelemetry all read this table; adding a
phase is one entry here plus the code that measures it (``derive.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Group(StrEnum):
    LOCAL = "local"  # the program's own process: our code, the SDK's, the GIL, the event loop
    QUEUE = "queue"  # the client waiting for itself: a pooled connection, a worker
    NETWORK = "network"  # the network or the server
    BACKOFF = "backoff"  # the SDK sleeping between retries
    INFORMATIONAL = "informational"  # a part of a leaf, as someone else reports it


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    group: Group
    help: str
    colour: str
    leaf: bool = True
    part_of: str | None = None  # informational phases: the leaf they are a part of
    # A step only some calls take (when: "a new connection", "a retry"): its figures over a run are over
    # the calls that took it, so a run of reused connections does not report a connect of 0 ms.
    only_on: str | None = None


@dataclass(frozen=True, slots=True)
class Total:
    """A subtotal of every leaf in one group (``network``, ``local``)."""

    name: str
    group: Group
    help: str


PHASES: tuple[Phase, ...] = (
    Phase("local_pre", Group.LOCAL, "SDK entry → request handed to the HTTP client (building it)", "#f28e2b"),
    Phase("queue", Group.QUEUE, "waiting for a pooled connection", "#bab0ac"),
    Phase("connect", Group.NETWORK, "TCP connect (DNS inside)", "#9c755f", only_on="a new connection"),
    Phase("tls", Group.NETWORK, "TLS handshake", "#b07aa1", only_on="a new HTTPS connection"),
    Phase("send", Group.NETWORK, "writing the request headers and body", "#76b7b2"),
    Phase("server_wait", Group.NETWORK, "request sent → response headers arrived", "#4e79a7"),
    Phase(
        "server_processing",
        Group.INFORMATIONAL,
        "of which the server says it worked (openai-processing-ms)",
        "#2d4f73",
        leaf=False,
        part_of="server_wait",
    ),
    Phase("download", Group.NETWORK, "the response body arriving (streams: waiting for chunks)", "#59a14f"),
    Phase(
        "contention",
        Group.LOCAL,
        "inside the HTTP exchange, the client's side held it up (threads, GIL, event loop, the OS)",
        "#edc948",
    ),
    Phase("local_post", Group.LOCAL, "body received → SDK returns (parsing, validation)", "#e15759"),
    Phase("caller", Group.LOCAL, "your code between stream chunks", "#ff9da7", only_on="a stream"),
    Phase("backoff", Group.BACKOFF, "the SDK's sleep between retries", "#d4d4d4", only_on="a retry"),
)

TOTALS: tuple[Total, ...] = (
    Total("network", Group.NETWORK, "connect + tls + send + server_wait + download"),
    Total("local", Group.LOCAL, "local_pre + contention + local_post + caller"),
)

PHASE_BY_NAME: dict[str, Phase] = {phase.name: phase for phase in PHASES}
LEAVES: tuple[str, ...] = tuple(phase.name for phase in PHASES if phase.leaf)
# Every key of a call's breakdown, in table order: the phases, then the totals.
BREAKDOWN_KEYS: tuple[str, ...] = (*(phase.name for phase in PHASES), *(total.name for total in TOTALS))


def leaves_in(group: Group) -> tuple[str, ...]:
    return tuple(phase.name for phase in PHASES if phase.leaf and phase.group is group)


NETWORK_PHASES = leaves_in(Group.NETWORK)
# Steps only some calls take: a call without one of their segments does not count in their figures.
OCCASIONAL_PHASES: frozenset[str] = frozenset(phase.name for phase in PHASES if phase.only_on)
LOCAL_PHASES = leaves_in(Group.LOCAL)
TOTAL_MEMBERS: dict[str, tuple[str, ...]] = {total.name: leaves_in(total.group) for total in TOTALS}


def help_of(name: str) -> str:
    """What the phase is; for a step only some calls take, which calls its figures are over."""
    if name in PHASE_BY_NAME:
        phase = PHASE_BY_NAME[name]
        return phase.help if phase.only_on is None else f"{phase.help} (calls with {phase.only_on})"
    return next((total.help for total in TOTALS if total.name == name), "")


def colour_of(name: str) -> str:
    return PHASE_BY_NAME[name].colour
