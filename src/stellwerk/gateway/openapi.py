"""The served OpenAPI schema (``/openapi.json``): the real request bodies, answers and errors.

The data plane (:mod:`stellwerk.gateway.data_plane`) is plain Starlette routes whose handlers read
and validate their bodies themselves (``model_validate_json`` on the raw bytes, see
:mod:`stellwerk.gateway.body`): its ``paths`` are written here from its route table and the same
pydantic models the handlers use (their ``$defs`` moved into ``components/schemas``). FastAPI
documents its own routes (the admin API, the operations endpoints). The schema is built once, on
the first ``GET /openapi.json``; the request path never touches it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from stellwerk.config.schema import ServerConfig
from stellwerk.gateway.data_plane import Endpoint

Api = Literal["openai", "ollama"]

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
    415: "The body is sent compressed (content-encoding); send it uncompressed.",
    429: "A rate limit, budget or concurrency limit is reached (see Retry-After).",
    502: "The backend answered with an error or garbage.",
    503: "No backend could be reached (down, busy, circuit open).",
    504: "The backend did not answer in time.",
}

#: The error codes of the admin API's endpoints.
ADMIN_ERRORS = (400, 401, 403, 404, 409, 413, 415)
_ADMIN_403 = (
    "The key's role may not do this: a read (GET) needs an admin or viewer key (a head key reads"
    " its own department's keys, limits and use cases), a change an admin key (a consent change:"
    " also an owner key of the model's data owner)."
)


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


#: a parameter of a documented path
_PARAMETER = re.compile(r"\{(\w+)\}")


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    """One data plane operation, named as FastAPI names its own."""
    unique = re.sub(r"\W", "_", endpoint.name + endpoint.documented_path)
    doc = endpoint.description or inspect.cleandoc(endpoint.handler.__doc__ or "")
    answer: dict[str, Any] = {}
    if endpoint.answer is not None:
        answer = {"$ref": _REF.format(model=endpoint.answer.__name__)}
    content: dict[str, Any] = {"application/json": {"schema": answer}}
    ok = {"description": "Successful Response", "content": content}
    if endpoint.streamed is not None:
        # No schema for the stream: it is a sequence of JSON events, not one document.
        content[endpoint.streamed] = {}
        ok["description"] = f"The answer; as {endpoint.streamed} when streamed."
    responses: dict[str, Any] = {"200": ok}
    for code, response in errors(endpoint.api, endpoint.errors).items():
        note = endpoint.error_notes.get(int(code))
        responses[str(code)] = {**response, "description": note} if note else response
    operation: dict[str, Any] = {
        "tags": [endpoint.tag],
        "summary": endpoint.summary or endpoint.name.replace("_", " ").title(),
        "description": doc,
        "operationId": f"{unique}_{endpoint.method.lower()}",
        "responses": responses,
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAMETER.findall(endpoint.documented_path)
    ]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation.update(body(endpoint.body))
        operation["requestBody"]["required"] = endpoint.body_required
    if endpoint.keyed:
        operation["security"] = [{"bearer": []}]
    return operation


def data_plane_paths(endpoints: Iterable[Endpoint]) -> dict[str, dict[str, Any]]:
    """The ``paths`` of the data plane's routes."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operations = paths.setdefault(endpoint.documented_path, {})
        operations[endpoint.method.lower()] = _operation(endpoint)
    return paths


def component_schemas(
    models: Iterable[type[BaseModel]],
    mode: Literal["validation", "serialization"] = "validation",
    schemas: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The models' JSON schemas with their ``$defs`` lifted into one flat mapping (added to
    ``schemas``); ``mode``: as a request body is read or as an answer is written."""
    schemas = {} if schemas is None else schemas
    for model in models:
        schema = model.model_json_schema(ref_template=_REF, mode=mode)
        for name, part in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
            if schemas.setdefault(name, part) != part:  # one name, two shapes: one would be lost
                raise ValueError(f"two request schemas are named {name!r}; rename one")
    return schemas


def _admin_operations(schema: dict[str, Any]) -> None:
    """The admin API (FastAPI parses its bodies): every operation needs a key (its 403 says
    which roles may call it), and a body or parameter FastAPI refuses is rendered as a 400 in
    the OpenAI envelope (see ``gateway.errors``), not as FastAPI's 422."""
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
            responses["403"] = {**responses["403"], "description": _ADMIN_403}


def _open_operations(schema: dict[str, Any]) -> None:
    """``/metrics`` and ``/readyz`` when ``server.ops_require_key`` is false: no key asked."""
    for path in OPS_PATHS:
        for operation in schema["paths"].get(path, {}).values():
            operation.pop("security", None)
            for code in ("401", "403"):
                operation["responses"].pop(code, None)


#: The operations endpoints a ``metrics`` or ``admin`` key may be asked for (``gateway.ops``).
OPS_PATHS = ("/metrics", "/readyz")


#: The OpenAI request bodies whose top-level parameters the gateway knows: another is refused
#: (``unknown_params``), unless ``null`` (it asks for nothing) or an operator lets it pass.
CLOSED_BODIES = (
    "ChatCompletionRequest",
    "CompletionRequest",
    "EmbeddingRequest",
    "ResponseRequest",
)
_PASSED = (
    "a parameter the gateway does not know, passed on as sent to the backends whose operator"
    " allows it (backends[].pass_params)"
)


def _closed(schemas: dict[str, dict[str, Any]], passable: Iterable[str]) -> None:
    """The bodies of ``CLOSED_BODIES`` as the gateway reads them: their own parameters, the
    ones an operator lets pass (``passable``) and no other but as ``null``. ``/v1/responses``
    takes the parameters of a chat request too, checked as chat checks them, and accepts the
    settings of OpenAI's service without passing them on (``responses_schema``)."""
    chat = schemas["ChatCompletionRequest"]["properties"]
    for name in CLOSED_BODIES:
        schema = schemas[name]
        properties = schema.setdefault("properties", {})
        if name == "ResponseRequest":
            for key, part in chat.items():
                if key != "messages":
                    properties.setdefault(key, part)
        for key in passable:
            properties.setdefault(key, {"description": _PASSED})
        schema["additionalProperties"] = {"type": "null"}


def install(
    app: FastAPI,
    data_plane: tuple[Endpoint, ...],
    *,
    ops_keyed: bool = True,
    passable: Iterable[str] = (),
) -> None:
    """Serve the completed schema; built once, on first use. ``data_plane``: the routes FastAPI
    does not know (documented from their table); ``ops_keyed``: whether ``/metrics`` and
    ``/readyz``'s detail ask for a key (``server.ops_require_key``); ``passable``: the
    parameters the gateway does not know that an operator lets pass to some backend."""
    passable = sorted(set(passable))
    bodies = [e.body for e in data_plane if e.body is not None]
    answers = [e.answer for e in data_plane if e.answer is not None]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema["paths"] = {**data_plane_paths(data_plane), **schema.get("paths", {})}
            components = schema.setdefault("components", {})
            documented = component_schemas(answers, "serialization")
            component_schemas(bodies, schemas=documented)
            _closed(documented, passable)
            components.setdefault("schemas", {}).update({**documented, **_ERROR_SCHEMAS})
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
