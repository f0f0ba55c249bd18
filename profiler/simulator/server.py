"""Running the app under uvicorn on a socket we bind ourselves, so port 0 works."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp

from .faults import ConnectionDropped

__all__ = ["bind", "serve"]

# How long in-flight requests (a stalled `timeout`, a slow stream) may hold up a shutdown.
GRACEFUL_SHUTDOWN_S = 1
# uvicorn's 5 s default would close idle keep-alive connections between a
# workload's calls and charge the client reconnects an API server would not cause.
KEEP_ALIVE_S = 60
# If a graceful shutdown after the parent's death still hangs, this is the end of it.
ORPHAN_HARD_EXIT_S = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on host:port; port 0 lets the OS pick a free one."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    app: ASGIApp,
    sock: socket.socket,
    *,
    on_ready: Callable[[int], None],
    access_log: bool = False,
    log_level: str = "warning",
    exit_on_stdin_eof: bool = False,
    tls: tuple[str, str] | None = None,
) -> None:
    """Serve `app` on `sock` until interrupted; call `on_ready(port)` once connections are accepted.

    `tls` is a (certificate chain, private key) pair of PEM files: with it, the server speaks HTTPS.
    """
    certfile, keyfile = tls if tls is not None else (None, None)
    config = uvicorn.Config(
        app,
        # Pinned rather than "auto" so the wire behaviour does not change when httptools is installed.
        http="h11",
        lifespan="off",
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        timeout_keep_alive=KEEP_ALIVE_S,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    server = uvicorn.Server(config)
    logging.getLogger("uvicorn.error").addFilter(_hide_deliberate_drops)
    if exit_on_stdin_eof:
        threading.Thread(
            target=_exit_when_stdin_closes, args=(server,), name="parent-watch", daemon=True
        ).start()
    asyncio.run(_serve(server, sock, on_ready))


async def _serve(server: uvicorn.Server, sock: socket.socket, on_ready: Callable[[int], None]) -> None:
    # Read before serving: once asked to exit, uvicorn closes the socket, and asking a
    # closed socket its port raised "Bad file descriptor", hiding why the start failed.
    port = sock.getsockname()[1]
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            await serving  # startup failed: let its exception out
            return
        await asyncio.sleep(0.005)
    if server.should_exit:
        await serving  # told to stop before it was ready: nobody is waiting for the port
        return
    on_ready(port)
    await serving


def _hide_deliberate_drops(record: logging.LogRecord) -> bool:
    # The `disconnect` fault raises to make uvicorn drop the connection; that is
    # the plan working, not an "Exception in ASGI application" worth a traceback.
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _exit_when_stdin_closes(server: uvicorn.Server) -> None:
    """Stdin is a pipe from the parent; EOF means the parent is gone or wants us gone.

    This is what keeps a crashed or SIGKILLed parent from leaving an orphan
    server behind: the kernel closes the pipe whatever way the parent died.
    """
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass
    server.should_exit = True
    backstop = threading.Timer(ORPHAN_HARD_EXIT_S, os._exit, args=(0,))
    backstop.daemon = True
    backstop.start()
