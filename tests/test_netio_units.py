"""Pure parts of profiler.trace.netio on synthetic input: cmsg parsing, clock conversion, framers."""

from __future__ import annotations

import socket
import struct

import pytest

from profiler.trace.netio import clock
from profiler.trace.netio.clock import perf_from_realtime
from profiler.trace.netio.http1 import Http1ResponseFramer, State
from profiler.trace.netio.kernel import (
    SO_TIMESTAMPING_NEW,
    SO_TIMESTAMPING_OLD,
    SO_TIMESTAMPNS_NEW,
    SO_TIMESTAMPNS_OLD,
    rx_timestamp_ns,
)
from profiler.trace.netio.tls_records import TlsRecordFramer

# --- control messages -------------------------------------------------------------


def test_scm_timestampns_new_is_two_int64() -> None:
    data = struct.pack("=qq", 1_700_000_000, 123_456_789)
    assert rx_timestamp_ns([(socket.SOL_SOCKET, SO_TIMESTAMPNS_NEW, data)]) == 1_700_000_000_123_456_789


def test_scm_timestampns_old_is_a_native_timespec() -> None:
    data = struct.pack("@ll", 1_700_000_000, 5)
    assert rx_timestamp_ns([(socket.SOL_SOCKET, SO_TIMESTAMPNS_OLD, data)]) == 1_700_000_000_000_000_005


@pytest.mark.parametrize("kind, fmt", [(SO_TIMESTAMPING_NEW, "=qq"), (SO_TIMESTAMPING_OLD, "@ll")])
def test_scm_timestamping_takes_the_software_stamp(kind: int, fmt: str) -> None:
    software, legacy, hardware = struct.pack(fmt, 10, 20), struct.pack(fmt, 0, 0), struct.pack(fmt, 99, 99)
    assert rx_timestamp_ns([(socket.SOL_SOCKET, kind, software + legacy + hardware)]) == 10_000_000_020


def test_a_zero_stamp_or_foreign_message_is_no_stamp() -> None:
    zero = struct.pack("=qq", 0, 0)
    assert rx_timestamp_ns([(socket.SOL_SOCKET, SO_TIMESTAMPING_NEW, zero * 3)]) is None
    assert rx_timestamp_ns([(socket.IPPROTO_IP, SO_TIMESTAMPNS_NEW, struct.pack("=qq", 1, 1))]) is None
    assert rx_timestamp_ns([(socket.SOL_SOCKET, SO_TIMESTAMPNS_NEW, b"\x01\x02")]) is None  # truncated
    assert rx_timestamp_ns([]) is None


def test_the_first_timestamp_message_wins_over_other_messages() -> None:
    other = (socket.SOL_SOCKET, 1, b"\x00" * 4)  # e.g. SCM_RIGHTS-like noise
    stamp = (socket.SOL_SOCKET, SO_TIMESTAMPNS_NEW, struct.pack("=qq", 3, 4))
    assert rx_timestamp_ns([other, stamp]) == 3_000_000_004


# --- clock conversion -------------------------------------------------------------


def test_age_on_the_wall_clock_is_subtracted_from_perf_now() -> None:
    # Arrived 2.5 ms before the wall clock was read; perf_counter read at 100 s then.
    arrived = perf_from_realtime(1_000_000_000_000, 1_000_002_500_000, 100.0)
    assert arrived == pytest.approx(99.9975, abs=1e-12)


def test_a_stamp_from_the_future_is_refused_beyond_a_millisecond() -> None:
    assert perf_from_realtime(1_000_000_500_000, 1_000_000_000_000, 100.0) == 100.0  # 0.5 ms: jitter
    assert perf_from_realtime(1_005_000_000_000, 1_000_000_000_000, 100.0) is None  # clock stepped back


def _held_up_clocks(monkeypatch: pytest.MonkeyPatch, perf_reads: list[float], wall_reads: list[int]) -> None:
    """Fake clocks: each call returns the next reading (a thread that lost the GIL mid-pair)."""
    perf, wall = iter(perf_reads), iter(wall_reads)
    monkeypatch.setattr(clock, "perf_counter", lambda: next(perf))
    monkeypatch.setattr(clock, "time_ns", lambda: next(wall))


def test_a_clock_pair_read_across_a_lost_gil_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # First try: 5 ms passed between the perf read and the wall read. Second try: 0.1 µs apart.
    _held_up_clocks(monkeypatch, [10.0, 10.005, 10.006, 10.0060001], [1_005_000_000, 1_006_000_050])
    assert clock.clock_pair() == (10.006, 1_006_000_050)


def test_a_clock_pair_always_held_up_keeps_the_tightest(monkeypatch: pytest.MonkeyPatch) -> None:
    _held_up_clocks(monkeypatch, [1.0, 1.004, 2.0, 2.0001, 3.0, 3.003], [1, 2, 3])
    assert clock.clock_pair() == (2.0, 2)


# --- TLS records ------------------------------------------------------------------


def _record(body: bytes, kind: int = 23) -> bytes:
    return bytes([kind, 3, 3]) + len(body).to_bytes(2, "big") + body


