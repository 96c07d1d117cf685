"""The data plane, declared once: every OpenAI (``/v1``) and Ollama (``/api``) endpoint as a plain
Starlette ``Route`` with what ``/openapi.json`` says of it.

The handlers take the bare ``Request``, read and validate their bodies themselves
(:mod:`stellwerk.gateway.body`) and raise :class:`~stellwerk.errors.StellwerkError`, which is
rendered in the API's own error format (``gateway/errors.py``); they use nothing FastAPI resolves
(FastAPI serves the admin API, the operations endpoints and the dashboard).

The table is served twice over, by one lookup and by the routing: ``Lane``, a middleware inside
the app's own (CORS, body limit, gate, access log), calls the handler of an exact method and path
at once; anything else goes on through the app's exception layers and router, where ``routes()``
answers a wrong method on these paths with Starlette's 405 in the API's format. Through the
router alone a chat request cost the gateway 5-10 % more CPU (two exception layers, FastAPI's
exit stack, the route scan; the figures are in the report of the change).

The documentation of each endpoint (its body, its answer, its errors) is data here, and
:func:`stellwerk.gateway.openapi.data_plane_paths` turns it into the schema's ``paths``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from stellwerk.errors import StellwerkError
from stellwerk.gateway import (
    completions_api,
    feedback_api,
    ollama_api,
    ollama_manage,
    openai_api,
    responses_api,
)
from stellwerk.gateway import ollama_wire as ow
from stellwerk.gateway import response_schema as rs
from stellwerk.gateway.deps import runtime_of
from stellwerk.gateway.embedding_schema import EmbeddingRequest
from stellwerk.gateway.errors import render
from stellwerk.gateway.openai_schema import ChatCompletionRequest
from stellwerk.gateway.responses_schema import ResponseRequest
from stellwerk.gateway.runtime import Runtime

Api = Literal["openai", "ollama"]
Handler = Callable[[Request], Awaitable[Response]]

#: The error codes of each kind of endpoint.
CHAT_ERRORS = (400, 401, 403, 404, 413, 415, 429, 502, 503, 504)
SHOW_ERRORS = (400, 401, 403, 404, 413, 415, 429)
LIST_ERRORS = (401, 429)
MANAGE_ERRORS = (400, 401, 403, 413, 415)
FEEDBACK_ERRORS = (400, 401, 404, 409, 413, 415, 503)


@dataclass(frozen=True)
class Endpoint:
    """One route of the data plane and its documentation."""

    method: str
    path: str
    handler: Handler
    api: Api
    tag: str
    #: the documented operation's name (in its id), its words (default: the handler's docstring)
    name: str
    description: str | None = None
    summary: str | None = None  # default: the name in words
    body: type[BaseModel] | None = None
    body_required: bool = True
    answer: type[BaseModel] | None = None
    #: the media type of the stream the answer is with ``"stream": true``
    streamed: str | None = None
    errors: tuple[int, ...] = ()
    #: error descriptions of this endpoint's own, by code
    error_notes: Mapping[int, str] = field(default_factory=dict)
    keyed: bool = True
    #: the ``endpoint`` of the usage record its handler writes for every request, refused ones
    #: included (``chat``, ``embeddings``, ...), or None: it writes none. Said by every endpoint
    #: (no default), so a new one cannot leave it out; ``refusal.RECORDED`` is made of it.
    records: str | None = field(kw_only=True)

    @property
    def documented_path(self) -> str:
        """The path as OpenAPI writes it: its parameters without Starlette's convertor
        (``/v1/models/{model}`` for ``/v1/models/{model:path}``)."""
        return _CONVERTOR.sub("}", self.path)


#: the convertor of a path's parameter (``{model:path}``)
_CONVERTOR = re.compile(r":\w+\}")


def _with_runtime(handler: Callable[[Request, Runtime], Awaitable[Any]]) -> Handler:
    """A handler that takes the app's runtime as well; a dict it returns is sent as JSON."""

    async def endpoint(request: Request) -> Response:
        answer = await handler(request, runtime_of(request))
        if isinstance(answer, Response):
            return answer
        return Response(orjson.dumps(answer), media_type="application/json")

    endpoint.__doc__ = handler.__doc__
    return endpoint


