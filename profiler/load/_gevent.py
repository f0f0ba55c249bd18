"""Let trio be imported in a process Locust has monkey-patched with gevent.

``httpcore2`` (under the SDK) imports trio when it is installed, and trio reads
``select.epoll`` at import, which gevent's patched ``select`` no longer has. The
original is put back for that one import: trio's event loop never runs here.
"""

from __future__ import annotations

import sys


def import_trio_under_gevent() -> None:
    import select

    monkey = sys.modules.get("gevent.monkey")
    if hasattr(select, "epoll") or monkey is None or "trio" in sys.modules:
        return
    try:
        epoll = monkey.get_original("select", "epoll")
    except (AttributeError, ImportError):
        return
    select.epoll = epoll  # type: ignore[attr-defined]
    try:
        import trio  # noqa: F401
    except ImportError:
        pass
    finally:
        del select.epoll  # type: ignore[attr-defined]