def test_tls_framer_needs_a_peek_at_each_record_start() -> None:
    framer = TlsRecordFramer()
    stream = _record(b"a" * 300) + _record(b"b" * 10)
    assert framer.room() == 0
    assert framer.room_in(stream[:5]) == 305  # the header's length points past the peek
    assert framer.room_in(stream[:3]) == 3  # a partial header: read what is known to be inside
    assert framer.room_in(stream) == 305  # whole record, not a byte of the next
    assert framer.room() == 0  # peeking moved nothing
    framer.advance(stream[:305])
    assert framer.room_in(stream[305:]) == 15


def test_tls_framer_follows_records_split_anywhere() -> None:
    records = [_record(b"x" * n) for n in (0, 1, 17, 16384)]
    stream = b"".join(records)
    ends = {sum(map(len, records[: i + 1])) for i in range(len(records))}
    for step in (1, 3, 5, 7, 1000):
        framer, pos, boundaries = TlsRecordFramer(), 0, set()
        while pos < len(stream):
            room = framer.room() or framer.room_in(stream[pos : pos + step])
            take = min(room, step)
            framer.advance(stream[pos : pos + take])
            pos += take
            if framer.room() == 0 and pos in ends:
                boundaries.add(pos)
        assert boundaries == ends


# --- HTTP/1.1 responses -------------------------------------------------------------

HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n"


def _frames(framer: Http1ResponseFramer, stream: bytes, peek: int = 1024) -> list[bytes]:
    """Read ``stream`` as the receiver does: never past a boundary."""
    out, pos = [], 0
    while pos < len(stream):
        room = framer.room() or framer.room_in(stream[pos : pos + peek])
        chunk = stream[pos : pos + room]
        framer.advance(chunk)
        out.append(chunk)
        pos += len(chunk)
    return out


def test_http_framer_is_opaque_until_a_request_is_written() -> None:
    framer = Http1ResponseFramer()
    assert not framer.known
    framer.note_request(b"\x05\x01\x00")  # a SOCKS greeting, say
    assert not framer.known
    framer.note_request(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n\r\n")
    assert framer.known and framer.state is State.HEAD


def test_chunked_response_boundaries_are_head_each_chunk_and_the_end() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"GET / HTTP/1.1\r\n\r\n")
    chunks = [b"5\r\nhello\r\n", b"1a;ext=1\r\n" + b"z" * 26 + b"\r\n", b"0\r\n\r\n"]
    assert _frames(framer, HEAD + b"".join(chunks)) == [HEAD, *chunks]
    assert framer.state is State.HEAD  # ready for the next response on the connection


def test_trailers_end_the_last_chunk() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"GET / HTTP/1.1\r\n\r\n")
    end = b"0\r\nx-trailer: 1\r\n\r\n"
    assert _frames(framer, HEAD + b"3\r\nabc\r\n" + end) == [HEAD, b"3\r\nabc\r\n", end]


def test_small_peeks_still_stop_exactly_at_boundaries() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"GET / HTTP/1.1\r\n\r\n")
    stream = HEAD + b"5\r\nhello\r\n" + b"0\r\n\r\n"
    pieces = _frames(framer, stream, peek=3)
    assert b"".join(pieces) == stream
    ends = {len(HEAD), len(HEAD) + 10, len(stream)}
    positions = {sum(map(len, pieces[: i + 1])) for i in range(len(pieces))}
    assert ends <= positions  # each boundary is where some read ended


def test_a_big_chunk_is_one_read_though_the_peek_saw_only_its_size_line() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"GET / HTTP/1.1\r\n\r\n")
    framer.advance(HEAD)
    assert framer.room_in(b"4000\r\n" + b"x" * 58) == 6 + 0x4000 + 2


def test_content_length_body_is_one_frame_then_the_next_head() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"GET /a HTTP/1.1\r\n\r\n")
    framer.note_request(b"GET /b HTTP/1.1\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
    assert _frames(framer, head + b"abcd" + head + b"wxyz") == [head, b"abcd", head, b"wxyz"]


def test_head_request_204_and_interim_responses_have_no_body() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"HEAD / HTTP/1.1\r\n\r\n")
    framer.note_request(b"PUT / HTTP/1.1\r\nexpect: 100-continue\r\n\r\n")
    head_reply = b"HTTP/1.1 200 OK\r\ncontent-length: 999\r\n\r\n"
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    no_content = b"HTTP/1.1 204 No Content\r\n\r\n"
    assert _frames(framer, head_reply + interim + no_content) == [head_reply, interim, no_content]
    assert framer.state is State.HEAD


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n",  # close-delimited
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
        b"garbage\r\n\r\n",
    ],
)
def test_what_cannot_be_framed_makes_the_stream_opaque(head: bytes) -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"GET / HTTP/1.1\r\n\r\n")
    _frames(framer, head)
    assert not framer.known


def test_a_bad_chunk_size_makes_the_stream_opaque() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"GET / HTTP/1.1\r\n\r\n")
    _frames(framer, HEAD + b"zz\r\n")
    assert not framer.known


def test_connect_tunnel_becomes_opaque_after_its_head() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"CONNECT api.example:443 HTTP/1.1\r\n\r\n")
    head = b"HTTP/1.1 200 Connection established\r\n\r\n"
    assert _frames(framer, head)[0] == head
    assert not framer.known


def test_peeking_does_not_consume_requests() -> None:
    framer = Http1ResponseFramer()
    framer.note_request(b"HEAD / HTTP/1.1\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n"
    framer.room_in(head)
    framer.room_in(head)
    framer.advance(head)
    assert framer.state is State.HEAD  # still answered as a HEAD: no body expected
