"""Both transports (aiohttp's, the gateway's; httpx's, router training's) answer and fail alike:
every failure becomes the same Stellwerk error, a connection the server hung up on before
answering is tried once more, streamed lines are cut the same way."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import httpx
import orjson
import pytest

from stellwerk.backends.aiohttp_transport import AiohttpTransport
from stellwerk.backends.httpx_transport import HttpxTransport
from stellwerk.backends.transport import (
    Timeouts,
    Transport,
    post_json,
    raise_for_status,
    stream_lines,
)
from stellwerk.errors import (
    BackendFailed,
    BackendTimeout,
    BackendUnavailable,
    ContextExceeded,
    InvalidRequest,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUT = Timeouts(connect=2, read=0.3)
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


def _aiohttp() -> Transport:
    return AiohttpTransport(max_connections=16, keepalive_s=4)


def _httpx() -> Transport:
    return HttpxTransport(httpx.AsyncClient())


BOTH = pytest.mark.parametrize("make", [_aiohttp, _httpx], ids=["aiohttp", "httpx"])


async def _through_both(url: str) -> AsyncIterator[BaseException | dict[str, object]]:
    """post_json through both transports; yields the outcome of each."""
    for transport in (_aiohttp(), _httpx()):
        try:
            yield await post_json(transport, "b", url, {"q": 1}, headers={}, timeout=TIMEOUT)
        except Exception as exc:
            yield exc
        finally:
            await transport.aclose()


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
def test_both_transports_fail_alike(handler: Handler | None, expected: object) -> None:
    async def run() -> list[object]:
        if handler is None:
            return [outcome async for outcome in _through_both(_dead_url())]
        server, url = await _serve(handler)
        async with server:
            return [outcome async for outcome in _through_both(url)]

    outcomes = asyncio.run(run())
    if isinstance(expected, dict):
        assert outcomes == [expected, expected]
    else:
        assert isinstance(expected, type)
        assert all(isinstance(outcome, expected) for outcome in outcomes), outcomes
        assert all("backend 'b'" in str(outcome) for outcome in outcomes)


@BOTH
def test_a_transport_posts_streams_and_gets(make: Callable[[], Transport]) -> None:
    async def run() -> tuple[tuple[int, bytes], list[str], tuple[int, bytes], BaseException]:
        server, url = await _serve(answer_ok)
        async with server:
            transport = make()
            try:
                posted = await transport.post("b", url, b"{}", {}, TIMEOUT)
                async with stream_lines(
                    transport, "b", url, {"q": 1}, headers={}, timeout=TIMEOUT
                ) as lines:
                    streamed = [line async for line in lines]
                got = await transport.get("b", url, {}, TIMEOUT)
                try:
                    await post_json(transport, "b", _dead_url(), {}, headers={}, timeout=TIMEOUT)
                except BackendUnavailable as exc:
                    error: BaseException = exc
            finally:
                await transport.aclose()
        return posted, streamed, got, error

    posted, streamed, got, error = asyncio.run(run())
    assert posted == got == (200, OK_BODY)
    assert streamed == [OK_BODY.decode()]
    assert "cannot connect" in str(error)


@BOTH
def test_a_request_the_server_hung_up_on_is_sent_once_more(
    make: Callable[[], Transport],
) -> None:
    """The first connection is closed after the request is read (as a server closing an idle
    kept-alive connection does); the request is sent again and answered."""
    connections = 0

    async def first_hangs_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            await hang_up(reader, writer)
        else:
            await answer_ok(reader, writer)

    async def run() -> dict[str, object]:
        server, url = await _serve(first_hangs_up)
        async with server:
            transport = make()
            try:
                return await post_json(transport, "b", url, {}, headers={}, timeout=TIMEOUT)
            finally:
                await transport.aclose()

    assert asyncio.run(run()) == {"answer": 42}
    assert connections == 2


@BOTH
def test_upstream_400_is_the_clients_fault(make: Callable[[], Transport]) -> None:
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
            transport = make()
            try:
                await post_json(transport, "b", url, {}, headers={}, timeout=TIMEOUT)
            except InvalidRequest as exc:
                return str(exc)
            finally:
                await transport.aclose()
        return "no error"

    assert "max_tokens too large" in asyncio.run(run())


@pytest.mark.parametrize(
    ("said", "told"),
    [
        (  # llama-cpp-python, vLLM
            "This model's maximum context length is 1024 tokens. However, you requested 2004"
            " tokens (2000 in the messages, 4 in the completion). Please reduce the length.",
            "This model's maximum context length is 1024 tokens; the prompt is too long: 2000"
            " tokens (backend 'b')",
        ),
        (  # llama-cpp-python, a text completion (/v1/completions)
            "This model's maximum context length is 1024 tokens, however you requested 1104"
            " tokens (1101 in your prompt; 3 for the completion). Please reduce your prompt; or"
            " completion length.",
            "This model's maximum context length is 1024 tokens; the prompt is too long: 1101"
            " tokens (backend 'b')",
        ),
        (  # llama.cpp's llama-server
            "request (2000 tokens) exceeds the available context size (1024 tokens), try"
            " increasing it",
            "This model's maximum context length is 1024 tokens; the prompt is too long: 2000"
            " tokens (backend 'b')",
        ),
        (  # Ollama, with no numbers
            "the input length exceeds the context length",
            "The prompt is too long for this model's context (backend 'b': the input length"
            " exceeds the context length)",
        ),
    ],
)
def test_a_prompt_over_the_context_is_told_alike_however_the_backend_words_it(
    said: str, told: str
) -> None:
    """In the words client libraries know (litellm, LangChain), with both numbers where the
    backend gives them."""
    body = orjson.dumps({"error": {"message": said}})
    with pytest.raises(ContextExceeded) as caught:
        raise_for_status("b", 400, body)
    assert (caught.value.message, caught.value.code) == (told, "context_length_exceeded")


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


def test_streamed_lines_split_like_sse_on_both_transports() -> None:
    async def lines_of(transport: Transport, url: str) -> list[str]:
        try:
            async with stream_lines(transport, "b", url, {}, headers={}, timeout=TIMEOUT) as lines:
                return [line async for line in lines]
        finally:
            await transport.aclose()

    async def run() -> tuple[list[str], list[str]]:
        server, url = await _serve(stream_in_pieces)
        async with server:
            direct = await lines_of(_aiohttp(), url)
            plain = await lines_of(_httpx(), url)
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


@BOTH
@pytest.mark.parametrize(
    ("handler", "expected"),
    [(answer_503, BackendUnavailable), (hang_up, BackendFailed), (half_answer, BackendFailed)],
)
def test_stream_failures_are_mapped_on_both_transports(
    handler: Handler, expected: type, make: Callable[[], Transport]
) -> None:
    async def run() -> BaseException | None:
        server, url = await _serve(handler)
        async with server:
            transport = make()
            try:
                async with stream_lines(
                    transport, "b", url, {}, headers={}, timeout=TIMEOUT
                ) as lines:
                    [line async for line in lines]
            except Exception as exc:
                return exc
            finally:
                await transport.aclose()
        return None

    assert isinstance(asyncio.run(run()), expected)
