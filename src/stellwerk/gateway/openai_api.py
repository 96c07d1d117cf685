"""The OpenAI API: ``/v1/chat/completions`` (plain and SSE), ``/v1/embeddings``, ``/v1/models``."""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from stellwerk.backends.types import ChatChunk, ChatRequest
from stellwerk.gateway import openai_wire as wire
from stellwerk.gateway.body import parse, read_body
from stellwerk.gateway.calls import Call
from stellwerk.gateway.chat import (
    decision_headers,
    new_request_id,
    one_record,
    open_stream,
    select,
)
from stellwerk.gateway.chat import embed as embed_call
from stellwerk.gateway.deps import RuntimeDep, runtime_of
from stellwerk.gateway.openai_schema import (
    ChatCompletionRequest,
    ChatMessage,
    EmbeddingRequest,
)
from stellwerk.gateway.stream_end import AccountedStream, StreamEnd

_NOT_PASSED = {"model", "messages", "stream", "stream_options", "user", "n"}


def _message(message: ChatMessage) -> dict[str, Any]:
    """One message as every backend understands it: open models know no ``developer`` role
    (it is OpenAI's new name for ``system``), and only user messages carry content parts."""
    out = message.model_dump(exclude_none=True)
    if out["role"] == "function":
        out.setdefault("content", None)  # required, may be null
    if out["role"] == "developer":
        out["role"] = "system"
    content = out.get("content")
    if out["role"] != "user" and isinstance(content, list):
        out["content"] = "".join(part["text"] for part in content)
    return out


def chat_request(body: ChatCompletionRequest) -> ChatRequest:
    return ChatRequest(
        messages=[_message(m) for m in body.messages],
        params=body.model_dump(exclude_none=True, exclude=_NOT_PASSED),
    )


def _json(body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, media_type="application/json", headers=headers)


async def chat_completions(request: Request) -> Response:
    """Chat completion; ``model`` is a model id or a route (``auto`` ...); ``stream`` for SSE."""
    runtime = runtime_of(request)  # a plain Starlette route: no FastAPI dependencies
    call = Call(new_request_id(), "openai", "chat", "", stream=False)
    async with one_record(runtime, call):
        call.principal = runtime.authenticate(request.headers)
        limit = runtime.config.server.max_body_bytes
        body = parse(ChatCompletionRequest, await read_body(request, limit))
        call.requested_model, call.stream = body.model, body.stream
        chat = chat_request(body)
        call.selection = await select(runtime, call, body.model, chat)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            first, rest = await open_stream(runtime, call, chat)
            end = StreamEnd(runtime, call, chat, rest)
            return AccountedStream(
                end,
                _sse(call, end.chunks(first), include_usage),
                wire.error_event,
                media_type="text/event-stream",
                headers={**decision_headers(call), "cache-control": "no-cache"},
            )
        result = await runtime.caller.complete(call, call.selection, chat)
        call.ended = time.perf_counter()
        assert call.model is not None
        payload = wire.completion(call.request_id, int(time.time()), call.model.id, result)
        await runtime.record(call)
        return _json(payload, decision_headers(call))


async def _sse(
    call: Call, chunks: AsyncIterator[ChatChunk], include_usage: bool
) -> AsyncGenerator[bytes, None]:
    assert call.model is not None
    model, created, rid = call.model.id, int(time.time()), call.request_id
    is_first = True
    async for chunk in chunks:
        if chunk.content is not None or chunk.tool_calls or chunk.finish_reason:
            yield wire.chunk_event(rid, created, model, chunk, first=is_first)
            is_first = False
    call.ended = time.perf_counter()
    if include_usage and call.usage is not None:
        yield wire.usage_event(rid, created, model, call.usage)
    yield wire.DONE


async def embeddings(request: Request, runtime: RuntimeDep) -> Response:
    """Embeddings from a model with the ``embeddings`` capability."""
    call = Call(new_request_id(), "openai", "embeddings", "", stream=False)
    async with one_record(runtime, call):
        call.principal = runtime.authenticate(request.headers)
        limit = runtime.config.server.max_body_bytes
        body = parse(EmbeddingRequest, await read_body(request, limit))
        call.requested_model = body.model
        passed = body.model_dump(exclude_none=True, exclude={"model", "input", "encoding_format"})
        result = await embed_call(runtime, call, body.model, body.input, passed)
    assert call.model is not None
    encode = _base64 if body.encoding_format == "base64" else None
    payload = orjson.dumps(
        {
            "object": "list",
            "model": call.model.id,
            "data": [
                {"object": "embedding", "index": i, "embedding": encode(v) if encode else v}
                for i, v in enumerate(result.vectors)
            ],
            "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
        }
    )
    return _json(payload, decision_headers(call))


def _base64(vector: list[float]) -> str:
    """OpenAI's base64 encoding (little-endian float32), the ``openai`` library's default."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


async def list_models(request: Request, runtime: RuntimeDep) -> Response:
    """The models and routes the caller's key may use."""
    principal = runtime.authenticate(request.headers)
    models = runtime.selector.visible(principal)
    data = (
        [
            {"id": name, "object": "model", "created": 0, "owned_by": "stellwerk-route"}
            for name in runtime.selector.routes
        ]
        if models
        else []
    )
    data += [{"id": m.id, "object": "model", "created": 0, "owned_by": m.backend} for m in models]
    return _json(orjson.dumps({"object": "list", "data": data}), {})
