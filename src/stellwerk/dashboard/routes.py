"""The dashboard's routes: login and logout, the language switch, the overview, the drill-downs
and the three confirmed actions."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from stellwerk.dashboard import actions, queries
from stellwerk.dashboard.drilldowns import department_page, model_page
from stellwerk.dashboard.health import backend_health
from stellwerk.dashboard.i18n import COOKIE, LANGUAGES
from stellwerk.dashboard.knowledge import router_of
from stellwerk.dashboard.overview import build_overview
from stellwerk.dashboard.services import governance_of
from stellwerk.dashboard.session_store import SessionStore
from stellwerk.dashboard.web import (
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    DashboardRoute,
    Page,
    dashboard_of,
    login_page,
    read_form,
    render,
    safe_next,
    set_cookie,
)
from stellwerk.errors import NotFound
from stellwerk.governance.service import Governance
from stellwerk.ledger.window import Window
from stellwerk.routing.base import Router


@dataclass(frozen=True, slots=True)
class Admin:
    key_id: str
    nonce: str
    csrf: str


GovernanceDep = Annotated[Governance, Depends(governance_of)]


def require_admin(request: Request, gov: GovernanceDep) -> Admin:
    """The logged-in admin, or 401 (no, forged, expired or ended session; key revoked)."""
    dashboard = dashboard_of(request)
    session = dashboard.codec.read(request.cookies.get(SESSION_COOKIE))
    SessionStore(gov.ledger).check(session)
    dashboard.directory.check(session, gov)
    return Admin(session.key_id, session.nonce, dashboard.codec.csrf_token(session.nonce))


AdminDep = Annotated[Admin, Depends(require_admin)]


def month_window(month: str | None) -> tuple[str, Window]:
    text = month or datetime.now(UTC).strftime("%Y-%m")
    return text, Window.month(text)


async def checked_form(request: Request, admin: Admin) -> dict[str, str]:
    """The posted form, after checking its CSRF token (403 without a valid one)."""
    form = await read_form(request)
    dashboard_of(request).codec.check_csrf(admin.nonce, form.get("csrf"))
    return form


def build_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        dashboard = dashboard_of(request)
        return login_page(dashboard.env, dashboard.codec, request, 200, None)

    @router.post("/login")
    async def login(request: Request, gov: GovernanceDep) -> Response:
        dashboard = dashboard_of(request)
        form = await read_form(request)
        nonce = request.cookies.get(LOGIN_COOKIE) or ""
        dashboard.codec.check_csrf("login:" + nonce, form.get("csrf") if nonce else None)
        keyring = request.app.state.runtime.keyring
        key_id, source = dashboard.directory.login(form.get("key", ""), keyring)
        session, cookie = dashboard.codec.issue(key_id, source)
        await run_in_threadpool(SessionStore(gov.ledger).start, session)
        response = RedirectResponse(PREFIX, status_code=303)
        set_cookie(response, request, SESSION_COOKIE, cookie, dashboard.codec.lifetime_s)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    @router.post("/logout")
    async def logout(request: Request, admin: AdminDep, gov: GovernanceDep) -> Response:
        await checked_form(request, admin)
        await run_in_threadpool(SessionStore(gov.ledger).end, admin.nonce)
        response = RedirectResponse(PREFIX + "/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    @router.get("/lang/{language}")
    async def switch_language(request: Request, language: str, next: str | None = None) -> Response:
        if language not in LANGUAGES:
            raise NotFound(f"unknown language {language!r}; choose one of {', '.join(LANGUAGES)}")
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(COOKIE, language, max_age=365 * 86400, path=PREFIX, samesite="lax")
        return response

    @router.get("")
    async def overview(
        request: Request, admin: AdminDep, gov: GovernanceDep, month: str | None = None
    ) -> Response:
        label, window = month_window(month)
        data = await run_in_threadpool(build_overview, gov, window, router_of(request))
        since = datetime.now(UTC) - timedelta(hours=1)

        def recent() -> dict[str, tuple[int, int]]:
            with gov.ledger.connect() as connection:
                return queries.recent_by_backend(connection, since)

        runtime = request.app.state.runtime
        last_hour = await run_in_threadpool(recent)
        health = await backend_health(gov.config, runtime.backends, last_hour, runtime.breakers)
        return render(
            dashboard_of(request).env,
            request,
            "overview.html",
            admin=admin,
            month=label,
            o=data,
            health=health,
            sizes={m.id: m.size_class for m in gov.config.models},
        )

    model = _drilldown("model.html", "m", model_page)
    router.add_api_route("/models/{subject:path}", model, methods=["GET"], name="model")
    department = _drilldown("department.html", "d", _department)
    router.add_api_route(
        "/departments/{subject:path}", department, methods=["GET"], name="department"
    )
    for action in actions.ACTIONS:
        router.add_api_route(action.path, _confirmed(action), methods=["POST"], name=action.name)
    return router


def _department(gov: Governance, _router: Router, name: str, window: Window) -> object:
    return department_page(gov, name, window)


def _drilldown(
    template: str, key: str, build: Callable[[Governance, Router, str, Window], object]
) -> Callable[..., Response]:
    """The route of a drill-down page: ``build(gov, router, subject, window)`` (``router``: the
    gateway's) rendered into ``template`` as ``key``, for the month asked for (this month without
    one)."""

    def page(
        request: Request,
        subject: str,
        admin: AdminDep,
        gov: GovernanceDep,
        month: str | None = None,
        done: str | None = None,
    ) -> Response:
        label, window = month_window(month)
        built = build(gov, router_of(request), subject, window)
        values: dict[str, Any] = {key: built, "done": done is not None}
        return render(
            dashboard_of(request).env, request, template, admin=admin, month=label, **values
        )

    return page


def _confirmed(action: actions.Action) -> Callable[..., Coroutine[Any, Any, Response]]:
    """The route of ``action``: without ``confirm=yes`` a page that says what will happen and
    asks; with it, the action, then back to the page it came from."""

    async def act(request: Request, subject: str, admin: AdminDep, gov: GovernanceDep) -> Response:
        form = await checked_form(request, admin)
        if form.get("confirm") != "yes":
            fmt = Page.of(request).fmt
            pending = await run_in_threadpool(action.prepare, gov, subject, form, PREFIX, fmt)
            return render(
                dashboard_of(request).env, request, "confirm.html", admin=admin, pending=pending
            )
        back = await run_in_threadpool(action.run, gov, subject, form, admin.key_id)
        return RedirectResponse(f"{PREFIX}{back}?done=1", status_code=303)

    return act