async def _version(request: Request) -> Response:
    return await ollama_api.version()


_version.__doc__ = ollama_api.version.__doc__


def _manage(action: str, handler: Callable[[Request, Runtime], Awaitable[Any]]) -> Endpoint:
    return Endpoint(
        "DELETE" if action == "delete" else "POST",
        f"/api/{action}",
        _with_runtime(handler),
        "ollama",
        "Ollama API",
        action,
        description=f"Refused with 403: models are managed on the model servers ({action}).",
        summary=f"{action.capitalize()} a model: refused",
        body=ollama_manage.ManageRequest,
        body_required=False,
        errors=MANAGE_ERRORS,
        records=None,
    )


OPENAI, OLLAMA = "OpenAI API", "Ollama API"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/v1/chat/completions",
        openai_api.chat_completions,
        "openai",
        OPENAI,
        "chat_completions",
        body=ChatCompletionRequest,
        answer=rs.ChatCompletion,
        streamed="text/event-stream",
        errors=CHAT_ERRORS,
        records="chat",
    ),
    Endpoint(
        "POST",
        "/api/chat",
        ollama_api.chat,
        "ollama",
        OLLAMA,
        "chat",
        body=ow.OllamaChatRequest,
        answer=rs.OllamaChatResponse,
        streamed="application/x-ndjson",
        errors=CHAT_ERRORS,
        records="chat",
    ),
    Endpoint(
        "POST",
        "/api/generate",
        ollama_api.generate,
        "ollama",
        OLLAMA,
        "generate",
        body=ow.OllamaGenerateRequest,
        answer=rs.OllamaGenerateResponse,
        streamed="application/x-ndjson",
        errors=CHAT_ERRORS,
        records="generate",
    ),
    Endpoint(
        "POST",
        "/v1/responses",
        responses_api.create_response,
        "openai",
        OPENAI,
        "create_response",
        body=ResponseRequest,
        answer=rs.ResponseObject,
        streamed="text/event-stream",
        errors=CHAT_ERRORS,
        records="responses",
    ),
    Endpoint(
        "POST",
        "/v1/completions",
        completions_api.completions,
        "openai",
        OPENAI,
        "completions",
        body=completions_api.CompletionRequest,
        answer=rs.TextCompletion,
        streamed="text/event-stream",
        errors=CHAT_ERRORS,
        records="completions",
    ),
    Endpoint(
        "POST",
        "/v1/embeddings",
        openai_api.embeddings,
        "openai",
        OPENAI,
        "embeddings",
        body=EmbeddingRequest,
        answer=rs.EmbeddingList,
        errors=CHAT_ERRORS,
        records="embeddings",
    ),
    Endpoint(
        "GET",
        "/v1/models",
        _with_runtime(openai_api.list_models),
        "openai",
        OPENAI,
        "list_models",
        answer=rs.ModelList,
        errors=LIST_ERRORS,
        records=None,
    ),
    Endpoint(
        "GET",
        "/v1/models/{model:path}",  # an id may hold a slash (org/model); served by the router
        _with_runtime(openai_api.retrieve_model),
        "openai",
        OPENAI,
        "retrieve_model",
        answer=rs.ModelEntry,
        errors=(401, 404, 429),
        error_notes={404: "No such model or route, or one the key may not use."},
        records=None,
    ),
    Endpoint(
        "POST",
        "/v1/feedback",
        _with_runtime(feedback_api.feedback),
        "openai",
        "Router learning",
        "feedback",
        body=feedback_api.FeedbackRequest,
        answer=rs.FeedbackAnswer,
        errors=FEEDBACK_ERRORS,
        error_notes={409: "Graded already, or not gradable: the router could not read the prompt."},
        records=None,
    ),
    Endpoint(
        "POST",
        "/api/embed",
        ollama_api.embed,
        "ollama",
        OLLAMA,
        "embed",
        body=ow.OllamaEmbedRequest,
        answer=rs.OllamaEmbedResponse,
        errors=CHAT_ERRORS,
        records="embeddings",
    ),
    Endpoint(
        "POST",
        "/api/embeddings",
        ollama_api.embeddings,
        "ollama",
        OLLAMA,
        "embeddings",
        summary="Embeddings of one prompt (older endpoint)",
        body=ow.OllamaEmbeddingsRequest,
        answer=rs.OllamaEmbeddingResponse,
        errors=CHAT_ERRORS,
        records="embeddings",
    ),
    Endpoint(
        "GET",
        "/api/tags",
        _with_runtime(ollama_api.tags),
        "ollama",
        OLLAMA,
        "tags",
        answer=rs.OllamaModelList,
        errors=LIST_ERRORS,
        records=None,
    ),
    Endpoint(
        "GET",
        "/api/ps",
        _with_runtime(ollama_api.running),
        "ollama",
        OLLAMA,
        "running",
        answer=rs.OllamaModelList,
        errors=LIST_ERRORS,
        records=None,
    ),
    Endpoint(
        "POST",
        "/api/show",
        _with_runtime(ollama_api.show),
        "ollama",
        OLLAMA,
        "show",
        body=ow.ShowRequest,
        answer=rs.OllamaShowResponse,
        errors=SHOW_ERRORS,
        records=None,
    ),
    Endpoint(
        "GET",
        "/api/version",
        _version,
        "ollama",
        OLLAMA,
        "version",
        answer=rs.OllamaVersion,
        keyed=False,
        records=None,
    ),
    _manage("pull", ollama_manage.pull),
    _manage("push", ollama_manage.push),
    _manage("create", ollama_manage.create),
    _manage("copy", ollama_manage.copy),
    _manage("delete", ollama_manage.delete),
)


