"""The one place where transport and upstream failures become Stellwerk errors.

httpx.ConnectError / ConnectTimeout / PoolTimeout  -> BackendUnavailable (503)
httpx.ReadTimeout, the total deadline              -> BackendTimeout (504)
other httpx.TransportError                         -> BackendFailed (502)
upstream 400/413/422 (the request itself is wrong) -> InvalidRequest (400), upstream text kept
upstream 429 / 503                                 -> BackendUnavailable (503)
any other upstream status >= 400                   -> BackendFailed (502)
a body that is not the JSON the protocol promises  -> BackendFailed (502)
a request that JSON cannot carry (an integer past 64 bits passed through) -> InvalidRequest (400)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import orjson

from stellwerk.backends.aiohttp_transport import AiohttpClient
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
        if isinstance(client, AiohttpClient):  # the gateway's client: its cheaper direct path
            status, body = await client.post_bytes(
                url, content, {**headers, "content-type": "application/json"}, timeout
            )
        else:
            response = await client.post(
                url,
                content=content,
                headers={**headers, "content-type": "application/json"},
                timeout=timeout,
            )
            status, body = response.status_code, response.content
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
    if isinstance(client, AiohttpClient):  # the gateway's client: its cheaper direct path
        with upstream_errors(backend):
            answer = await client.post_streamed(
                url, encode(payload), {**headers, "content-type": "application/json"}, timeout
            )
        try:
            if answer.status >= 400:
                with upstream_errors(backend):
                    body = await answer.read()
                raise_for_status(backend, answer.status, body)
            yield _translated_lines(backend, answer.lines())
        finally:
            answer.close()
        return
    request = client.build_request(
        "POST",
        url,
        content=encode(payload),
        headers={**headers, "content-type": "application/json"},
        timeout=timeout,
    )
    with upstream_errors(backend):
        response = await client.send(request, stream=True)
    try:
        if response.status_code >= 400:
            with upstream_errors(backend):
                body = await response.aread()
            raise_for_status(backend, response.status_code, body)
        yield _translated_lines(backend, response.aiter_lines())
    finally:
        await response.aclose()


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
