"""The direct lane: the chat endpoints served from the ASGI scope, past FastAPI's machinery.

The chat handlers take the bare ``Request``, read and validate their body themselves
(:mod:`stellwerk.gateway.body`) and raise :class:`~stellwerk.errors.StellwerkError`; they use
nothing FastAPI resolves. Yet FastAPI spent about a quarter of the gateway's CPU per request
on them: matching the path against every included router, solving dependencies, two exit stacks
per request, the exception middleware. This middleware sits inside the app's user middleware
(CORS) and inside Starlette's ``ServerErrorMiddleware``, and calls the same handler functions
directly for the methods and paths it is given. Everything else goes on to FastAPI, where the
same handlers stay registered: they document the endpoints in ``/openapi.json`` and answer the
other methods with 405 as before.

Errors come out as they would through FastAPI: a ``StellwerkError`` is rendered by
:func:`stellwerk.gateway.errors.render` (the app's handler for it); anything else propagates to
``ServerErrorMiddleware``, whose handler is the app's 500 handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from stellwerk.errors import StellwerkError
from stellwerk.gateway.errors import render

Handler = Callable[[Request], Awaitable[Response]]


class DirectLane:
    """ASGI middleware: ``(method, path) -> handler`` served directly, the rest passed on."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], Handler]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        # A mounted app or a root path changes what ``path`` means: leave that to the router.
        if scope["type"] == "http" and not scope.get("root_path"):
            handler = self.routes.get((scope["method"], scope["path"]))
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await handler(request)
        except StellwerkError as exc:
            response = render(request, exc)
        await response(scope, receive, send)
