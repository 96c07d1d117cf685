"""The gateway's HTTP client (httpx on aiohttp, plus its direct POST path) fails the way httpx's
own client does, so backends/transport.py maps every failure to the same Stellwerk error."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import httpx
import pytest

from stellwerk.backends.aiohttp_transport import AiohttpClient
from stellwerk.backends.transport import post_json, stream_lines
from stellwerk.errors import BackendFailed, BackendTimeout, BackendUnavailable, InvalidRequest

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUT = httpx.Timeout(connect=2, read=0.3, write=2, pool=2)
OK_BODY = b'{"answer": 42}'


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    await reader.readexactly(length)


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            await _read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(OK_BODY), OK_BODY)
        )
        await writer.drain()


async def answer_503(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    body = b'{"error": {"message": "model is loading"}}'
    writer.write(
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    await asyncio.sleep(1)


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.close()


async def half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial')
    await writer.drain()
    writer.close()


async def _serve(handler: Handler) -> tuple[asyncio.Server, str]:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # the client giving up first is what some tests provoke
        try:
            with suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/chat/completions"


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1/chat/completions"


async def _through_both(url: str) -> AsyncIterator[type[BaseException] | dict[str, object]]:
    """post_json through the direct path and through plain httpx; yields outcome per path."""
    for client in (AiohttpClient(httpx.Limits()), httpx.AsyncClient()):
        try:
            yield await post_json(client, "b", url, {"q": 1}, headers={}, timeout=TIMEOUT)
        except Exception as exc:
            yield type(exc)
        finally:
            await client.aclose()


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (answer_ok, {"answer": 42}),
        (answer_503, BackendUnavailable),
        (hang, BackendTimeout),
        (hang_up, BackendFailed),
        (half_answer, BackendFailed),
        (None, BackendUnavailable),
    ],
)
def test_direct_path_fails_like_httpx(handler: Handler | None, expected: object) -> None:
    async def run() -> list[object]:
        if handler is None:
            return [outcome async for outcome in _through_both(_dead_url())]
        server, url = await _serve(handler)
        async with server:
            return [outcome async for outcome in _through_both(url)]

    assert asyncio.run(run()) == [expected, expected]


def test_transport_serves_httpx_requests_and_streams() -> None:
    async def run() -> tuple[int, bytes, list[str], type[BaseException] | None]:
        server, url = await _serve(answer_ok)
        async with server:
            client = AiohttpClient(httpx.Limits())
            try:
                response = await client.post(url, json={"q": 1}, timeout=TIMEOUT)
                async with stream_lines(
                    client, "b", url, {"q": 1}, headers={}, timeout=TIMEOUT
                ) as lines:
                    streamed = [line async for line in lines]
                try:
                    await post_json(client, "b", _dead_url(), {}, headers={}, timeout=TIMEOUT)
                except BackendUnavailable as exc:
                    error: type[BaseException] | None = type(exc)
                else:
                    error = None
            finally:
                await client.aclose()
        return response.status_code, response.content, streamed, error

    status, content, streamed, error = asyncio.run(run())
    assert (status, content) == (200, OK_BODY)
    assert streamed == [OK_BODY.decode()]
    assert error is BackendUnavailable


def test_upstream_400_is_the_clients_fault() -> None:
    async def reject(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        body = b'{"error": {"message": "max_tokens too large"}}'
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    async def run() -> str:
        server, url = await _serve(reject)
        async with server:
            client = AiohttpClient(httpx.Limits())
            try:
                await post_json(client, "b", url, {}, headers={}, timeout=TIMEOUT)
            except InvalidRequest as exc:
                return str(exc)
            finally:
                await client.aclose()
        return "no error"

    assert "max_tokens too large" in asyncio.run(run())


# Chunked pieces cut at awkward places: inside a CRLF, inside a two-byte UTF-8 character; a
# U+2028 inside JSON text (orjson does not escape it) must not split a line.
STREAM_PIECES = [
    b"data: one\r",
    b"\n\r\ndata: caf\xc3",
    "\xa9 \u2028 still one line\n\n".encode()[1:],
    b"data: cr only\rdata: [DONE]",
]


async def stream_in_pieces(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
    writer.write(b"transfer-encoding: chunked\r\n\r\n")
    for piece in STREAM_PIECES:
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()
        await asyncio.sleep(0.02)
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def test_streamed_lines_split_like_sse_on_both_paths() -> None:
    async def lines_of(client: httpx.AsyncClient, url: str) -> list[str]:
        try:
            async with stream_lines(client, "b", url, {}, headers={}, timeout=TIMEOUT) as lines:
                return [line async for line in lines]
        finally:
            await client.aclose()

    async def run() -> tuple[list[str], list[str]]:
        server, url = await _serve(stream_in_pieces)
        async with server:
            direct = await lines_of(AiohttpClient(httpx.Limits()), url)
            plain = await lines_of(httpx.AsyncClient(), url)
        return direct, plain

    direct, plain = asyncio.run(run())
    # httpx's own aiter_lines would also break at U+2028 (str.splitlines); SSE breaks at CR/LF.
    assert plain == direct
    assert direct == [
        "data: one",
        "",
        "data: café \u2028 still one line",
        "",
        "data: cr only",
        "data: [DONE]",
    ]


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "plain-httpx"])
@pytest.mark.parametrize(
    ("handler", "expected"), [(answer_503, BackendUnavailable), (hang_up, BackendFailed)]
)
def test_stream_failures_are_mapped_on_both_paths(
    handler: Handler, expected: type, direct: bool
) -> None:
    async def run() -> type[BaseException] | None:
        server, url = await _serve(handler)
        async with server:
            client = AiohttpClient(httpx.Limits()) if direct else httpx.AsyncClient()
            try:
                async with stream_lines(client, "b", url, {}, headers={}, timeout=TIMEOUT) as lines:
                    [line async for line in lines]
            except Exception as exc:
                return type(exc)
            finally:
                await client.aclose()
        return None

    assert asyncio.run(run()) is expected
