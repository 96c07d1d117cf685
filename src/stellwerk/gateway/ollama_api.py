"""The Ollama API, so Ollama clients work unchanged: ``/api/chat``, ``/api/generate``,
``/api/embed`` (and the older ``/api/embeddings``), ``/api/tags``, ``/api/show``, ``/api/ps``,
``/api/version``. Errors answer ``{"error": "..."}``.

Its handlers decode and encode; the way of a request is :mod:`stellwerk.gateway.pipeline`'s."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from stellwerk.backends.types import ChatChunk, ChatRequest, ChatResult
from stellwerk.config.schema import Limits, ModelConfig
from stellwerk.errors import InvalidRequest, NotFound, StellwerkError, shown
from stellwerk.gateway import ollama_load as load
from stellwerk.gateway import ollama_wire as wire
from stellwerk.gateway.body import parse
from stellwerk.gateway.calls import Call
from stellwerk.gateway.deps import RuntimeDep, runtime_of
from stellwerk.gateway.errors import message_of
from stellwerk.gateway.limits import check_inputs
from stellwerk.gateway.openai_wire import joined_calls
from stellwerk.gateway.pipeline import (
    Embedding,
    Exchange,
    Idle,
    decision_headers,
    serve,
    serve_embeddings,
)
from stellwerk.gateway.whole_inputs import ollama_words
from stellwerk.request_body import read_body

# The Ollama release whose API this facade follows; clients compare it numerically.
OLLAMA_API_VERSION = "0.12.6"


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


class ConverseExchange(Exchange):
    """``/api/chat`` and ``/api/generate``: Ollama's answer, one JSON or NDJSON lines. Streamed,
    the text goes on as it comes, the tool calls whole in one line once the answer finished."""

    media_type = "application/x-ndjson"
    stream_headers: ClassVar[Mapping[str, str]] = {}
    generate: ClassVar[bool] = False
    answer_param = "options.num_predict"

    def __init__(self, raw: bytes, request_id: str) -> None:
        body: wire.OllamaChatRequest | wire.OllamaGenerateRequest
        if self.generate:
            body = parse(wire.OllamaGenerateRequest, raw)
        else:
            body = parse(wire.OllamaChatRequest, raw)
        self.model, self.stream = body.model, body.stream
        kind = load.idle_kind(body)
        if kind is not None:  # Ollama's load or unload: answered as one object, not streamed
            answer = load.idle_answer(body.model, kind, generate=self.generate)
            self.idle, self.stream = Idle(kind, answer), False
            self.chat = ChatRequest(messages=[])
        elif isinstance(body, wire.OllamaGenerateRequest):
            self.chat = wire.generate_request(body)
        else:
            self.chat = wire.chat_request(body)

    def plain(self, call: Call, result: ChatResult) -> bytes:
        assert call.model is not None and call.ended is not None
        total_ns = int((call.ended - call.started) * 1e9)
        return wire.chat_response(call.model.id, result, total_ns, generate=self.generate)

    async def events(
        self, call: Call, chunks: AsyncIterator[ChatChunk]
    ) -> AsyncGenerator[bytes, None]:
        assert call.model is not None
        model = call.model.id
        done_reason = "stop"
        pieces: list[dict[str, Any]] = []  # the tool calls' pieces, until the answer finished
        async for chunk in chunks:
            if chunk.finish_reason == "length":
                done_reason = "length"
            if chunk.content is not None or chunk.reasoning:
                yield wire.chat_line(model, replace(chunk, tool_calls=None), generate=self.generate)
            pieces += chunk.tool_calls or ()
            if pieces and chunk.finish_reason:
                yield self._calls_line(model, pieces)
                pieces = []
        if pieces:
            yield self._calls_line(model, pieces)
        assert call.ended is not None  # the answer ended (``pipeline``)
        total_ns = int((call.ended - call.started) * 1e9)
        yield wire.final_line(model, call.usage, total_ns, done_reason, generate=self.generate)

    def _calls_line(self, model: str, pieces: list[dict[str, Any]]) -> bytes:
        """The answer's tool calls, whole, in one line: Ollama sends each call whole, its
        arguments an object, where an OpenAI-compatible backend streams it in pieces."""
        return wire.chat_line(
            model, ChatChunk(tool_calls=joined_calls(pieces)), generate=self.generate
        )

    def error_event(self, exc: StellwerkError) -> bytes:
        return wire.error_line(message_of(exc))


class GenerateExchange(ConverseExchange):
    generate = True
    prompt_param = "prompt"


async def chat(request: Request) -> Response:
    """Chat; streams NDJSON unless ``"stream": false``."""
    return await serve(request, "ollama", "chat", ConverseExchange)


async def generate(request: Request) -> Response:
    """Completion of one prompt (with an optional system prompt); streams unless told not to."""
    return await serve(request, "ollama", "generate", GenerateExchange)


def _embedding(raw: bytes, limits: Limits) -> Embedding:
    """``truncate`` (default true) as Ollama reads it: false refuses an input over the model's
    context (a 400) rather than cut it; the backend is asked not to cut it either (Ollama's own
    ``truncate``), for the backends whose tokenizer the gateway cannot ask. ``dimensions`` goes
    to the backend, and an answer of another size is refused (``pipeline.refuse_other_size``).
    More inputs than ``limits`` allow are refused before any backend is asked."""
    body = parse(wire.OllamaEmbedRequest, raw)
    check_inputs(1 if isinstance(body.input, str) else len(body.input), limits)
    return _truncated(body.model, body.input, body.truncate, dimensions=body.dimensions)


def _truncated(
    model: str,
    inputs: str | list[str],
    truncate: bool | None,
    field: str = "input",
    dimensions: int | None = None,
) -> Embedding:
    params: dict[str, Any] = {} if dimensions is None else {"dimensions": dimensions}
    if truncate is False:
        params["truncate"] = False
    return Embedding(
        model,
        inputs,
        params or None,
        whole=ollama_words if truncate is False else None,
        field=field,
        dimensions=dimensions,
    )


async def embed(request: Request) -> Response:
    """Embeddings: one vector per input string."""
    limits = runtime_of(request).config.server.limits
    call, _, result = await serve_embeddings(request, "ollama", partial(_embedding, limits=limits))
    assert call.model is not None and call.ended is not None
    total_ns = int((call.ended - call.started) * 1e9)
    return _json(
        {
            "model": call.model.id,
            "embeddings": result.vectors,
            "total_duration": total_ns,
            "load_duration": 0,
            "prompt_eval_count": result.prompt_tokens,
        },
        decision_headers(call),
    )


def _prompt_embedding(raw: bytes) -> Embedding:
    body = parse(wire.OllamaEmbeddingsRequest, raw)
    return _truncated(body.model, body.prompt, body.truncate, "prompt")


async def embeddings(request: Request) -> Response:
    """Embedding of one ``prompt`` (Ollama's older endpoint, superseded by ``/api/embed``):
    served, counted and refused as ``/api/embed``."""
    call, _, result = await serve_embeddings(request, "ollama", _prompt_embedding)
    return _json({"embedding": result.vectors[0]}, decision_headers(call))


def listed_name(name: str) -> str:
    """``name`` as Ollama lists a model: with its tag, ``:latest`` when it has none. Ollama's
    clients check a name against the list so (``x`` and ``x:latest`` both match ``x:latest``,
    langchain-ollama's ``validate_model_on_init``); the gateway takes either name."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _family(model: ModelConfig) -> str:
    return model.id.split("-")[0].split(":")[0]


def _details(model: ModelConfig) -> dict[str, Any]:
    family = _family(model)
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family],
        "parameter_size": f"{model.params_b:g}B",
        "quantization_level": "",
    }


