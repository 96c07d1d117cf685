"""Answering a request before the app has read it: an error in the API's own format, and
``connection: close`` when a body may still be on its way (its rest is not worth reading).

The gate and the body limit answer here, from the ASGI scope, in front of FastAPI: the OpenAI
envelope on ``/v1`` and ``/admin``, Ollama's ``{"error": ...}`` on ``/api`` (both through
:func:`stellwerk.gateway.errors.render`), a short HTML page on ``/dashboard``. A refused request
to an endpoint that records every request (chat, responses, completions, generate,
embeddings) still leaves its one usage record, as its handler would have written it, and its
answer carries the record's ``x-stellwerk-request-id``: when its key is known (a request without
one is only counted, ``stellwerk.gateway.keyless``). A key the gateway does not know, refused
anywhere else (the model list, ``/admin``, ``/metrics``, ``/readyz``, feedback), is counted
there too (``count_unknown_key``), under the route it asked for: guessing keys shows on every
endpoint, not only on those that record.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from stellwerk.errors import AuthenticationFailed, RequestError, StellwerkError
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.calls import Call, new_request_id
from stellwerk.gateway.data_plane import ENDPOINTS, recorded
from stellwerk.gateway.errors import closing, render
from stellwerk.gateway.runtime import Runtime

DASHBOARD = "/dashboard"
ADMIN = "/admin"

#: The endpoints whose handlers write a usage record for every request, refused ones included:
#: ``(method, path) -> (api, endpoint)``, as the route table says (``Endpoint.records``).
RECORDED = recorded(ENDPOINTS)
#: The data plane's ``(method, path)`` pairs without parameters (``data_plane.Lane``'s).
LANE = frozenset((e.method, e.path) for e in ENDPOINTS if "{" not in e.path)


def may_have_body(scope: Scope) -> bool:
    """The request announced a body (a length above zero, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


def response_for(scope: Scope, exc: RequestError) -> Response:
    unread = may_have_body(scope)  # and nothing read it: ``connection: close`` (``closing``)
    path: str = scope["path"]
    if path == DASHBOARD or path.startswith(DASHBOARD + "/"):
        page = f"<!doctype html><title>{exc.status_code}</title><p>{escape(exc.message)}</p>"
        return HTMLResponse(page, exc.status_code, closing(exc, unread=unread))
    return render(Request(scope), exc, unread=unread)


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    exc: RequestError,
    principal: Principal | None = None,
) -> None:
    """Send ``exc`` as the whole answer to the request of ``scope`` (of ``principal``, when
    known), and write its usage record if its endpoint records every request."""
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    where = RECORDED.get((scope["method"], scope["path"]))
    if runtime is None or where is None:
        count_unknown_key(scope, exc)
        await response_for(scope, exc)(scope, receive, send)
        return
    api, endpoint = where
    call = Call(new_request_id(), api, endpoint, "", stream=False, principal=principal)
    call.status, call.error_kind = exc.status_code, exc.error_kind
    if principal is not None:  # the answer names its usage record (none without a key)
        exc.request_id = call.request_id
    await response_for(scope, exc)(scope, receive, send)
    await runtime.accounts.record(call)


def count_unknown_key(scope: Scope, exc: StellwerkError) -> None:
    """Count a request refused for a key the gateway does not know (401 ``invalid_api_key``:
    none, a malformed one, an unknown or revoked one) in
    ``stellwerk_unauthenticated_requests_total``, unless its endpoint records every request (its
    record counts it). Labelled with its API (``openai`` for ``/v1``, ``ollama`` for ``/api``,
    ``admin``, ``ops``) and the route's path as the app declares it (``/v1/models``,
    ``/admin/keys/{key_id}``; ``/admin`` for one refused before routing), so the label's values
    are bounded by the routes, whatever paths are asked."""
    if not isinstance(exc, AuthenticationFailed) or exc.code != "invalid_api_key":
        return
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    path: str = scope.get("path", "")
    if runtime is None or (scope.get("method"), path) in RECORDED:
        return
    # the router's route, or the data plane's own path (``data_plane.Lane`` serves it unrouted)
    route = getattr(scope.get("route"), "path", None)
    if route is None and (scope.get("method"), path) in LANE:
        route = path
    if path.startswith("/v1"):
        api = "openai"
    elif path.startswith("/api"):
        api = "ollama"
    elif path.startswith(ADMIN):
        api, route = "admin", route or ADMIN
    else:
        api = "ops"
    runtime.accounts.keyless.refused(api, route if isinstance(route, str) else "-", exc.code)
