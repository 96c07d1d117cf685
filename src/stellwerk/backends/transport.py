"""The transport seam below the backends, and the one place where upstream failures become
Stellwerk errors.

A backend talks HTTP through a ``Transport`` handed to it (injected; one instance shared by every
backend): ``post`` a body and read the whole answer, ``open_stream`` and read the answer line by
line, ``get``. There is one implementation per HTTP client library, each with one table from its
library's exceptions to the tree of ``stellwerk.errors`` (``translate``):
``backends/aiohttp_transport.py`` (the gateway's, on the hot path) and
``backends/httpx_transport.py`` (over any ``httpx.AsyncClient``: ``router train``'s embedding
calls). What a failure means:

cannot connect, no free connection in time          -> BackendUnavailable (503)
no answer in time                                    -> BackendTimeout (504)
the server closed or reset the connection            -> ConnectionLost (502, a BackendFailed)
any other failure of the exchange                    -> BackendFailed (502)

and, above the transport, here:

upstream 400/413/422 saying the prompt is over the model's context -> ContextExceeded (400)
upstream 400/413/422 (the request itself is wrong) -> InvalidRequest (400)
upstream 429 / 503                                 -> BackendUnavailable (503)
any other upstream status >= 400                   -> BackendAnswered (502)
a body that is not the JSON the protocol promises  -> BackendAnswered (502)
a request that JSON cannot carry (an integer past 64 bits passed through) -> InvalidRequest (400)

A request the server hung up on before answering anything (``ConnectionLost``) is sent once
more, on another connection: the pool may hand out a kept-alive connection the server has just
closed (llama-cpp-python closes the one of a stream it broke off), and that failure is no one's
(counted, it would be the backend's, caused by some earlier request). A server that hangs up
twice has failed.

The client reads the status and a short reason of the backend's own (``upstream_text.reason``:
no paths, no traceback); the log gets the whole text, with the request's strings taken out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from stellwerk.backends import upstream_text
from stellwerk.errors import (
    BackendAnswered,
    BackendFailed,
    BackendUnavailable,
    ConnectionLost,
    ContextExceeded,
    InvalidRequest,
    UpstreamError,
    context_words,
)

log = logging.getLogger("stellwerk.backends")

# How servers say a prompt is over the context: llama-cpp-python and vLLM in OpenAI's words,
# llama.cpp's llama-server in its own.
_CONTEXT = re.compile(r"context (?:length|window|size)|exceeds? the available context", re.I)
# The numbers, where they say them: llama-cpp-python and vLLM "maximum context length is 1024
# tokens ... (2000 in the messages" (a text completion's: "(2000 in your prompt"), llama-server
# "request (2000 tokens) exceeds the available context size (1024 tokens)".
_CONTEXT_TOKENS = re.compile(r"maximum context length is (\d+)|available context size \((\d+)")
_PROMPT_TOKENS = re.compile(
    r"\((\d+) in (?:the messages|your prompt|the prompt)|request \((\d+) tokens\)"
)


@dataclass(frozen=True)
class Timeouts:
    """How long a request may wait: for a connection (``connect``, also for a free one from the
    pool) and, once sent, for each piece of the answer (``read``: the first token's wait)."""

    connect: float
    read: float


class Streamed(Protocol):
    """An answer whose body is read as it arrives: ``lines()`` or, for errors, ``read()``;
    both raise Stellwerk errors. Closed by whoever opened it."""

    @property
    def status(self) -> int: ...

    async def read(self) -> bytes: ...
    def lines(self) -> AsyncIterator[str]: ...
    async def aclose(self) -> None: ...


class Transport(Protocol):
    """HTTP/1.1 to the backends; every failure raises an ``UpstreamError`` naming ``backend``."""

    async def post(
        self, backend: str, url: str, content: bytes, headers: Mapping[str, str], timeout: Timeouts
    ) -> tuple[int, bytes]:
        """POST and read the whole answer: its status and body."""
        ...

    async def open_stream(
        self, backend: str, url: str, content: bytes, headers: Mapping[str, str], timeout: Timeouts
    ) -> Streamed:
        """POST and return once the status line and headers are in."""
        ...

    async def get(
        self, backend: str, url: str, headers: Mapping[str, str], timeout: Timeouts
    ) -> tuple[int, bytes]:
        """GET and read the whole answer: its status and body."""
        ...

    async def aclose(self) -> None:
        """Close the pooled connections."""
        ...


#: One client library's exceptions, in the order they are tested (subclasses first), with the
#: Stellwerk error each becomes and the words of its message.
FailureTable = tuple[tuple[type[BaseException], type[UpstreamError], str], ...]


def translate(backend: str, exc: BaseException, table: FailureTable) -> UpstreamError:
    """The Stellwerk error for a client library's exception (the first row it is an instance of;
    a table ends with the library's base class, else a ``BackendFailed``). Broken exchanges go
    to the log as well: a lost connection, which is sent once more, at info level."""
    target: type[UpstreamError] = BackendFailed
    words = "transport error"
    for source, row_target, row_words in table:
        if isinstance(exc, source):
            target, words = row_target, row_words
            break
    if target is ConnectionLost:
        log.info("backend %r closed or reset the connection: %r", backend, exc)
    elif target is BackendFailed:
        log.warning("backend %r: transport error: %r", backend, exc)
    return target(backend, f"{words} ({type(exc).__name__})")


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
    them (the answer's own reservation is left out: it differs between the two).

    It is worded in the words client libraries know (``ContextExceeded``'s docstring says which).
    """
    context = _number(_CONTEXT_TOKENS, text)
    prompt = _number(_PROMPT_TOKENS, text)
    if context is None or prompt is None:
        return ContextExceeded(
            f"The prompt is too long for this model's context (backend {backend!r}: {detail})"
        )
    return ContextExceeded(
        f"{context_words(context)}; the prompt is too long: {prompt} tokens (backend {backend!r})",
        prompt_tokens=prompt,
        context=context,
    )


def _number(pattern: re.Pattern[str], text: str) -> int | None:
    """The number the first of ``pattern``'s alternatives that matches ``text`` captured."""
    found = pattern.search(text)
    if found is None:
        return None
    return int(next(group for group in found.groups() if group is not None))


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


async def post_json(
    transport: Transport,
    backend: str,
    url: str,
    payload: dict[str, Any],
    *,
    headers: Mapping[str, str],
    timeout: Timeouts,
) -> dict[str, Any]:
    """POST ``payload`` as JSON and return the JSON object answered."""
    content = encode(payload)
    sent = {**headers, "content-type": "application/json"}
    try:
        status, body = await transport.post(backend, url, content, sent, timeout)
    except ConnectionLost:  # a closed kept-alive connection
        status, body = await transport.post(backend, url, content, sent, timeout)
    raise_for_status(backend, status, body, payload)
    return parse_json(backend, body)


@asynccontextmanager
async def stream_lines(
    transport: Transport,
    backend: str,
    url: str,
    payload: dict[str, Any],
    *,
    headers: Mapping[str, str],
    timeout: Timeouts,
) -> AsyncIterator[AsyncIterator[str]]:
    """POST and yield the response's lines as they arrive (SSE or NDJSON)."""
    content = encode(payload)
    sent = {**headers, "content-type": "application/json"}
    try:
        answer = await transport.open_stream(backend, url, content, sent, timeout)
    except ConnectionLost:  # a closed kept-alive connection
        answer = await transport.open_stream(backend, url, content, sent, timeout)
    try:
        if answer.status >= 400:
            raise_for_status(backend, answer.status, await answer.read(), payload)
        yield answer.lines()
    finally:
        await answer.aclose()


__all__ = [
    "FailureTable",
    "Streamed",
    "Timeouts",
    "Transport",
    "UpstreamError",
    "encode",
    "parse_json",
    "post_json",
    "raise_for_status",
    "stream_error",
    "stream_lines",
    "translate",
]
