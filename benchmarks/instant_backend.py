"""A benchmark fixture, not a model server: an OpenAI-compatible endpoint that answers at once.

Every ``POST .../chat/completions`` gets the same short reply (a whole completion, or, for
``"stream": true``, five SSE events sent in one write); ``GET .../models`` lists one model. It is
raw ``asyncio.Protocol`` + ``httptools`` on uvloop, HTTP/1.1 keep-alive, no framework, and can run
several processes on one port (``SO_REUSEPORT``), so that it answers many times faster than any
gateway in front of it and the gateways, not the fixture, are what a benchmark measures.

    python -m benchmarks.instant_backend --port 9100 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import signal
import socket
import sys
from typing import cast

import httptools
import orjson
import uvloop

REPLY = "Hello from the instant backend."
_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')


def _completion() -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-instant",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "instant",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": REPLY},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
        }
    )


def _stream() -> bytes:
    base = {"id": "chatcmpl-instant", "object": "chat.completion.chunk", "created": 1_700_000_000}
    base["model"] = "instant"
    deltas: list[tuple[dict[str, str], str | None]] = [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Hello from"}, None),
        ({"content": " the instant backend."}, None),
        ({}, "stop"),
    ]
    events = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        for delta, finish in deltas
    ]
    usage = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    events.append({**base, "choices": [], "usage": usage})
    body = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


COMPLETION = _response("200 OK", "application/json", _completion())
STREAM = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n" + _stream()
)
MODELS = _response(
    "200 OK",
    "application/json",
    orjson.dumps(
        {"object": "list", "data": [{"id": "instant", "object": "model", "owned_by": "bench"}]}
    ),
)
NOT_FOUND = _response("404 Not Found", "application/json", b'{"error":{"message":"not found"}}')


class _Connection(asyncio.Protocol):
    """One client connection; answers each complete request from the prebuilt replies."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop sets TCP_NODELAY itself

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        url, body = self.url, b"".join(self.body)
        self.url, self.body = b"", []
        if url.endswith(b"/chat/completions"):
            self.transport.write(STREAM if _STREAM_FLAG.search(body) else COMPLETION)
        elif url.endswith(b"/models"):
            self.transport.write(MODELS)
        else:
            self.transport.write(NOT_FOUND)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind to as well."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, sock=bind(host, port))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()


def serve(host: str, port: int) -> None:
    """Serve in this process until SIGTERM or SIGINT."""
    uvloop.run(_serve(host, port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="processes on the same port")
    args = parser.parse_args(argv)
    workers = [
        multiprocessing.Process(target=serve, args=(args.host, args.port), daemon=True)
        for _ in range(max(0, args.workers - 1))
    ]
    for worker in workers:
        worker.start()
    try:
        serve(args.host, args.port)
    finally:
        for worker in workers:
            worker.terminate()
            worker.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
