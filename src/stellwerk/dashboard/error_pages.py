"""The dashboard's error pages, and :class:`DashboardRoute`, which every dashboard route uses: it
turns a ``RequestError`` raised anywhere in the route (its dependencies included) into an HTML
page with the error's status (401 the login form, 403/404/409/400/503 an error page that says
nothing was changed when a form was posted), a ledger whose database cannot be reached into a 503
page (``stellwerk.ledger.outage``), an unexpected error into a 500 page.

An error page has the header of the visitor: logged in, the normal header (navigation, the
month picker on a page that shows a month, log out), so that the user can go on from it; not
logged in, the language switch only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from stellwerk.dashboard.actions import FormPage
from stellwerk.dashboard.messages import Said, say
from stellwerk.dashboard.months import month_window, this_month
from stellwerk.dashboard.visitor import Admin, visitor
from stellwerk.dashboard.web import PREFIX, SESSION_COOKIE, Page, dashboard_of, login_page, render
from stellwerk.errors import (
    AuthenticationFailed,
    ClientGone,
    InvalidRequest,
    LedgerUnavailable,
    NotFound,
    RequestError,
    shown,
)
from stellwerk.ledger.outage import unavailable
from stellwerk.request_params import refuse_hidden

log = logging.getLogger("stellwerk.dashboard")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class DashboardRoute(APIRoute):
    """Refuses a path or query parameter with a character no model, department or key holds
    (``request_params``: a NUL, ``%00``, was a 500 on PostgreSQL) before the route runs; renders
    every ``RequestError`` of a dashboard route (``NotStarted`` too: 503 before the gateway
    started) as an HTML page, an unexpected error as a 500 page (not the API's JSON),
    and says how long the server took in a ``Server-Timing`` header (the browser's developer
    tools show it)."""

    #: whether the path and query parameters are refused for a character no name holds
    checks_params = True

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        # a page that shows a month keeps its month picker on its error page
        shows_month = any(p.name == "month" for p in self.dependant.query_params)

        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if self.checks_params:
                    refuse_hidden(request)  # a path or query parameter no name holds: 400
                    refuse_line_end(request)  # "/dashboard/learning\n" is no page
                response = await handler(request)
            except RequestError as exc:
                response = await error_page(request, exc, shows_month=shows_month)
            except Exception as exc:
                where = f"dashboard {request.method} {request.url.path}"
                outage = unavailable(exc, where)  # the database's error logged there
                if outage is not None:
                    response = await outage_page(request, outage)
                else:  # a bug: the page says so in its language, the log has the trace
                    log.exception("%s: unexpected error", where)
                    response = await internal_error_page(request)
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers["server-timing"] = f"app;dur={elapsed_ms:.1f}"
            return response

        return run


def refuse_line_end(request: Request) -> None:
    """The 404 page for a page's path with a line break at its end, which Starlette's ``$``
    matches as the page's path (``gateway.gate``)."""
    path: str = request.scope["path"]
    if path.endswith("\n"):
        raise NotFound(f"no such dashboard page: {shown(path)}", code="page_not_found")


class UnknownPageRoute(DashboardRoute):
    """The route of every path below the prefix that no page has: nothing is looked up with
    it, so whatever characters it holds it is the 404 page, the path shown escaped (``shown``),
    not a 400 about a parameter the user never named."""

    checks_params = False


async def internal_error_page(request: Request) -> Response:
    """The page of a dashboard request that failed unexpectedly (500); a bare one if even the
    error page cannot be rendered."""
    admin = await _visitor_if_any(request, 500)
    try:
        t = Page.of(request).t
        # a failure part-way may have changed something: not said otherwise (posted=False)
        return _error(request, 500, Said(t["msg_internal_error"]), posted=False, admin=admin)
    except Exception:
        log.exception("dashboard %s %s: the error page failed", request.method, request.url.path)
        page = "<!doctype html><title>500</title><p>internal error; see the gateway's log</p>"
        return HTMLResponse(page, status_code=500)


async def outage_page(request: Request, exc: LedgerUnavailable) -> Response:
    """The 503 page of a dashboard request the ledger's database could not serve: to be loaded
    again (``Retry-After``); the logged-in header only if the session can still be read."""
    admin = await _visitor_if_any(request, 503)
    said = Said(Page.of(request).t["msg_ledger_unavailable"], details=str(exc))
    # a failure part-way may have changed something: not said otherwise (posted=False)
    response = _error(request, 503, said, posted=False, admin=admin)
    response.headers["retry-after"] = str(round(exc.retry_after_s))
    return response


async def _visitor_if_any(request: Request, status: int) -> Admin | None:
    """The logged-in visitor, for the header of an error page; ``None`` when whatever failed
    (the database) fails again."""
    try:
        return await run_in_threadpool(visitor, request)
    except Exception:  # on the 503 page the database's outage is logged already
        level = logging.DEBUG if status == 503 else logging.WARNING
        log.log(level, "dashboard %s: no logged-in header on the %d page", request.url.path, status)
        return None


async def error_page(
    request: Request, exc: RequestError, *, shows_month: bool, back: FormPage | None = None
) -> Response:
    """The page of ``exc``; a refused form's page leads ``back`` to the page the form was on.
    A client that hung up while sending its form gets none (no one is there to read it): one line
    of the log says so, as for every refusal, and it is no error of the dashboard's."""
    if isinstance(exc, ClientGone):
        log.info("dashboard %s %s: 499 %s", request.method, request.url.path, exc.message)
        return Response(status_code=499)
    dashboard = dashboard_of(request)
    page = Page.of(request)
    said = say(exc, request, page.t, page.language)
    if isinstance(exc, AuthenticationFailed):
        # no session cookie: a first visit (or after logging out), nothing went wrong yet
        had_session = bool(request.cookies.get(SESSION_COOKIE))
        shown = said.text if had_session or request.method == "POST" else None
        response = login_page(dashboard.env, dashboard.codec, request, 401, shown)
        if had_session:
            response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response
    status = exc.status_code
    log.info("dashboard %s %s: %d %s", request.method, request.url.path, status, exc.message)
    admin = await run_in_threadpool(visitor, request)
    # the month pages are an admin's and a viewer's: an owner may see none
    month = _month(request) if shows_month and admin is not None and admin.reads_all else None
    return _error(
        request, status, said, posted=request.method == "POST", admin=admin, month=month, back=back
    )


def _month(request: Request) -> str:
    """The month the page asked for, for the header's picker; this month when it asked for none
    or for one the dashboard cannot show (the error may be that month)."""
    try:
        return month_window(request.query_params.get("month"))[0]
    except InvalidRequest:
        return this_month()


def _error(
    request: Request,
    status: int,
    said: Said,
    *,
    posted: bool,
    admin: Admin | None,
    month: str | None = None,
    back: FormPage | None = None,
) -> HTMLResponse:
    """The error page: ``said``, and that nothing was changed when a form was ``posted``; the
    header of ``admin`` (with the month picker at ``month``); a link ``back`` to the page of the
    form (a path below the prefix, quoted: never another site)."""
    values: dict[str, Any] = {} if month is None else {"month": month}
    values["back"] = None if back is None else (back.url(PREFIX), back.label)
    return render(
        dashboard_of(request).env,
        request,
        "error.html",
        status,
        status_code=status,
        message=said.text,
        details=said.details,
        posted=posted,
        admin=admin,
        **values,
    )
