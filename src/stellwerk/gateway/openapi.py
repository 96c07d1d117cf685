"""The served OpenAPI schema (``/openapi.json``): the real request bodies and error responses.

The handlers read and validate their bodies themselves (``model_validate_json`` on the raw bytes,
see :mod:`stellwerk.gateway.body`), so FastAPI must not parse them: the routes only *document*
their bodies here, with ``openapi_extra`` pointing at ``components/schemas``. The schema is built
once, on the first ``GET /openapi.json``, from the same pydantic models the handlers use (their
``$defs`` moved into ``components/schemas``); the request path never touches it. The chat
endpoints are served by the direct lane (:mod:`stellwerk.gateway.direct`) with the same handler
functions as their FastAPI routes, which stay registered to document them here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from stellwerk.config.schema import ServerConfig
from stellwerk.gateway.ollama_wire import (
    OllamaChatRequest,
    OllamaEmbedRequest,
    OllamaGenerateRequest,
    ShowRequest,
)
from stellwerk.gateway.openai_schema import ChatCompletionRequest, EmbeddingRequest

Api = Literal["openai", "ollama"]

#: Request bodies documented under ``components/schemas`` (with the models they refer to).
BODY_MODELS: tuple[type[BaseModel], ...] = (
    ChatCompletionRequest,
    EmbeddingRequest,
    OllamaChatRequest,
    OllamaGenerateRequest,
    OllamaEmbedRequest,
    ShowRequest,
)

_REF = "#/components/schemas/{model}"

_ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "OpenAIError": {
        "title": "OpenAIError",
        "description": "The OpenAI error envelope, as the openai library parses it.",
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "param", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    },
    "OllamaError": {
        "title": "OllamaError",
        "description": "Ollama's error body: one message.",
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
}

_REASONS = {
    400: "The request is malformed: invalid JSON, a wrong type, a missing field.",
    401: "No API key, or an unknown one.",
    403: "The key's department may not use this model.",
    404: "The model (or route, key, use case) does not exist.",
    409: "An illegal lifecycle transition, or a change based on a stale version (admin API).",
    413: "The body is over server.max_body_bytes.",
    429: "A rate limit, budget or concurrency limit is reached (see Retry-After).",
    502: "The backend answered with an error or garbage.",
    503: "No backend could be reached (down, busy, circuit open).",
    504: "The backend did not answer in time.",
}

#: The error codes of each kind of endpoint.
CHAT_ERRORS = (400, 401, 403, 404, 413, 429, 502, 503, 504)
SHOW_ERRORS = (400, 401, 403, 404, 413, 429)
LIST_ERRORS = (401, 429)
ADMIN_ERRORS = (400, 401, 403, 404, 409, 413)


def body(model: type[BaseModel] | str) -> dict[str, Any]:
    """``openapi_extra`` documenting the JSON body the handler parses itself."""
    name = model if isinstance(model, str) else model.__name__
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=name)}}},
        }
    }


def keyed(model: type[BaseModel] | str | None = None) -> dict[str, Any]:
    """``openapi_extra`` of an endpoint that needs a bearer key (and maybe has a body)."""
    extra: dict[str, Any] = {"security": [{"bearer": []}]}
    if model is not None:
        extra.update(body(model))
    return extra


def errors(api: Api, codes: Iterable[int]) -> dict[int | str, dict[str, Any]]:
    """``responses`` for the given error codes in the API's own error format."""
    ref = _REF.format(model="OpenAIError" if api == "openai" else "OllamaError")
    return {
        code: {
            "description": _REASONS[code],
            "content": {"application/json": {"schema": {"$ref": ref}}},
        }
        for code in codes
    }


def streaming(media_type: str) -> dict[int | str, dict[str, Any]]:
    """A 200 that is JSON or, with ``stream``, a stream of ``media_type``."""
    return {
        200: {
            "description": f"The answer; as {media_type} when streamed.",
            # No schema: the stream is a sequence of JSON events, not one document.
            "content": {media_type: {}},
        }
    }


def component_schemas(models: Iterable[type[BaseModel]]) -> dict[str, dict[str, Any]]:
    """The models' JSON schemas with their ``$defs`` lifted into one flat mapping."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=_REF)
        for name, part in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
            if schemas.setdefault(name, part) != part:  # one name, two shapes: one would be lost
                raise ValueError(f"two request schemas are named {name!r}; rename one")
    return schemas


def _admin_operations(schema: dict[str, Any]) -> None:
    """The admin API (FastAPI parses its bodies): every operation needs an admin key, and a
    body or parameter FastAPI refuses is rendered as a 400 in the OpenAI envelope (see
    ``gateway.errors``), not as FastAPI's 422."""
    for path, operations in schema["paths"].items():
        if not path.startswith("/admin/"):
            continue
        for operation in operations.values():
            operation.pop("security", None)
            operation["security"] = [{"bearer": []}]
            responses = operation["responses"]
            responses.pop("422", None)
            for code, response in errors("openai", ADMIN_ERRORS).items():
                responses.setdefault(str(code), response)


def _open_operations(schema: dict[str, Any]) -> None:
    """``/metrics`` and ``/readyz`` when ``server.ops_require_key`` is false: no key asked."""
    for path in OPS_PATHS:
        for operation in schema["paths"].get(path, {}).values():
            operation.pop("security", None)
            for code in ("401", "403"):
                operation["responses"].pop(code, None)


#: The operations endpoints a ``metrics`` or ``admin`` key may be asked for (``gateway.ops``).
OPS_PATHS = ("/metrics", "/readyz")


def install(
    app: FastAPI, bodies: Iterable[type[BaseModel]] = (), *, ops_keyed: bool = True
) -> None:
    """Serve the completed schema; built once, on first use. ``bodies``: the request bodies
    of route modules that import this one (documented with ``BODY_MODELS``); ``ops_keyed``:
    whether ``/metrics`` and ``/readyz``'s detail ask for a key (``server.ops_require_key``)."""
    documented = (*BODY_MODELS, *bodies)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(
                {**component_schemas(documented), **_ERROR_SCHEMAS}
            )
            components["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A department's API key: 'Authorization: Bearer <key>'.",
                }
            }
            _admin_operations(schema)
            if not ops_keyed:
                _open_operations(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


#: No favicon request to anyone (FastAPI's default icon is on its own website).
_NO_FAVICON = "data:,"


def install_pages(app: FastAPI, server: ServerConfig) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) over ``/openapi.json``, only with
    ``server.api_docs``: their scripts and styles load from ``server.api_docs_assets_url`` (a
    public CDN unless the operator serves the ``swagger-ui-dist`` and ``redoc`` packages from
    their own server), and an operator's browser should contact no third party unasked."""
    if not server.api_docs:
        return
    base = server.api_docs_assets_url.rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{base}/swagger-ui-dist@5/swagger-ui-bundle.js",
            swagger_css_url=f"{base}/swagger-ui-dist@5/swagger-ui.css",
            swagger_favicon_url=_NO_FAVICON,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - API",
            redoc_js_url=f"{base}/redoc@2/bundles/redoc.standalone.js",
            redoc_favicon_url=_NO_FAVICON,
            with_google_fonts=False,
        )