def _entry(model: ModelConfig, modified: str) -> dict[str, Any]:
    name = listed_name(model.id)
    return {
        "name": name,
        "model": name,
        "modified_at": modified,
        "size": int(model.params_b * 1e9 * 0.6),
        "digest": hashlib.sha256(model.id.encode()).hexdigest(),
        "details": _details(model),
    }


async def tags(request: Request, runtime: RuntimeDep) -> Response:
    """The routes (``auto`` ...) first, then the models the caller may use, as Ollama lists
    local models (named with their tag, ``listed_name``): clients that preselect the first
    entry (Open WebUI) preselect ``auto:latest``."""
    principal = runtime.authenticate(request.headers)
    modified = wire.now_iso()
    visible = runtime.selector.visible(principal)
    models = []
    if any("chat" in m.capabilities for m in visible):
        models = [_route_entry(name, modified) for name in runtime.selector.routes]
    models += [_entry(m, modified) for m in visible]
    return _json({"models": models})


def _route_entry(name: str, modified: str) -> dict[str, Any]:
    return {
        "name": listed_name(name),
        "model": listed_name(name),
        "modified_at": modified,
        "size": 0,
        "digest": hashlib.sha256(f"route:{name}".encode()).hexdigest(),
        "details": _ROUTE_DETAILS,
    }