def recorded(endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> dict[tuple[str, str], tuple[Api, str]]:
    """The ``(method, path)`` of each endpoint whose handler records every request -> the
    ``api`` and ``endpoint`` of its usage records."""
    return {(e.method, e.path): (e.api, e.records) for e in endpoints if e.records is not None}


def routes(endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> list[Route]:
    """The Starlette routes, one per path (the chat endpoints first: matched in order). A GET
    route answers only GET: Starlette would add HEAD."""
    made = []
    for e in endpoints:
        route = Route(e.path, e.handler, methods=[e.method], name=e.name, include_in_schema=False)
        assert route.methods is not None
        route.methods.discard("HEAD")
        made.append(route)
    return made


class Lane:
    """ASGI middleware: the data plane's exact ``(method, path)`` pairs served at once, the rest
    passed on. A ``StellwerkError`` is rendered as the app's handler renders it; anything else
    propagates to ``errors.Bugs``, which answers the app's 500."""

    def __init__(
        self,
        app: ASGIApp,
        endpoints: tuple[Endpoint, ...] = ENDPOINTS,
        on_refused: Callable[[Scope, StellwerkError], None] | None = None,
    ) -> None:
        self.app = app
        self.on_refused = on_refused  # told of each error it renders (as ``errors.install``)
        # a path with parameters is the router's to match
        exact = (e for e in endpoints if "{" not in e.path)
        self.handlers = {(e.method, e.path): e.handler for e in exact}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        # A mounted app or a root path changes what ``path`` means: leave that to the router.
        if scope["type"] == "http" and not scope.get("root_path"):
            handler = self.handlers.get((scope["method"], scope["path"]))
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await handler(request)
        except StellwerkError as exc:
            if self.on_refused is not None:
                self.on_refused(scope, exc)
            response = render(request, exc)
        await response(scope, receive, send)
