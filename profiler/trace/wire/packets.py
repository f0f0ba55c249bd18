"""What a captured packet says about TCP: pure parsing of IPv4/IPv6 packets, no socket.

The capture reads network-layer packets (an ``AF_PACKET``/``SOCK_DGRAM`` socket strips
the link header whatever the interface), so parsing starts at the IP header; the
packet socket's address gives the ethertype.
"""

from __future__ import annotations

from typing import NamedTuple

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
_TCP = 6
SYN = 0x02


class TcpSegment(NamedTuple):
    source_port: int
    destination_port: int
    seq: int  # the sequence number of its first byte (of the SYN itself, for a SYN)
    flags: int  # TCP flags byte (SYN = 0x02, ACK = 0x10, ...)
    payload: int  # bytes of data it carries


def tcp_segment(packet: bytes, ethertype: int) -> TcpSegment | None:
    """The TCP header fields of an IP packet, or None for anything else (or a truncated header)."""
    if ethertype == ETHERTYPE_IPV4:
        if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != _TCP:
            return None
        header = (packet[0] & 0x0F) * 4
        total = int.from_bytes(packet[2:4], "big")
        if int.from_bytes(packet[6:8], "big") & 0x1FFF:  # a later fragment: no TCP header in it
            return None
    elif ethertype == ETHERTYPE_IPV6:
        # Extension headers before TCP are not followed: TCP over IPv6 rarely has any.
        if len(packet) < 40 or packet[0] >> 4 != 6 or packet[6] != _TCP:
            return None
        header = 40
        total = 40 + int.from_bytes(packet[4:6], "big")
    else:
        return None
    tcp = packet[header : header + 20]
    if len(tcp) < 20:
        return None
    offset = (tcp[12] >> 4) * 4
    return TcpSegment(
        source_port=int.from_bytes(tcp[0:2], "big"),
        destination_port=int.from_bytes(tcp[2:4], "big"),
        seq=int.from_bytes(tcp[4:8], "big"),
        flags=tcp[13],
        payload=max(0, total - header - offset),  # the IP header's length: right even for a cut copy
    )
