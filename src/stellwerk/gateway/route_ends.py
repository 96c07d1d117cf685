"""A path that ends in a line break names no endpoint. Starlette compiles a route's path to
``^...$``, and Python's ``$`` also matches before a final line break, so ``/admin/keys%0A`` (the
decoded path ``/admin/keys\\n``) was served as ``/admin/keys``, ``/metrics%0A`` as
``/metrics``: a proxy rule that blocks a path by its exact text was passed by. No endpoint's path
ends in one, so such a request is answered as an unknown path, before any route is matched: the
API's 404 ``no such endpoint``. The dashboard's pages answer it with their HTML 404 page
themselves (``dashboard.error_pages.DashboardRoute``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from stellwerk.errors import NotFound, shown
from stellwerk.gateway.errors import render


class WholePath:
    """ASGI middleware: the API's 404 for a path ending in a line break (module docstring);
    paths below ``pages`` (the dashboard's prefix) are left to their own 404 page."""

    def __init__(self, app: ASGIApp, pages: str) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.endswith("\n") or path.startswith(self.pages):
            await self.app(scope, receive, send)
            return
        answer = render(Request(scope), NotFound(f"no such endpoint: {shown(path)}"), unread=True)
        await answer(scope, receive, send)
