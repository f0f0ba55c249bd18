"""Steps only some calls take (connect, tls, caller, backoff): a run's figures of one are over the calls
that took it, never a 0 for every call that did not; the others count every call."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.synthetic import call, run_of


def _on_a_reused_connection(call_id: int, offset_ms: float) -> object:
    """The synthetic call without its connect: the connection was already open (the time goes to send)."""
    first = call(call_id, offset_ms, 100.0)
    segments = [s._replace(phase="send") if s.phase == "connect" else s for s in first.segments]
    phases = {**first.phases, "connect": 0.0, "send": (first.phases["send"] or 0.0) + 0.0005}
    return replace(first, segments=segments, phases=phases)


def test_connect_is_over_the_calls_that_connected_and_send_over_all() -> None:
    calls = [call(1, 0.0, 100.0), *(_on_a_reused_connection(i, 200.0 * i) for i in range(2, 6))]
    breakdown = run_of(calls).figures.breakdown  # type: ignore[arg-type]
    connect, send = breakdown["connect"], breakdown["send"]
    assert connect is not None and connect.count == 1 and connect.p50 == pytest.approx(0.5)
    assert send is not None and send.count == 5
    assert breakdown["tls"] is None and breakdown["caller"] is None and breakdown["backoff"] is None
    assert breakdown["local_pre"] is not None and breakdown["local_pre"].count == 5
