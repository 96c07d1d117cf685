"""The one place where transport and upstream failures become Stellwerk errors.

httpx.ConnectError / ConnectTimeout / PoolTimeout  -> BackendUnavailable (503)
httpx.ReadTimeout, the total deadline              -> BackendTimeout (504)
other httpx.TransportError                         -> BackendFailed (502)
upstream 400/413/422 (the request itself is wrong) -> InvalidRequest (400), upstream text kept
upstream 429 / 503                                 -> BackendUnavailable (503)
any other upstream status >= 400                   -> BackendFailed (502)
a body that is not the JSON the protocol promises  -> BackendFailed (502)
a request that JSON cannot carry (an integer past 64 bits passed through) -> InvalidRequest (400)

``post_json`` and ``stream_lines`` serve every ``httpx.AsyncClient`` with one body of code: the
gateway's ``AiohttpClient`` posts straight through aiohttp, any other client (``router train``'s
embedding calls, a third party's) through ``PlainPoster``, which offers the same two calls over
httpx's own objects. Both cut streamed lines with the same ``LineSplitter``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

import httpx
import orjson

from stellwerk.backends.aiohttp_transport import AiohttpClient
from stellwerk.backends.plain_client import PlainPoster
from stellwerk.errors import (
    BackendFailed,
    BackendTimeout,
    BackendUnavailable,
    InvalidRequest,
    UpstreamError,
)


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
        raise BackendFailed(backend, f"transport error ({type(exc).__name__}: {exc})") from exc


def raise_for_status(backend: str, status: int, body: bytes) -> None:
    """Map an upstream error status to the tree; the upstream's own message is kept."""
    if status < 400:
        return
    detail = _upstream_message(body)
    if status in (400, 413, 422):
        raise InvalidRequest(f"backend {backend!r} rejected the request: {detail}")
    if status in (429, 503):
        raise BackendUnavailable(backend, f"busy or unavailable (HTTP {status}): {detail}")
    raise BackendFailed(backend, f"HTTP {status}: {detail}")


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
        raise BackendFailed(backend, "answered with a body that is not JSON") from exc
    if not isinstance(value, dict):
        raise BackendFailed(backend, "answered with JSON that is not an object")
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
    with upstream_errors(backend):
        status, body = await _poster(client).post_bytes(
            url, content, {**headers, "content-type": "application/json"}, timeout
        )
    raise_for_status(backend, status, body)
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
    with upstream_errors(backend):
        answer = await _poster(client).post_streamed(
            url, content, {**headers, "content-type": "application/json"}, timeout
        )
    try:
        if answer.status >= 400:
            with upstream_errors(backend):
                body = await answer.read()
            raise_for_status(backend, answer.status, body)
        yield _translated_lines(backend, answer.lines())
    finally:
        await answer.aclose()


async def _translated_lines(backend: str, lines: AsyncIterator[str]) -> AsyncIterator[str]:
    with upstream_errors(backend):
        async for line in lines:
            yield line


def _upstream_message(body: bytes) -> str:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:300].decode("utf-8", "replace").strip() or "no details"
    if isinstance(value, dict):
        error = value.get("error", value.get("detail", value))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(value)[:300]


__all__ = [
    "UpstreamError",
    "encode",
    "parse_json",
    "post_json",
    "raise_for_status",
    "stream_lines",
    "upstream_errors",
]
