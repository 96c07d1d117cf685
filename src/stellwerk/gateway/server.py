"""Serving an app with uvicorn in a background thread: for ``stellwerk demo`` and the tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import uvicorn
from fastapi import FastAPI

from stellwerk.config.schema import ServerConfig
from stellwerk.errors import StellwerkError
from stellwerk.gateway.deadlines import http_protocol


@contextmanager
def serve_in_thread(
    app: FastAPI,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout_s: float = 60,
    loop: Literal["auto", "asyncio", "uvloop"] = "auto",
    settings: ServerConfig | None = None,
) -> Iterator[str]:
    """Serve ``app`` until the block ends (the lifespan's shutdown runs); yields the base URL.

    ``port=0`` lets the kernel pick a free port. ``loop="asyncio"`` makes every connection go
    through Python's ``socket`` module (uvloop connects in C), so audit hooks see them.
    ``settings``: the ``server:`` section whose read deadlines apply (default: the defaults).
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        loop=loop,
        http=http_protocol(settings or ServerConfig()),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="stellwerk-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive():
            raise StellwerkError(f"the gateway could not start on {host}:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise StellwerkError("the gateway did not start in time")
        time.sleep(0.02)
    bound = port or _bound_port(server)
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(60)


def _bound_port(server: uvicorn.Server) -> int:
    for listener in server.servers:
        for sock in listener.sockets:
            port: int = sock.getsockname()[1]
            return port
    raise StellwerkError("the gateway has no listening socket")
