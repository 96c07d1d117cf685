"""The OpenAI API: ``/v1/chat/completions`` (plain and SSE), ``/v1/embeddings``, ``/v1/models``.

Its handlers decode and encode; the way of a request is :mod:`stellwerk.gateway.pipeline`'s."""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, get_args

import orjson
from starlette.requests import Request
from starlette.responses import Response

from stellwerk.backends.types import ChatChunk, ChatRequest, ChatResult
from stellwerk.config.schema import Capability, Limits, ModelConfig
from stellwerk.errors import NotFound, StellwerkError, shown
from stellwerk.gateway import openai_wire as wire
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.body import parse
from stellwerk.gateway.calls import Call
from stellwerk.gateway.deps import RuntimeDep, runtime_of
from stellwerk.gateway.embedding_schema import EmbeddingRequest
from stellwerk.gateway.limits import check_inputs
from stellwerk.gateway.nested_params import nested_unknown
from stellwerk.gateway.openai_schema import (
    ChatCompletionRequest,
    ChatMessage,
)
from stellwerk.gateway.pipeline import (
    Embedding,
    Exchange,
    decision_headers,
    serve,
    serve_embeddings,
)
from stellwerk.gateway.runtime import Runtime
from stellwerk.gateway.selection import CHAT_SHAPED
from stellwerk.gateway.unknown_params import Allowed, nothing, refuse_unknown, unknown_of
from stellwerk.gateway.whole_inputs import openai_words

#: what is not passed on: the gateway's own, and OpenAI's prompt-cache settings (the model
#: servers here keep their own cache)
_NOT_PASSED = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "user",
    "n",
    "prompt_cache_retention",
    "prompt_cache_options",
}
#: a message's fields that no model server reads (OpenAI's and the ``openai`` library's of an
#: answer, sent back with it; prompt-caching markup, Anthropic's and OpenAI's)
_UNREAD: dict[str, Any] = {
    "cache_control": True,
    "content": {"__all__": {"cache_control", "prompt_cache_breakpoint"}},
    "audio": True,
    "annotations": True,
    "parsed": True,
    "function_call": {"parsed_arguments"},
    "tool_calls": {"__all__": {"index": True, "function": {"parsed_arguments"}}},
}


def _message(message: ChatMessage) -> dict[str, Any]:
    """One message as every backend understands it: open models know no ``developer`` role
    (it is OpenAI's new name for ``system``), and only user messages carry content parts."""
    out = message.model_dump(exclude_none=True, exclude=_UNREAD)
    if out["role"] == "function":
        out.setdefault("content", None)  # required, may be null
    if out["role"] == "developer":
        out["role"] = "system"
    content = out.get("content")
    if out["role"] != "user" and isinstance(content, list):
        out["content"] = "".join(part["text"] for part in content)
    return out


def chat_request(body: ChatCompletionRequest, allowed: frozenset[str] = frozenset()) -> ChatRequest:
    """The chat request of ``body``; a parameter it does not know, at the top or inside its
    messages, tools ... (``nested_params``), is refused unless ``allowed`` (``unknown_params``)."""
    places = nested_unknown(body)
    unknown = refuse_unknown(unknown_of(body.model_extra) | places, allowed, places)
    return ChatRequest(
        messages=[_message(m) for m in body.messages],
        params=body.model_dump(exclude_none=True, exclude=_NOT_PASSED),
        unknown=unknown,
    )


def _json(body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, media_type="application/json", headers=headers)


class ChatExchange(Exchange):
    """``/v1/chat/completions``: OpenAI's chat completion, plain JSON or SSE."""

    def __init__(self, raw: bytes, request_id: str, allowed: Allowed = nothing) -> None:
        self.body = parse(ChatCompletionRequest, raw)
        self.model, self.stream = self.body.model, self.body.stream
        self.chat = chat_request(self.body, allowed(self.model))
        if self.body.max_tokens is None and self.body.max_completion_tokens is not None:
            self.answer_param = "max_completion_tokens"  # the newer name, which it sent
        self.request_id = request_id
        # the client sent the older ``functions``: it reads the answer's older form
        self.older = bool(self.body.functions) and not self.body.tools

    def plain(self, call: Call, result: ChatResult) -> bytes:
        assert call.model is not None
        created = int(time.time())
        return wire.completion(self.request_id, created, call.model.id, result, older=self.older)

    async def events(
        self, call: Call, chunks: AsyncIterator[ChatChunk]
    ) -> AsyncGenerator[bytes, None]:
        assert call.model is not None
        model, created, rid = call.model.id, int(time.time()), self.request_id
        options = self.body.stream_options
        is_first = True
        announced = wire.AnnouncedCalls()
        async for chunk in chunks:
            if chunk.tool_calls:
                chunk = replace(chunk, tool_calls=announced.new_pieces(chunk.tool_calls))
            yield wire.chunk_event(rid, created, model, chunk, first=is_first, older=self.older)
            is_first = False
        if options is not None and options.include_usage and call.usage is not None:
            yield wire.usage_event(rid, created, model, call.usage)
        yield wire.DONE

    def error_event(self, exc: StellwerkError) -> bytes:
        return wire.error_event(exc)


