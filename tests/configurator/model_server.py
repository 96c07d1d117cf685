"""A model server on loopback, standing for the user's Ollama or OpenAI-compatible server:
it answers ``GET /api/tags`` and ``GET /v1/models`` (and ``POST /api/show``, by the model the
body names) with what a test gives it; with a ``key``, only requests that send it (401 else)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

Routes = dict[str, tuple[int, object]]


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[Routes] = {}
    key: ClassVar[str | None] = None

    def do_GET(self) -> None:
        self._answer(*self.routes.get(self.path, (404, {"error": "not found"})))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        asked = json.loads(self.rfile.read(length) or b"{}").get("model")
        status, bodies = self.routes.get("POST " + self.path, (404, {}))
        assert isinstance(bodies, dict), "a POST route answers by the model its body names"
        self._answer(status if asked in bodies else 404, bodies.get(asked, {"error": "not found"}))

    def _answer(self, status: int, body: object) -> None:
        if self.key is not None and self.headers.get("Authorization") != f"Bearer {self.key}":
            status, body = 401, {"error": "unauthorized"}
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is not the place for access logs."""


def start(routes: Routes, key: str | None = None) -> ThreadingHTTPServer:
    """Serve ``routes`` (path -> (status, JSON body or raw text); ``"POST /api/show"`` -> (status,
    {model name: body})) on a free loopback port, asking for ``key`` when one is given."""
    handler = type("Handler", (_Handler,), {"routes": routes, "key": key})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def closed_port_url() -> str:
    """A loopback URL nothing listens on: the port was just bound and released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def ollama_tags(*models: tuple[str, str, str]) -> dict[str, list[dict[str, object]]]:
    """The body of Ollama's ``/api/tags`` for (name, parameter_size, quantization_level)."""
    return {
        "models": [
            {
                "name": name,
                "model": name,
                "modified_at": "2026-11-01T10:00:00Z",
                "size": 1,
                "digest": "0" * 64,
                "details": {
                    "format": "gguf",
                    "family": name.split(":")[0],
                    "parameter_size": size,
                    "quantization_level": quant,
                },
            }
            for name, size, quant in models
        ]
    }


def openai_models(*ids: str) -> dict[str, object]:
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": 0, "owned_by": "me"} for i in ids],
    }


@pytest.fixture
def model_servers() -> Iterator[Callable[[Routes], str]]:
    """Start model servers answering ``Routes`` (each call one server; its URL); all stopped
    after the test."""
    servers: list[ThreadingHTTPServer] = []

    def started(routes: Routes) -> str:
        servers.append(start(routes))
        return f"http://127.0.0.1:{servers[-1].server_address[1]}"

    yield started
    for server in servers:
        server.shutdown()
        server.server_close()
