"""The dashboard's routes: login and logout, the language switch, the overview, the drill-downs,
the router-learning page, the consent page and the confirmed actions. Admin keys see everything;
viewer keys see every page too and may post nothing but their logout (an action they post, forged
or not, is a 403 that changes nothing); head keys only their own department's page, and post
nothing either (the overview leads them to that page; any other page, another department's
whether it exists or not, is a 403 naming none); owner keys only the consent page and its action,
for the models whose data owner is their department."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from stellwerk.dashboard import actions
from stellwerk.dashboard.auth import ADMIN
from stellwerk.dashboard.department_path import around_own, canonical, other_case
from stellwerk.dashboard.drilldowns import department_page, model_page
from stellwerk.dashboard.error_pages import DashboardRoute, UnknownPageRoute, error_page
from stellwerk.dashboard.health import backend_health
from stellwerk.dashboard.i18n import COOKIE, LANGUAGES
from stellwerk.dashboard.knowledge import router_of
from stellwerk.dashboard.learning import build_learning
from stellwerk.dashboard.months import month_window
from stellwerk.dashboard.overview import build_overview
from stellwerk.dashboard.services import governance_of, runtime_of
from stellwerk.dashboard.session_store import SessionStore
from stellwerk.dashboard.told import render_told, tell
from stellwerk.dashboard.visitor import CONSENT_PAGE, Admin, home_of, session_admin
from stellwerk.dashboard.web import (
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Page,
    dashboard_of,
    login_page,
    read_form,
    render,
    safe_next,
    set_cookie,
)
from stellwerk.errors import AuthenticationFailed, NotFound, PermissionDenied, RequestError, shown
from stellwerk.governance.service import Governance
from stellwerk.ledger import usage_totals
from stellwerk.ledger.window import Window
from stellwerk.routing.base import Router

LEARNING_PAGE = "/learning"


GovernanceDep = Annotated[Governance, Depends(governance_of)]


def require_session(request: Request, gov: GovernanceDep) -> Admin:
    """The logged-in admin, viewer or owner, or 401 (no, forged, expired or ended session; key
    revoked)."""
    return session_admin(request, gov)


def require_reader(admin: Annotated[Admin, Depends(require_session)]) -> Admin:
    """The logged-in admin or viewer; 403 for a head (who sees only its department's page) and
    an owner (who sees only the consent page)."""
    if not admin.reads_all:
        raise _not_its_page(admin)
    return admin


def _not_its_page(admin: Admin) -> PermissionDenied:
    """The 403 of a page that is not a head's or an owner's: it names the one page the key has,
    never what was asked for (another department's name, existing or not)."""
    if admin.is_head:
        return PermissionDenied(
            f"key {admin.key_id!r} has the role 'head': it reads only its own department's page,"
            f" at {admin.home}",
            code="head_only",
        )
    return PermissionDenied(
        f"key {admin.key_id!r} has the role {admin.role!r}: it may only manage the consent of"
        f" its department's models, at {PREFIX}{CONSENT_PAGE}",
        code="not_admin",
    )


def _reads_department(admin: Admin, name: str) -> None:
    """The department ``name``'s page is ``admin``'s (an admin's, a viewer's, its own head's);
    403 otherwise, the same for a department that does not exist."""
    if not admin.reads_department(name):
        raise other_case(admin, name) or around_own(admin, name) or _not_its_page(admin)


def _reads_model(admin: Admin, _model: str) -> None:
    if not admin.reads_all:
        raise _not_its_page(admin)


SessionDep = Annotated[Admin, Depends(require_session)]
ReaderDep = Annotated[Admin, Depends(require_reader)]


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
        runtime = runtime_of(request)
        try:
            key_id, source = dashboard.directory.login(form.get("key", ""), runtime.keyring)
        except AuthenticationFailed as exc:
            if exc.code == "login_failed":  # a key it does not know: counted as on the APIs
                runtime.accounts.keyless.refused("dashboard", "/dashboard/login", exc.code)
            raise
        session, cookie = dashboard.codec.issue(key_id, source)
        await run_in_threadpool(SessionStore(gov.admin.ledger).start, session)
        role = await run_in_threadpool(dashboard.directory.check, session, gov)
        home = home_of(role.role, role.department)
        response = RedirectResponse(home, status_code=303)
        set_cookie(response, request, SESSION_COOKIE, cookie, dashboard.codec.lifetime_s)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    @router.post("/logout")
    async def logout(request: Request, admin: SessionDep, gov: GovernanceDep) -> Response:
        await checked_form(request, admin)
        await run_in_threadpool(SessionStore(gov.admin.ledger).end, admin.nonce)
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
        request: Request, admin: SessionDep, gov: GovernanceDep, month: str | None = None
    ) -> Response:
        if admin.is_head:  # its overview is its department's page
            query = "?" + urlencode({"month": month}) if month is not None else ""
            return RedirectResponse(admin.home + query, status_code=303)
        require_reader(admin)
        label, window = month_window(month)
        data = await run_in_threadpool(build_overview, gov, window, router_of(request))
        since = datetime.now(UTC) - timedelta(hours=1)

        def recent() -> dict[str, tuple[int, int]]:
            with gov.admin.ledger.connect() as connection:
                return usage_totals.recent_by_backend(connection, since)

        runtime = runtime_of(request)
        last_hour = await run_in_threadpool(recent)
        health = await backend_health(
            gov.admin.config, runtime.backends, last_hour, runtime.breakers
        )
        return render(
            dashboard_of(request).env,
            request,
            "overview.html",
            admin=admin,
            month=label,
            o=data,
            health=health,
            sizes={m.id: m.size_class for m in gov.admin.config.models},
        )

    @router.get(LEARNING_PAGE)
    async def learning(
        request: Request, admin: ReaderDep, gov: GovernanceDep, month: str | None = None
    ) -> Response:
        label, window = month_window(month)
        skipped = dict(runtime_of(request).shadow.skipped)
        data = await run_in_threadpool(build_learning, gov, router_of(request), window, skipped)
        return render(
            dashboard_of(request).env, request, "learning.html", admin=admin, month=label, L=data
        )

    @router.get(CONSENT_PAGE)
    def consent(
        request: Request,
        admin: SessionDep,
        gov: GovernanceDep,
    ) -> Response:
        # an admin (a viewer) also sees a withdrawal left from when a model had a data owner,
        # which only an admin lifts (ModelState.withdrawal_left); an owner key, its department's
        # models; a head key, none (its department's page is its one page)
        if admin.is_head:
            raise _not_its_page(admin)
        states = [
            s
            for s in gov.admin.catalog.states()
            if (s.config.data_owner is not None or (admin.reads_all and s.withdrawal_left))
            and (admin.reads_all or s.config.data_owner == admin.department)
        ]
        return render_told(
            dashboard_of(request).env,
            request,
            "consent.html",
            admin,
            gov.admin.ledger,
            models=states,
            same=gov.snapshot.same_weights,  # the ids a withdrawal holds for too
        )

    files = StaticFiles(packages=[("stellwerk.dashboard", "static")])

    @router.api_route("/static/{name:path}", methods=["GET", "HEAD"])
    async def static(request: Request, name: str) -> Response:
        """A file of the dashboard's own (stylesheet, icon); a missing one is the dashboard's 404
        page, as every other path below the prefix."""
        try:
            return await files.get_response(name, request.scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            raise NotFound(
                f"no such dashboard page: {shown(_asked(request))}", code="page_not_found"
            ) from exc

    model = _drilldown("model.html", "m", _model, _reads_model)
    router.add_api_route("/models/{subject:path}", model, methods=["GET"], name="model")
    department = _drilldown(
        "department.html", "d", _department, _reads_department, _canonical_department
    )
    router.add_api_route(
        "/departments/{subject:path}", department, methods=["GET"], name="department"
    )
    for action in actions.ACTIONS:
        router.add_api_route(action.path, _confirmed(action), methods=["POST"], name=action.name)
    return router


NOT_FOUND_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class AnyPath(Convertor[str]):
    """A path parameter of any characters. Starlette's ``path`` is ``.*``, whose dot stops at a
    line break: ``/dashboard/x%0Ay`` matched no dashboard route and was the model APIs' JSON
    404."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def not_found_router() -> APIRouter:
    """Any other path below the prefix (or a method a page does not take): the dashboard's 404
    page in the user's language, not the model APIs' JSON, whatever characters the path holds.
    Installed after the pages, so that it shadows none."""
    # Starlette's one place for a convertor; the same name and class every time, so a second
    # app (the tests build many) changes nothing
    register_url_convertor("anypath", AnyPath())
    router = APIRouter(prefix=PREFIX, route_class=UnknownPageRoute, include_in_schema=False)

    @router.api_route("/{rest:anypath}", methods=NOT_FOUND_METHODS)
    async def not_found(request: Request, rest: str) -> Response:
        if not rest and request.method in ("GET", "HEAD"):
            return RedirectResponse(PREFIX, status_code=307)
        raise NotFound(f"no such dashboard page: {shown(_asked(request))}", code="page_not_found")

    return router


def _asked(request: Request) -> str:
    """The path as asked: ``request.url`` drops a line break, a carriage return and a tab
    (``urllib.parse.urlsplit``), naming another path."""
    path: str = request.scope["path"]
    return path


def _owner_may(action: actions.Action, gov: Governance, subject: str, owner: Admin) -> None:
    """An owner key may do an action only where the action lets its department (consent of the
    models it owns the data of); 403 otherwise."""
    if action.owner_may is None or not action.owner_may(gov, subject, owner.department):
        raise PermissionDenied(
            f"key {owner.key_id!r} (owner, department {owner.department!r}) may not do this to"
            f" {subject!r}: that needs an admin key, or an owner key of the model's data owner",
            code="not_admin",
        )


def _model(gov: Governance, router: Router, model_id: str, window: Window, _: Admin) -> object:
    return model_page(gov, router, model_id, window)


def _department(
    gov: Governance, _router: Router, name: str, window: Window, admin: Admin
) -> object:
    return department_page(gov, name, window, head=admin.is_head)


def _canonical_department(admin: Admin, gov: Governance, name: str) -> str | None:
    return canonical(admin, [d.name for d in gov.admin.config.departments], name)


def _drilldown(
    template: str,
    key: str,
    build: Callable[[Governance, Router, str, Window, Admin], object],
    reads: Callable[[Admin, str], None],
    canonical_url: Callable[[Admin, Governance, str], str | None] | None = None,
) -> Callable[..., Response]:
    """The route of a drill-down page: ``build(gov, router, subject, window, admin)`` (``router``:
    the gateway's; ``admin``: who reads it) rendered into ``template`` as ``key``, for the month
    asked for (this month without one), once ``reads(admin, subject)`` let the logged-in key read
    it (a 403 before anything is looked up, so that the answer is the same for a subject that
    does not exist); a subject spelled with a slash too many is first sent on to its page by
    ``canonical_url`` (the month kept)."""

    def page(
        request: Request,
        subject: str,
        admin: SessionDep,
        gov: GovernanceDep,
        month: str | None = None,
    ) -> Response:
        to = canonical_url(admin, gov, subject) if canonical_url else None
        if to is not None:
            query = request.url.query
            return RedirectResponse(to + ("?" + query if query else ""), status_code=307)
        reads(admin, subject)
        label, window = month_window(month)
        built = build(gov, router_of(request), subject, window, admin)
        values: dict[str, Any] = {key: built}
        return render_told(
            dashboard_of(request).env,
            request,
            template,
            admin,
            gov.admin.ledger,
            month=label,
            **values,
        )

    return page


def _form_page(action: actions.Action, gov: Governance, subject: str) -> actions.FormPage | None:
    """The page ``action``'s form on ``subject`` is on, ``None`` when there is none (an unknown
    model, department or key)."""
    try:
        return action.form_page(gov, subject)
    except RequestError:
        return None


def _confirmed(action: actions.Action) -> Callable[..., Coroutine[Any, Any, Response]]:
    """The route of ``action``: without ``confirm=yes`` a page that says what will happen and
    asks; with it, the action, then back to the page it came from."""

    async def act(
        request: Request, subject: str, admin: SessionDep, gov: GovernanceDep
    ) -> Response:
        try:
            return await run(request, subject, admin, gov)
        except RequestError as exc:
            # an admin's (a viewer's) refused form leads back to the page it was on, as the route
            # knows it (an owner's leads to the one page it has, its home)
            back = None
            if admin.reads_all:
                back = await run_in_threadpool(_form_page, action, gov, subject)
            return await error_page(request, exc, shows_month=False, back=back)

    async def run(request: Request, subject: str, admin: Admin, gov: Governance) -> Response:
        if not admin.can_change:  # refused whatever was posted: a viewer's or head's is forged
            raise PermissionDenied(
                f"key {admin.key_id!r} has the role {admin.role!r}, which may only read; this"
                " needs an admin key",
                code="head_read_only" if admin.is_head else "read_only",
            )
        if admin.role != ADMIN:
            await run_in_threadpool(_owner_may, action, gov, subject, admin)
        form = await checked_form(request, admin)
        # amounts are read in the language they were written in: the confirmation page's hidden
        # field, else the page's
        form.setdefault("language", Page.of(request).language)
        if form.get("confirm") != "yes":
            fmt = Page.of(request).fmt
            pending = await run_in_threadpool(action.prepare, gov, subject, form, PREFIX, fmt)
            return render(
                dashboard_of(request).env,
                request,
                "confirm.html",
                admin=admin,
                pending=pending,
                back=await back(gov, subject, admin),
            )
        announced = await run_in_threadpool(action.run, gov, subject, form, admin.key_id)
        page = await back(gov, subject, admin)
        response = RedirectResponse(page, 303)
        # "done" said once on that page, by a cookie only this session's action sets (told.py)
        await run_in_threadpool(
            tell,
            response,
            request,
            admin,
            page,
            announced.not_acknowledged,
            time.time(),
            gov.admin.ledger,
        )
        return response

    async def back(gov: Governance, subject: str, admin: Admin) -> str:
        """The page an action goes back to: an admin's, the page of its form; an owner's, its
        home."""
        if admin.role != ADMIN:
            return admin.home
        page = await run_in_threadpool(action.form_page, gov, subject)
        return page.url(PREFIX)

    return act
