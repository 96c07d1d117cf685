"""The one place where transport and upstream failures become Stellwerk errors.

httpx.ConnectError / ConnectTimeout / PoolTimeout  -> BackendUnavailable (503)
httpx.ReadTimeout, the total deadline              -> BackendTimeout (504)
other httpx.TransportError                         -> BackendFailed (502)
upstream 400/413/422 saying the prompt is over the model's context -> ContextExceeded (400)
upstream 400/413/422 (the request itself is wrong) -> InvalidRequest (400)
upstream 429 / 503                                 -> BackendUnavailable (503)
any other upstream status >= 400                   -> BackendAnswered (502)
a body that is not the JSON the protocol promises  -> BackendAnswered (502)
a request that JSON cannot carry (an integer past 64 bits passed through) -> InvalidRequest (400)

A request the server hung up on before answering anything is sent once more, on another
connection: the pool may hand out a kept-alive connection the server has just closed
(llama-cpp-python closes the one of a stream it broke off), and that failure is no one's (counted,
it would be the backend's, caused by some earlier request). A server that hangs up twice has failed.

The client reads the status and a short reason of the backend's own (``upstream_text.reason``:
no paths, no traceback); the log gets the whole text, with the request's strings taken out.

``post_json`` and ``stream_lines`` serve every ``httpx.AsyncClient`` with one body of code: the
gateway's ``AiohttpClient`` posts straight through aiohttp, any other client (``router train``'s
embedding calls, a third party's) through ``PlainPoster``, which offers the same two calls over
httpx's own objects. Both cut streamed lines with the same ``LineSplitter``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

import httpx
import orjson

from stellwerk.backends import upstream_text
from stellwerk.backends.aiohttp_transport import AiohttpClient
from stellwerk.backends.plain_client import PlainPoster
from stellwerk.errors import (
    BackendAnswered,
    BackendFailed,
    BackendTimeout,
    BackendUnavailable,
    ContextExceeded,
    InvalidRequest,
    UpstreamError,
)

log = logging.getLogger("stellwerk.backends")

# How servers say a prompt is over the context: llama-cpp-python and vLLM in OpenAI's words,
# llama.cpp's llama-server in its own.
_CONTEXT = re.compile(r"context (?:length|window|size)|exceeds? the available context", re.I)
_CONTEXT_TOKENS = re.compile(r"maximum context length is (\d+)")
_PROMPT_TOKENS = re.compile(r"\((\d+) in the messages")


@contextmanager
def upstream_errors(backend: str) -> Iterator[None]:
    """Translate httpx's exceptions raised inside the block."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise BackendUnavailable(backend, f"cannot connect ({type(exc).__name__})") from exc
    except httpx.TimeoutException as exc:
        raise BackendTimeout(backend, f"no answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        log.warning("backend %r: transport error: %r", backend, exc)
        raise BackendFailed(backend, f"transport error ({type(exc).__name__})") from exc


def raise_for_status(
    backend: str, status: int, body: bytes, request: dict[str, Any] | None = None
) -> None:
    """Map an upstream error status to the tree: the client gets the status and a short clean
    reason, the log the whole text (without ``request``'s strings)."""
    if status < 400:
        return
    text = upstream_text.message_of(body)
    log.warning(
        "backend %r answered HTTP %d: %s", backend, status, upstream_text.for_log(text, request)
    )
    detail = upstream_text.reason(text)
    if status in (400, 413, 422):
        if upstream_text.code_of(body) == "context_length_exceeded" or _CONTEXT.search(text):
            raise _context_exceeded(backend, text, detail)
        raise InvalidRequest(f"backend {backend!r} rejected the request: {detail}")
    if status in (429, 503):
        raise BackendUnavailable(backend, f"busy or unavailable (HTTP {status}): {detail}")
    raise BackendAnswered(backend, f"HTTP {status}: {detail}")


def _context_exceeded(backend: str, text: str, detail: str) -> ContextExceeded:
    """One message for a prompt over the context, however the backend words it and whether the
    request was streamed or not: the prompt's tokens and the context, where the backend says
    them (the answer's own reservation is left out: it differs between the two)."""
    context = _CONTEXT_TOKENS.search(text)
    prompt = _PROMPT_TOKENS.search(text)
    if context is None or prompt is None:
        return ContextExceeded(f"backend {backend!r}: the prompt is over the context: {detail}")
    return ContextExceeded(
        f"backend {backend!r}: the prompt of {prompt.group(1)} tokens is over the model's "
        f"context of {context.group(1)} tokens",
        prompt_tokens=int(prompt.group(1)),
        context=int(context.group(1)),
    )


def stream_error(backend: str, event: dict[str, Any], request: dict[str, Any]) -> BackendAnswered:
    """An error the backend sent inside a stream: the log gets it whole, the client its reason."""
    text = upstream_text.message_of(orjson.dumps(event))
    log.warning("backend %r sent a stream error: %s", backend, upstream_text.for_log(text, request))
    return BackendAnswered(backend, f"stream error: {upstream_text.reason(text)}")


def encode(payload: dict[str, Any]) -> bytes:
    """The request body for the backend; values passed through unchecked may not fit JSON."""
    try:
        return orjson.dumps(payload)
    except TypeError as exc:  # orjson: integers past 64 bits, and nothing else JSON can parse
        raise InvalidRequest(f"request cannot be passed on: {exc}") from exc


def parse_json(backend: str, body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BackendAnswered(backend, "answered with a body that is not JSON") from exc
    if not isinstance(value, dict):
        raise BackendAnswered(backend, "answered with JSON that is not an object")
    return value


class _Answer(Protocol):
    status: int

    async def read(self) -> bytes: ...
    def lines(self) -> AsyncIterator[str]: ...
    async def aclose(self) -> None: ...


class _Poster(Protocol):
    async def post_bytes(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> tuple[int, bytes]: ...

    async def post_streamed(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> _Answer: ...


def _poster(client: httpx.AsyncClient) -> _Poster:
    """The gateway's client posts straight through aiohttp; any other through httpx's objects."""
    return client if isinstance(client, AiohttpClient) else PlainPoster(client)


async def post_json(
    client: httpx.AsyncClient,
    backend: str,
    url: str,
    payload: dict[str, Any],
    *,
    headers: dict[str, str],
    timeout: httpx.Timeout,
) -> dict[str, Any]:
    content = encode(payload)
    poster, sent = _poster(client), {**headers, "content-type": "application/json"}
    with upstream_errors(backend):
        try:
            status, body = await poster.post_bytes(url, content, sent, timeout)
        except (httpx.RemoteProtocolError, httpx.ReadError):  # a closed kept-alive connection
            status, body = await poster.post_bytes(url, content, sent, timeout)
    raise_for_status(backend, status, body, payload)
    return parse_json(backend, body)


@asynccontextmanager
async def stream_lines(
    client: httpx.AsyncClient,
    backend: str,
    url: str,
    payload: dict[str, Any],
    *,
    headers: dict[str, str],
    timeout: httpx.Timeout,
) -> AsyncIterator[AsyncIterator[str]]:
    """POST and yield the response's lines as they arrive (SSE or NDJSON)."""
    content = encode(payload)
    poster, sent = _poster(client), {**headers, "content-type": "application/json"}
    with upstream_errors(backend):
        try:
            answer = await poster.post_streamed(url, content, sent, timeout)
        except (httpx.RemoteProtocolError, httpx.ReadError):  # a closed kept-alive connection
            answer = await poster.post_streamed(url, content, sent, timeout)
    try:
        if answer.status >= 400:
            with upstream_errors(backend):
                body = await answer.read()
            raise_for_status(backend, answer.status, body, payload)
        yield _translated_lines(backend, answer.lines())
    finally:
        await answer.aclose()


async def _translated_lines(backend: str, lines: AsyncIterator[str]) -> AsyncIterator[str]:
    with upstream_errors(backend):
        async for line in lines:
            yield line


__all__ = [
    "UpstreamError",
    "encode",
    "parse_json",
    "post_json",
    "raise_for_status",
    "stream_error",
    "stream_lines",
    "upstream_errors",
]
