"""One place that renders every error: the OpenAI envelope on ``/v1``, ``{"error": "..."}`` on
Ollama's ``/api``. Unknown routes and methods get the same envelopes.

An answer that leaves the request's body unread says ``connection: close`` (``closing``, the one
place that decides it): every 413, since the rest of an oversized body is never read (the body
limit's, ``gateway.refusal``, and an endpoint's that bounds its body tighter than
``server.max_body_bytes``, such as ``/v1/feedback``), and any refusal answered before the app
read a body the request announced (``gateway.refusal``).

An error that names its request (``StellwerkError.request_id``) carries the id as the header
``x-stellwerk-request-id``. So does every 500 of a bug (an exception that is no
``StellwerkError``): the id of the usage record its handler wrote (``mark_request``, called on
the way out of ``pipeline.accounted``), or a new one where no record was written; the log line
with the traceback names the same id, so an operator finds one from the other. Such a 500 is
rendered and logged once, by the middleware ``Bugs`` (just inside the access log): Starlette's
own last handler answers and then raises the exception again for the server to log, which wrote
every traceback twice.

A ledger whose database cannot be reached (``stellwerk.ledger.outage``: the admin API reads it
on the request) is a 503 naming the ledger, with ``Retry-After``, as Redis's failure is; any other
database error is a bug's 500.

A 405 says which methods the path takes (``allow``, as HTTP requires), every route's of that
path together (Starlette's router names only the first route's).

A body, query or path parameter an admin route's schema refuses is told in the project's words,
not pydantic's (``gateway.admin_words``), every problem together, ``param`` the first one's."""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stellwerk.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestError,
    SharedStateUnavailable,
    StellwerkError,
    UnsupportedEncoding,
    UpstreamError,
    shown,
)
from stellwerk.gateway.admin_route import AdminRoute
from stellwerk.gateway.admin_words import reworded
from stellwerk.gateway.body import in_request, not_json, param_of, problems
from stellwerk.gateway.calls import new_request_id
from stellwerk.gateway.openai_wire import error_body
from stellwerk.ledger.outage import unavailable

log = logging.getLogger("stellwerk.gateway")


_REQUEST_ID = "stellwerk_request_id"  # the attribute ``mark_request`` puts on an exception


def mark_request(exc: BaseException, request_id: str) -> None:
    """Name the request ``exc`` (a bug, not a ``StellwerkError``) ended, for its 500's header."""
    vars(exc)[_REQUEST_ID] = request_id


def marked_request(exc: BaseException) -> str | None:
    """The request id ``mark_request`` put on ``exc``, if any."""
    found = vars(exc).get(_REQUEST_ID)
    return found if isinstance(found, str) else None


def status_of(exc: StellwerkError) -> int:
    if isinstance(exc, RequestError | UpstreamError | SharedStateUnavailable):
        return exc.status_code
    return 500


def message_of(exc: StellwerkError) -> str:
    if isinstance(exc, RequestError | UpstreamError):
        return exc.message
    return str(exc)


