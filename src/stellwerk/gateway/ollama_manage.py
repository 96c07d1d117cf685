"""Ollama's model management (``/api/pull``, ``/api/push``, ``/api/create``, ``/api/copy``,
``/api/delete``), answered with a clear refusal in Ollama's error format.

Models are managed on the model servers behind the gateway, by their operators, and admitted
through the config and its governance (lifecycle, consent); a client cannot download, build or
remove one through the gateway. Clients such as Open WebUI offer "download" for every name they
list, routes included: they get a 403 that says so, after the key is checked (401 without one),
instead of a bare 404.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from stellwerk.errors import PermissionDenied
from stellwerk.gateway.body import parse
from stellwerk.gateway.deps import RuntimeDep
from stellwerk.request_body import read_body


class ManageRequest(BaseModel):
    """What Ollama's management calls send; only the model's name matters to the answer."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str | None = None
    name: str | None = None


_DOING = {
    "pull": "download",
    "push": "upload",
    "create": "create",
    "copy": "copy",
    "delete": "delete",
}


async def _refuse(request: Request, runtime: RuntimeDep, action: str) -> Response:
    runtime.authenticate(request.headers)
    raw = await read_body(request, runtime.config.server.max_body_bytes)
    body = parse(ManageRequest, raw) if raw.strip() else ManageRequest()
    name = body.model or body.name
    what = f"model {name!r}" if name else "models"
    route = (
        f" ({name!r} is a route: use it by name, it chooses among the models for you)"
        if name and runtime.selector.is_route(runtime.selector.configured_name(name))
        else ""
    )
    raise PermissionDenied(
        f"this gateway does not {_DOING[action]} {what}: models are managed on the model"
        f" servers behind it by their operators, not through the gateway{route}",
        code="models_managed_upstream",
    )


async def pull(request: Request, runtime: RuntimeDep) -> Response:
    return await _refuse(request, runtime, "pull")


async def push(request: Request, runtime: RuntimeDep) -> Response:
    return await _refuse(request, runtime, "push")


async def create(request: Request, runtime: RuntimeDep) -> Response:
    return await _refuse(request, runtime, "create")


async def copy(request: Request, runtime: RuntimeDep) -> Response:
    return await _refuse(request, runtime, "copy")


async def delete(request: Request, runtime: RuntimeDep) -> Response:
    return await _refuse(request, runtime, "delete")
