"""Fixtures of the configurator tests: model servers on loopback, and a port nobody serves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.configurator import model_server as ms


@pytest.fixture
def model_server() -> Iterator[Callable[[ms.Routes], str]]:
    """Start servers answering the given routes; all are stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(routes: ms.Routes) -> str:
        server = ms.start(routes)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    return ms.closed_port_url()