def is_ollama(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def closing(exc: StellwerkError, *, unread: bool = False) -> dict[str, str]:
    """``connection: close`` for the answer to ``exc`` when it leaves the request's body unread:
    a 413 always, any error when ``unread`` (the body was announced, and nothing read it). The
    rest of the body is not worth reading: the server closes the connection after the answer."""
    return {"connection": "close"} if unread or isinstance(exc, PayloadTooLarge) else {}


def render(
    request: Request,
    exc: StellwerkError,
    headers: dict[str, str] | None = None,
    *,
    unread: bool = False,
) -> Response:
    """``exc`` in the error format of the API that was called; ``unread``: the request's body
    is left unread (``closing``). A refusal's ``detail`` (a policy refusal's reason for every
    model, which the caller is not told) goes to the log under the request's id."""
    headers = {**(headers or {}), **closing(exc, unread=unread)}
    if isinstance(exc, RequestError) and exc.detail is not None:
        # what the caller is not told (other models' states, owners, consent) is for operators
        log.info("request %s refused, for operators: %s", exc.request_id or "-", exc.detail)
    if exc.request_id is not None:
        headers["x-stellwerk-request-id"] = exc.request_id
    if isinstance(exc, RateLimited | SharedStateUnavailable) and exc.retry_after_s is not None:
        headers["retry-after"] = str(max(1, round(exc.retry_after_s)))
    if isinstance(exc, UnsupportedEncoding):  # the coding it reads (RFC 7694)
        headers["accept-encoding"] = "identity"
    body = {"error": message_of(exc)} if is_ollama(request) else error_body(exc)
    return Response(
        orjson.dumps(body),
        status_code=status_of(exc),
        media_type="application/json",
        headers=headers,
    )


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True  # FastAPI reads a body without a content type as JSON
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _not_json(content_type: str | None) -> str:
    return (
        f"the body was sent as {content_type!r}; send JSON with the header"
        " 'content-type: application/json' (curl: -H 'content-type: application/json')"
    )


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed(request: Request) -> list[str]:
    """The methods some route takes on the request's path: each asked of the router as the
    request with that method (an included router answers for its routes; a mounted app, which
    takes every method to its own routing, is not asked)."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


def _not_allowed(request: Request) -> Response:
    allowed = _allowed(request)
    error = RequestError(
        f"method {shown(request.method)} is not allowed on {shown(request.url.path)};"
        f" it takes {', '.join(allowed) or 'none'}",
        code="http_405",
    )
    error.status_code = 405
    return render(request, error, {"allow": ", ".join(allowed)})


def bug(request: Request, exc: BaseException) -> Response:
    """The 500 of an exception no handler rendered, logged (with its traceback) under the id
    of its usage record (``mark_request``) or a new one; a ledger whose database cannot be
    reached is its 503 instead (``ledger.outage``, logged there in one line), on every route
    alike: the admin API's, the data plane's (feedback)."""
    outage = unavailable(exc, f"{request.method} {request.url.path}")
    if outage is not None:
        return render(request, outage)
    request_id = marked_request(exc) or new_request_id()
    log.error(
        "unexpected error on %s (request %s)",
        request.url.path,
        request_id,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    error = StellwerkError("internal error; see the gateway's log")
    error.request_id = request_id
    return render(request, error)


class Bugs:
    """ASGI middleware: an exception that reaches it is the request's 500 (``bug``), answered
    here and not raised further, so it is logged once. One raised after the answer began (a
    stream) cannot be answered: it goes on to the server, which logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            await bug(Request(scope), exc)(scope, receive, send)


FEEDBACK_HINT = "; feedback is POST /v1/feedback, for the OpenAI and the Ollama API alike"
"""Said to a ``/api/feedback`` (an Ollama client's guess): Ollama's API has no feedback."""


def install(
    app: FastAPI, on_refused: Callable[[Scope, StellwerkError], None] | None = None
) -> None:
    """The app's error handlers; ``on_refused`` is told of every ``StellwerkError`` answered
    (``stellwerk.gateway.refusal.count_unknown_key`` counts the unknown keys among them)."""

    async def on_stellwerk(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StellwerkError)
        if on_refused is not None:
            on_refused(request.scope, exc)
        return render(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            # the path as asked (``url`` drops a decoded line break, naming another path)
            path = request.scope["path"]
            hint = FEEDBACK_HINT if path.rstrip("/") == "/api/feedback" else ""
            return render(request, NotFound(f"no such endpoint: {shown(path)}{hint}"))
        if exc.status_code == 405:
            return _not_allowed(request)
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI could not parse the body (not UTF-8, nested past Python's stack), and
            # says only "There was an error parsing the body": say why
            return render(request, not_json(await request.body()))
        error = RequestError(str(exc.detail), code=f"http_{exc.status_code}")
        error.status_code = exc.status_code
        return render(request, error)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = tuple(first.get("loc", ()))
        content_type = request.headers.get("content-type")
        if loc == ("body",) and not _is_json(content_type):
            # FastAPI reads a body sent as a form (curl -d without -H) as bytes, not JSON
            return render(request, InvalidRequest(_not_json(content_type), param="content-type"))
        if first.get("type") == "json_invalid":  # FastAPI parsed the body (the admin API)
            return render(request, not_json(await request.body()))
        route = request.scope.get("route")
        found = exc.errors()
        if isinstance(route, AdminRoute):  # in the admin API's own words, not pydantic's
            found = reworded(found, route.body_model)
        errors = in_request(found)
        where = param_of(errors[0]) if errors else ""
        return render(request, InvalidRequest(problems(errors), param=where or None))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return bug(request, exc)  # one ``Bugs`` did not catch: in the access log itself

    app.add_exception_handler(StellwerkError, on_stellwerk)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)
