"""The packet capture's pure parts on synthetic input: parsing TCP out of IP, and bytes to arrivals."""

from __future__ import annotations

import math
import struct

import pytest

from profiler.trace.recording import CallRecording
from profiler.trace.wire import Captured, WireArrivals
from profiler.trace.wire.packets import ETHERTYPE_IPV4, ETHERTYPE_IPV6, SYN, tcp_segment

MS = 1_000_000  # ns


def _tcp(source: int, destination: int, seq: int, flags: int, payload: bytes, options: bytes = b"") -> bytes:
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", source, destination, seq, 0, offset << 4, flags, 65535, 0, 0)
    return header + options + payload


def _ipv4(tcp: bytes, ihl: int = 5, fragment: int = 0) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(tcp), 1, fragment, 64, 6, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))  # fmt: skip
    return header + b"\0" * (4 * ihl - 20) + tcp


def _ipv6(tcp: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, b"\0" * 15 + b"\1", b"\0" * 15 + b"\1") + tcp


def test_tcp_fields_come_out_of_ipv4_and_ipv6_with_options_and_padding() -> None:
    tcp = _tcp(8000, 51000, 4_000_000_000, 0x18, b"x" * 37, options=b"\x01\x01\x08\x0a" + b"\0" * 8)
    for packet, kind in ((_ipv4(tcp, ihl=6), ETHERTYPE_IPV4), (_ipv6(tcp), ETHERTYPE_IPV6)):
        segment = tcp_segment(packet + b"\0\0\0\0", kind)  # trailing link padding is not payload
        assert segment is not None
        assert (segment.source_port, segment.destination_port, segment.seq) == (8000, 51000, 4_000_000_000)
        assert (segment.flags, segment.payload) == (0x18, 37)


def test_what_is_not_a_tcp_header_is_refused() -> None:
    tcp = _tcp(1, 2, 3, SYN, b"")
    udp = bytearray(_ipv4(tcp))
    udp[9] = 17
    assert tcp_segment(bytes(udp), ETHERTYPE_IPV4) is None
    assert tcp_segment(_ipv4(tcp)[:30], ETHERTYPE_IPV4) is None  # header cut short
    assert tcp_segment(_ipv4(tcp, fragment=10), ETHERTYPE_IPV4) is None  # a later fragment
    assert tcp_segment(_ipv4(tcp), 0x0806) is None  # ARP


Span = tuple[float, int, int, int, int]


def _recording(*reads: Span, writes: tuple[Span, ...] = ()) -> CallRecording:
    """Reads as (arrived perf s, port, first, end, kernel stamp ns); writes as (entered perf s, port, first,
    end, wall clock ns at entry)."""
    recording = CallRecording(call_id=1, entered=0.0, started_at=0.0)
    for arrived, port, first, end, stamp in reads:
        recording.note_read(arrived, arrived + 0.001, end - first, False, (port, first, end, stamp))
    for entered, port, first, end, wall in writes:
        recording.note_write(entered, entered + 0.0001, end - first, (port, first, end, wall))
    return recording


ISN_IN, ISN_OUT, T0 = 2**32 - 10, 77, 1_000_000 * MS  # the server's sequence numbers wrap mid-stream


def _connection(port: int, opened_ns: int) -> list[Captured]:
    """A connection: our SYN, theirs; we send 100 bytes, they send 3 writes of 50 bytes, 10 ms apart."""
    theirs = [Captured(opened_ns + (10 + 10 * k) * MS, port, (ISN_IN + 1 + 50 * k) % 2**32, 50, False)
              for k in range(3)]  # fmt: skip
    return [
        Captured(opened_ns, port, ISN_OUT, 0, True, True),
        Captured(opened_ns + MS, port, ISN_IN, 0, True),
        Captured(opened_ns + 2 * MS, port, ISN_OUT + 1, 100, False, True),
        *theirs,
    ]


def test_a_late_read_gets_the_arrival_of_the_segment_that_carried_its_bytes() -> None:
    wire = WireArrivals(_connection(5000, T0))
    # Read late: all three writes were merged into one kernel buffer stamped with the last (30 ms).
    # Three framed reads, each reporting that stamp, converted to perf time as 5.030 s.
    recording = _recording(*((5.030, 5000, 50 * k, 50 * (k + 1), T0 + 30 * MS) for k in range(3)))
    done = wire.resolve(recording)
    assert (done.resolved, done.unresolved) == (3, 0)
    assert list(recording.read_arrived) == pytest.approx([5.010, 5.020, 5.030], abs=1e-9)
    assert list(recording.read_exact) == [1, 1, 1]


def test_a_read_across_two_segments_gets_the_later_and_is_not_exact() -> None:
    wire = WireArrivals(_connection(5000, T0))
    recording = _recording((5.030, 5000, 40, 60, T0 + 30 * MS))
    wire.resolve(recording)
    assert recording.read_arrived[0] == pytest.approx(5.020, abs=1e-9)
    assert recording.read_exact[0] == 0


def test_a_resent_segment_keeps_its_first_arrival() -> None:
    segments = [*_connection(5000, T0), Captured(T0 + 200 * MS, 5000, (ISN_IN + 1) % 2**32, 50, False)]
    wire = WireArrivals(segments)
    recording = _recording((5.300, 5000, 0, 50, T0 + 300 * MS))
    wire.resolve(recording)
    assert recording.read_arrived[0] == pytest.approx(5.010, abs=1e-9)  # the first copy, at 10 ms


def test_a_reused_port_is_told_apart_by_when_each_connection_opened() -> None:
    second = T0 + 10_000 * MS
    wire = WireArrivals([*_connection(5000, T0), *_connection(5000, second)])
    recording = _recording((9.0, 5000, 0, 50, second + 40 * MS))
    wire.resolve(recording)
    assert recording.read_arrived[0] == pytest.approx(9.0 - 0.030, abs=1e-9)  # the second one's 10 ms


def test_what_the_capture_did_not_see_keeps_the_sockets_own_stamp() -> None:
    wire = WireArrivals(_connection(5000, T0))
    recording = _recording(
        (5.030, 5001, 0, 50, T0 + 30 * MS),  # another port
        (5.030, 5000, 150, 200, T0 + 30 * MS),  # past what was captured
        (5.030, 5000, 0, 50, T0 - 5 * MS),  # stamped before the connection opened
        (5.030, 5000, 100, 150, T0 + 22 * MS),  # a segment stamped after the read's own: not it
    )
    recording.note_read(None, 5.1, 50, False, (5000, 0, 50, 0))  # no kernel stamp: nothing to anchor
    done = wire.resolve(recording)
    assert (done.resolved, done.unresolved) == (0, 5)
    assert list(recording.read_arrived)[:4] == [5.030] * 4 and math.isnan(recording.read_arrived[4])


def test_a_writes_time_becomes_when_its_last_byte_left() -> None:
    wire = WireArrivals(_connection(5000, T0))
    # write() entered at perf 4.000, wall clock T0 + 1.5 ms; its bytes left at T0 + 2 ms.
    recording = _recording(writes=((4.000, 5000, 0, 100, T0 + MS + MS // 2),))
    done = wire.resolve(recording)
    assert (done.writes_resolved, done.writes_unresolved) == (1, 0)
    assert recording.write_entered[0] == pytest.approx(4.0005, abs=1e-9)
