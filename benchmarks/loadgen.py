"""A small load generator on raw asyncio + httptools (uvloop): open-loop fixed-rate load (what
wrk2 and vegeta do; neither is packaged in Debian), closed-loop fixed concurrency (the fallback
when wrk is missing), and streamed requests with their time to first token.

Latency at a fixed rate is measured from the moment a request was *due*, not from when it was
sent, so a server that falls behind is charged for the queue it causes (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

import httptools
import orjson


@dataclass
class Sample:
    """The outcome of one load run: latencies in seconds of the successful requests."""

    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Client(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[int] | None = None
        self.first_token: float | None = None
        self.buffer = b""
        self.watch_tokens = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.done is not None and not self.done.done():
                self.done.set_exception(exc)

    def on_body(self, body: bytes) -> None:
        if self.watch_tokens and self.first_token is None:
            self.buffer += body
            self._scan_events()

    def _scan_events(self) -> None:
        """Set ``first_token`` at the first SSE event whose delta carries text."""
        while b"\n\n" in self.buffer:
            event, self.buffer = self.buffer.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if not line.startswith(b"data:") or line[5:].strip() == b"[DONE]":
                    continue
                try:
                    choices = orjson.loads(line[5:]).get("choices") or [{}]
                except orjson.JSONDecodeError:
                    continue
                if (choices[0].get("delta") or {}).get("content"):
                    self.first_token = time.perf_counter()
                    return

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    async def send(self, request: bytes, *, watch_tokens: bool = False) -> int:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self.first_token, self.buffer, self.watch_tokens = None, b"", watch_tokens
        self.transport.write(request)
        return await self.done


async def _connect(host: str, port: int) -> _Client:
    _, protocol = await asyncio.get_running_loop().create_connection(_Client, host, port)
    return protocol


async def _one(client: _Client, request: bytes, timeout: float, watch: bool = False) -> bool:
    try:
        status = await asyncio.wait_for(client.send(request, watch_tokens=watch), timeout)
    except (TimeoutError, ConnectionError, RuntimeError, httptools.HttpParserError):
        # RuntimeError: uvloop refuses to write to a transport the server has just closed
        if client.transport is not None:
            client.transport.close()
        return False
    return 200 <= status < 300


async def _idle_or_new(idle: deque[_Client], host: str, port: int) -> _Client:
    """The most recently used open connection; ones the server closed meanwhile (its keep-alive
    timeout) are dropped, as an HTTP client's pool drops them."""
    while idle:
        client = idle.pop()
        if not client.closed.done():
            return client
    return await _connect(host, port)


async def _all_at_once(
    sample: Sample, clients: int, worker: Callable[[], Awaitable[_Client]]
) -> Sample:
    """``clients`` workers at once, each closing with the connection it used last;
    ``sample.elapsed`` is the time until the last one is done."""
    started = time.perf_counter()
    last = await asyncio.gather(*(worker() for _ in range(clients)))
    for client in last:
        assert client.transport is not None
        client.transport.close()
    sample.elapsed = time.perf_counter() - started
    return sample


async def closed_loop(
    host: str, port: int, request: bytes, *, clients: int, duration: float, timeout: float = 10
) -> Sample:
    """``clients`` connections, each sending its next request as soon as the last one is done."""
    sample = Sample()
    end = time.perf_counter() + duration

    async def worker() -> _Client:
        client = await _connect(host, port)
        while time.perf_counter() < end:
            started = time.perf_counter()
            if await _one(client, request, timeout):
                sample.latencies.append(time.perf_counter() - started)
            else:
                sample.errors += 1
                client = await _connect(host, port)
        return client

    return await _all_at_once(sample, clients, worker)


async def open_loop(
    host: str,
    port: int,
    request: bytes,
    *,
    rate: float,
    duration: float,
    max_connections: int = 512,
    timeout: float = 10,
) -> Sample:
    """Send ``rate`` requests per second on schedule, whatever the server does; a request that
    finds all ``max_connections`` busy, fails or times out counts as an error."""
    sample = Sample()
    idle: deque[_Client] = deque()
    busy = 0
    tasks: set[asyncio.Task[None]] = set()

    async def fire(due: float) -> None:
        nonlocal busy
        busy += 1
        try:
            client = await _idle_or_new(idle, host, port)
            if await _one(client, request, timeout):
                sample.latencies.append(time.perf_counter() - due)
                idle.append(client)
            else:
                sample.errors += 1
        except OSError:
            sample.errors += 1
        finally:
            busy -= 1

    total = int(rate * duration)
    started = time.perf_counter()
    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if busy >= max_connections:
            sample.errors += 1
            continue
        task = asyncio.create_task(fire(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(set(tasks))
    sample.elapsed = time.perf_counter() - started
    for client in idle:
        if client.transport is not None:
            client.transport.close()
    return sample


async def streamed(
    host: str, port: int, request: bytes, *, count: int, clients: int = 1, timeout: float = 30
) -> Sample:
    """``count`` streamed requests over ``clients`` connections; total time and time to first
    token (first SSE event with text) of each."""
    sample = Sample()
    remaining = count

    async def worker() -> _Client:
        nonlocal remaining
        client = await _connect(host, port)
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            if await _one(client, request, timeout, watch=True) and client.first_token:
                sample.latencies.append(time.perf_counter() - started)
                sample.ttfts.append(client.first_token - started)
            else:
                sample.errors += 1
                client = await _connect(host, port)
        return client

    return await _all_at_once(sample, clients, worker)
