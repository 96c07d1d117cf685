"""Answering a request before the app has read it: an error in the API's own format, and
``connection: close`` when a body may still be on its way (its rest is not worth reading).

The gate and the body limit answer here, from the ASGI scope, in front of FastAPI: the OpenAI
envelope on ``/v1`` and ``/admin``, Ollama's ``{"error": ...}`` on ``/api`` (both through
:func:`stellwerk.gateway.errors.render`), a short HTML page on ``/dashboard``.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from stellwerk.errors import RequestError
from stellwerk.gateway.errors import render

DASHBOARD = "/dashboard"


def may_have_body(scope: Scope) -> bool:
    """The request announced a body (a length above zero, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


def response_for(scope: Scope, exc: RequestError) -> Response:
    request = Request(scope)
    path: str = scope["path"]
    if path == DASHBOARD or path.startswith(DASHBOARD + "/"):
        page = f"<!doctype html><title>{exc.status_code}</title><p>{escape(exc.message)}</p>"
        response: Response = HTMLResponse(page, status_code=exc.status_code)
    else:
        response = render(request, exc)
    if may_have_body(scope):
        response.headers["connection"] = "close"
    return response


async def refuse(scope: Scope, receive: Receive, send: Send, exc: RequestError) -> None:
    """Send ``exc`` as the whole answer to the request of ``scope``."""
    await response_for(scope, exc)(scope, receive, send)
