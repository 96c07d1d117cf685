"""The chat pipeline for the OpenAI endpoints that speak another shape than chat completions:
``/v1/responses`` and ``/v1/completions``.

Each reads its body into an :class:`Exchange`: the model asked for, whether to stream, the
chat request it means, and how to render the answer. :func:`serve` then takes it the way of a
chat request (auth, limits, policy, admission, the router, the backend with fallback, the usage
record; the same functions as ``/v1/chat/completions``), so these endpoints are governed,
routed, accounted and refused exactly like chat.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from fastapi import Request
from starlette.responses import Response

from stellwerk.backends.types import ChatChunk, ChatRequest, ChatResult
from stellwerk.errors import StellwerkError
from stellwerk.gateway.body import read_body
from stellwerk.gateway.calls import Call
from stellwerk.gateway.chat import (
    decision_headers,
    new_request_id,
    one_record,
    open_stream,
    select,
)
from stellwerk.gateway.deps import runtime_of
from stellwerk.gateway.stream_end import AccountedStream, StreamEnd


class Exchange(ABC):
    """One parsed request of an endpoint served by the chat pipeline."""

    model: str
    stream: bool
    chat: ChatRequest

    @abstractmethod
    def plain(self, call: Call, result: ChatResult) -> bytes:
        """The JSON answer of a request that is not streamed."""

    @abstractmethod
    def events(self, call: Call, chunks: AsyncIterator[ChatChunk]) -> AsyncGenerator[bytes, None]:
        """The SSE events of a streamed answer; ``chunks`` carry no usage (``call.usage``
        holds it once they ended)."""

    @abstractmethod
    def error_event(self, exc: StellwerkError) -> bytes:
        """The event that ends a stream a backend failed after its first token."""


Reader = Callable[[bytes, str], Exchange]


async def serve(request: Request, endpoint: str, read: Reader) -> Response:
    """Serve an OpenAI API request of ``endpoint``; ``read`` parses the body (with the
    request id) or raises ``InvalidRequest``."""
    runtime = runtime_of(request)
    call = Call(new_request_id(), "openai", endpoint, "", stream=False)
    async with one_record(runtime, call):
        call.principal = runtime.authenticate(request.headers)
        raw = await read_body(request, runtime.config.server.max_body_bytes)
        exchange = read(raw, call.request_id)
        call.requested_model, call.stream = exchange.model, exchange.stream
        call.selection = await select(runtime, call, exchange.model, exchange.chat)
        if exchange.stream:
            first, rest = await open_stream(runtime, call, exchange.chat)
            end = StreamEnd(runtime, call, exchange.chat, rest)
            return AccountedStream(
                end,
                exchange.events(call, _answer(call, end.chunks(first))),
                exchange.error_event,
                media_type="text/event-stream",
                headers={**decision_headers(call), "cache-control": "no-cache"},
            )
        result = await runtime.caller.complete(call, call.selection, exchange.chat)
        call.ended = time.perf_counter()
        payload = exchange.plain(call, result)
        await runtime.record(call)
        return Response(payload, media_type="application/json", headers=decision_headers(call))


async def _answer(call: Call, chunks: AsyncIterator[ChatChunk]) -> AsyncIterator[ChatChunk]:
    """The answer's pieces (their usage is put on ``call`` by the stream's ``StreamEnd``), and
    its end time once it ended."""
    async for chunk in chunks:
        if chunk.content is not None or chunk.tool_calls or chunk.finish_reason:
            yield chunk
    call.ended = time.perf_counter()