_ROUTE_DETAILS = {
    "parent_model": "",
    "format": "stellwerk-route",
    "family": "stellwerk",
    "families": ["stellwerk"],
    "parameter_size": "",
    "quantization_level": "",
}


async def running(request: Request, runtime: RuntimeDep) -> Response:
    """The models available now: those the caller may use whose backend serves now (it
    answered its last health probe, its circuit is not open: ``/readyz``'s test), as Ollama
    lists the models it has loaded; ``expires_at`` is ISO-8601 as Ollama sends it, and
    ``context_length`` is the model's (Ollama's: the context it was loaded with)."""
    principal = runtime.authenticate(request.headers)
    modified = wire.now_iso()
    expires = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    models = [
        {
            **_entry(m, modified),
            "expires_at": expires,
            "size_vram": 0,
            "context_length": m.context_length,
        }
        for m in runtime.selector.visible(principal)
        if runtime.backend_ready(m.backend)
    ]
    return _json({"models": models})


async def show(request: Request, runtime: RuntimeDep) -> Response:
    """Facts of one model, including its capabilities as Ollama names them and its context
    length as Ollama's ``model_info`` holds it (``<architecture>.context_length``). A model the
    key may not use is answered as an unknown one, in Ollama's words (404 ``model 'x' not
    found``): ``/api/tags`` does not list it, and ``/v1/models/{model}`` hides it the same."""
    principal = runtime.authenticate(request.headers)
    body = parse(wire.ShowRequest, await read_body(request, runtime.config.server.max_body_bytes))
    asked = body.model or body.name
    if not asked:
        raise InvalidRequest("missing 'model'", param="model")
    name = runtime.selector.configured_name(asked)  # x:latest is x, a route's name too
    if runtime.selector.is_route(name):
        return _json(_route_facts(runtime.selector.visible(principal)))
    model = next((m for m in runtime.selector.visible(principal) if m.id == name), None)
    if model is None:
        raise NotFound(f"model {shown(asked)} not found", param="model", code="model_not_found")
    capabilities = ["completion"] if "chat" in model.capabilities else []
    capabilities += [c for c in ("tools", "vision") if c in model.capabilities]
    if "embeddings" in model.capabilities:
        capabilities.append("embedding")
    if "thinking" in model.capabilities:
        capabilities.append("thinking")  # last, as Ollama lists it
    family = _family(model)
    info = {
        "general.architecture": family,
        "general.parameter_count": int(model.params_b * 1e9),
        f"{family}.context_length": model.context_length,
    }
    return _json(_facts(_details(model), info, capabilities))


def _facts(
    details: Mapping[str, Any], info: Mapping[str, Any], capabilities: list[str]
) -> dict[str, Any]:
    return {
        "modelfile": "",
        "parameters": "",
        "template": "",
        "details": details,
        "model_info": info,
        "capabilities": capabilities,
        "modified_at": wire.now_iso(),
    }


def _route_facts(visible: list[ModelConfig]) -> dict[str, Any]:
    """A route as ``/api/show`` describes it: it completes, and calls tools, reads images or
    thinks when some model it may choose can (a request asking for one goes to those). Its
    context length is the largest of those models': a longer prompt no model it may choose
    holds (refused, ``no_capable_model``), a shorter one goes to those whose context holds it
    (``Selector.eligible``)."""
    chat = [m for m in visible if "chat" in m.capabilities]
    capabilities = ["completion"] if chat else []
    capabilities += [
        c for c in ("tools", "vision", "thinking") if any(c in m.capabilities for m in chat)
    ]
    info: dict[str, Any] = {"general.architecture": _ROUTE_DETAILS["family"]}
    if chat:
        info["stellwerk.context_length"] = max(m.context_length for m in chat)
    return _facts(_ROUTE_DETAILS, info, capabilities)


async def version() -> Response:
    """The Ollama API version this facade follows (numeric, as clients expect)."""
    return _json({"version": OLLAMA_API_VERSION})
