"""Arrival times from a packet capture: exact for every read, however busy the profiled process is.

Kernel receive stamps on the socket (``profiler.trace.netio``) are exact only for
reads that keep up with the server: once the process is late, the kernel merges
the segments waiting in the socket and keeps only the newest stamp. A capture
process (Linux, CAP_NET_RAW) sees every segment as it comes in, with its own
stamp; each read's bytes are then found in it by their place in the TCP stream.
See docs/arrival-times.md.
"""

from profiler.trace.wire.arrivals import Captured, Resolution, WireArrivals
from profiler.trace.wire.session import WireCapture

__all__ = ["Captured", "Resolution", "WireArrivals", "WireCapture"]
