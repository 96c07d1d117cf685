"""Rendering: the page context (language, labels, formats, counts), templates, forms and the
login page (the error pages: :mod:`stellwerk.dashboard.error_pages`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, Response

from stellwerk.config.schema import StellwerkConfig
from stellwerk.dashboard import charts, figures, months
from stellwerk.dashboard.amounts import amount_input
from stellwerk.dashboard.audit_details import audit_details
from stellwerk.dashboard.auth import AdminDirectory
from stellwerk.dashboard.breaks import actor, breakable, ids_whole, narrow, unbroken
from stellwerk.dashboard.formats import Formatter
from stellwerk.dashboard.i18n import COOKIE, LANGUAGES, Labels, Language, choose, counted, labels
from stellwerk.dashboard.latency_fit import MIN_REQUESTS
from stellwerk.dashboard.printable import printable
from stellwerk.dashboard.refusal_labels import refusal_label
from stellwerk.dashboard.session import SessionCodec
from stellwerk.errors import (
    InvalidRequest,
    PayloadTooLarge,
)
from stellwerk.ledger.tables import IDLE_GROUP
from stellwerk.request_body import read_body

PREFIX = "/dashboard"
SESSION_COOKIE = "stw_session"
LOGIN_COOKIE = "stw_login"
LOGIN_COOKIE_S = 900
MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the dashboard of one app holds, built once by ``install_dashboard``."""

    config: StellwerkConfig
    env: Environment
    codec: SessionCodec
    directory: AdminDirectory


def dashboard_of(request: Request) -> Dashboard:
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard


def formatter(config: StellwerkConfig, language: Language) -> Formatter:
    """Numbers, money (in ``governance.currency``) and times (in ``dashboard.timezone``, else the
    server's zone) for ``language``."""
    zone = config.dashboard.timezone
    return Formatter(
        language,
        currency=config.governance.currency,
        zone=ZoneInfo(zone) if zone is not None else None,
    )


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("stellwerk.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        finalize=printable,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["amount_input"] = amount_input
    env.globals["charts"] = charts
    env.globals["figures"] = figures
    # what the savings card says when a reference model has too few requests to be estimated
    env.globals["latency_min_requests"] = MIN_REQUESTS
    env.globals["audit_details"] = audit_details
    env.globals["months"] = months.offered
    env.globals["prefix"] = PREFIX
    env.globals["idle_group"] = IDLE_GROUP
    env.globals["refusal_label"] = refusal_label
    env.filters["breakable"] = breakable
    env.filters["unbroken"] = unbroken
    env.filters["actor"] = actor
    env.filters["ids_whole"] = ids_whole
    env.filters["narrow"] = narrow
    return env


@dataclass(frozen=True, slots=True)
class Page:
    """What every template gets: the language, its labels and number formats."""

    language: Language
    t: Labels
    fmt: Formatter
    path: str
    """The page's path and query (where the language switch returns to)."""

    @classmethod
    def of(cls, request: Request) -> Page:
        language = choose(request.cookies.get(COOKIE), request.headers.get("accept-language"))
        # the query too, so that switching the language keeps the page's month selection
        query = request.url.query
        path = request.url.path + (f"?{query}" if query else "")
        return cls(
            language, labels(language), formatter(dashboard_of(request).config, language), path
        )

    def vars(self) -> dict[str, Any]:
        return {
            "lang": self.language,
            "languages": LANGUAGES,
            "t": self.t,
            "fmt": self.fmt,
            "path": self.path,
            "count": self.count,
        }

    def count(self, name: str, n: int, **values: str) -> str:
        """The count label ``name`` for ``n`` (its singular for 1): :func:`i18n.counted`."""
        return counted(self.t, self.fmt, name, n, **values)


def render(
    env: Environment, request: Request, name: str, status: int = 200, **values: Any
) -> HTMLResponse:
    page = Page.of(request)
    body = env.get_template(name).render(**page.vars(), **values)
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "cache-control": "no-store",
            "content-security-policy": (
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
                " frame-ancestors 'none'; base-uri 'none'"
            ),
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
        },
    )


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def read_form(request: Request) -> dict[str, str]:
    """A url-encoded form body (the only kind the dashboard's forms send), read no further than
    ``MAX_FORM_BYTES``: 413 on the dashboard's error page past it."""
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except PayloadTooLarge as exc:
        raise PayloadTooLarge(f"the form is larger than {MAX_FORM_BYTES} bytes") from exc
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the form is not UTF-8") from exc
    return dict(pairs)


def login_page(
    env: Environment, codec: SessionCodec, request: Request, status: int, message: str | None
) -> HTMLResponse:
    """The login form with a fresh login CSRF token bound to a nonce in its own cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE) or SessionCodec.new_nonce()
    response = render(
        env,
        request,
        "login.html",
        status,
        message=message,
        csrf=codec.csrf_token("login:" + nonce),
        admin=None,
    )
    set_cookie(response, request, LOGIN_COOKIE, nonce, LOGIN_COOKIE_S)
    return response


def safe_next(value: str | None) -> str:
    """A local dashboard path to go back to (never another site, nor a page outside the
    dashboard): ``value`` as sent when the path it leads to is under ``PREFIX``, read as a browser
    or a proxy in front would read it, its dot segments resolved after percent-decoding
    (``/dashboard/../admin``, ``/dashboard/..%2fadmin``, ``/dashboard/%2e%2e/admin``); else
    ``PREFIX``."""
    if not value or "//" in value or "\\" in value:
        return PREFIX
    path = _resolved(unquote(urlsplit(value).path))
    if path == PREFIX or path.startswith(PREFIX + "/"):
        return value
    return PREFIX


def _resolved(path: str) -> str:
    """``path`` with its ``.`` and ``..`` segments resolved (RFC 3986's remove_dot_segments;
    ``..`` above the root stays at the root)."""
    if not path.startswith("/"):
        return ""  # not a path from the root: never a dashboard page
    kept: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    return "/" + "/".join(kept)