async def chat_completions(request: Request) -> Response:
    """Chat completion; ``model`` is a model id or a route (``auto`` ...); ``stream`` for SSE."""
    return await serve(
        request, "openai", "chat", partial(ChatExchange, allowed=runtime_of(request).allowed)
    )


@dataclass(frozen=True, slots=True)
class _Embedding(Embedding):
    base64: bool = False  # the vectors as OpenAI's base64, not JSON lists


def _embedding(raw: bytes, limits: Limits, allowed: Allowed = nothing) -> _Embedding:
    """OpenAI's API never cuts an input: one the model would cut is refused in its words
    (``whole_inputs``), unless the client says it may be cut (``truncate``, passed on). More
    inputs than ``limits`` allow are refused before any backend is asked, and so is a parameter
    the gateway does not know that the model's backend is not allowed (``unknown_params``)."""
    body = parse(EmbeddingRequest, raw)
    refuse_unknown(unknown_of(body.model_extra), allowed(body.model))
    check_inputs(1 if isinstance(body.input, str) else len(body.input), limits)
    passed = body.model_dump(exclude_none=True, exclude={"model", "input", "encoding_format"})
    return _Embedding(
        body.model,
        body.input,
        passed,
        whole=None if body.may_cut else openai_words,
        dimensions=body.dimensions,
        base64=body.encoding_format == "base64",
    )


async def embeddings(request: Request) -> Response:
    """Embeddings from a model with the ``embeddings`` capability."""
    runtime = runtime_of(request)
    read = partial(_embedding, limits=runtime.config.server.limits, allowed=runtime.allowed)
    call, asked, result = await serve_embeddings(request, "openai", read)
    assert call.model is not None
    encode = _base64 if asked.base64 else None
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


def _entries(runtime: Runtime, principal: Principal) -> list[dict[str, Any]]:
    """The routes (when the caller may use some model) and the models it may use, as
    ``/v1/models`` lists them: OpenAI's fields and each one's ``capabilities`` (a model's as
    its config lists them; a route's those of the models it may choose, ``_route_can``)."""
    models = runtime.selector.visible(principal)
    routed = _route_can(models)
    data = [_entry(name, "stellwerk-route", routed) for name in runtime.selector.routes]
    return (data if models else []) + [_entry(m.id, m.backend, m.capabilities) for m in models]


def _entry(name: str, owner: str, capabilities: Iterable[str]) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": owner,
        "capabilities": list(capabilities),
    }


def _route_can(models: list[ModelConfig]) -> list[str]:
    """What a route can do for a caller who may use ``models``: what any of the chat-shaped
    ones can (a request asking for it goes to those, ``Selector.eligible``), in the config's
    order of capabilities; a route chooses no embedding model."""
    chosen = {c for m in models if CHAT_SHAPED & set(m.capabilities) for c in m.capabilities}
    return [c for c in get_args(Capability) if c in chosen - {"embeddings"}]


async def list_models(request: Request, runtime: RuntimeDep) -> Response:
    """The models and routes the caller's key may use."""
    principal = runtime.authenticate(request.headers)
    return _json(orjson.dumps({"object": "list", "data": _entries(runtime, principal)}), {})


async def retrieve_model(request: Request, runtime: RuntimeDep) -> Response:
    """One model or route, as ``/v1/models`` lists it; one the caller's key may not use is a
    404 as an unknown one is (``/v1/models`` does not list it either), as OpenAI answers."""
    principal = runtime.authenticate(request.headers)
    asked: str = request.path_params["model"]
    name = runtime.selector.configured_name(asked)  # x:latest is x, as the other endpoints read it
    for entry in _entries(runtime, principal):
        if entry["id"] == name:
            return _json(orjson.dumps(entry), {})
    raise NotFound(
        f"the model {shown(asked)} does not exist or you do not have access to it; the models"
        " you may use are listed by GET /v1/models",
        param="model",
        code="model_not_found",
    )
