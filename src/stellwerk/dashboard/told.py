"""What the page an action went back to says of it: "Done; recorded in the audit log", and how
many replicas did not acknowledge the change in time, said once, by the server.

The action's answer (a redirect to the page of its form) sets a short-lived cookie, signed with
the session secret and bound to the session that acted and to the page it leads to; that page
shows the lines and deletes the cookie, so a reload shows them no more. The cookie carries a
one-time id, recorded in the session store when it is set and deleted when the page says it
(``SessionStore.promise``/``redeem``): a copy of the cookie sent again, in the same session within
its two minutes, says nothing (it said "Done" again before). Nothing in the address
says "done": a link cannot make a page claim a change that was not made, nor a count of
replicas that nobody counted (the lines came from the query, ``?done=1&unacked=N``, before).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from fastapi import Request
from jinja2 import Environment
from starlette.responses import HTMLResponse, Response

from stellwerk.dashboard.session import SessionCodec, b64, unb64
from stellwerk.dashboard.session_store import SessionStore
from stellwerk.dashboard.visitor import Admin
from stellwerk.dashboard.web import PREFIX, dashboard_of, render, set_cookie
from stellwerk.ledger.ledger import Ledger

COOKIE = "stw_told"
LIFETIME_S = 120
"""Long enough for the browser to follow the redirect, short enough that an old one is gone."""


@dataclass(frozen=True, slots=True)
class Told:
    """An action done, to be said on its page: ``unacked`` replicas did not acknowledge it."""

    unacked: int


def _purpose(admin: Admin) -> str:
    return f"told|{admin.nonce}"


def tell(
    response: Response,
    request: Request,
    admin: Admin,
    page: str,
    unacked: int,
    now: float,
    ledger: Ledger,
) -> None:
    """Have ``page`` (the address ``response`` leads to) say that ``admin``'s action is done.
    Synchronous (the one-time id's row): call it from a thread."""
    codec = dashboard_of(request).codec
    path = unquote(urlsplit(page).path)
    told_id = secrets.token_urlsafe(16)
    expires = int(now) + LIFETIME_S
    SessionStore(ledger).promise(told_id, expires)
    said = {"p": path, "u": unacked, "e": expires, "i": told_id}
    payload = b64(json.dumps(said).encode("utf-8"))
    value = f"{payload}.{codec.signature(_purpose(admin), payload)}"
    set_cookie(response, request, COOKIE, value, LIFETIME_S)


def heard(request: Request, admin: Admin, now: float, ledger: Ledger) -> Told | None:
    """What the action that led to this page left to say, ``None`` when nothing (no cookie; one
    of another session, for another page, expired, not signed by this dashboard, or said
    already). Synchronous (the one-time id's row): call it from a thread."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    read = _read(dashboard_of(request).codec, admin, value, request.scope["path"], now)
    if read is None:
        return None
    told, told_id = read
    return told if SessionStore(ledger).redeem(told_id) else None


def _read(
    codec: SessionCodec, admin: Admin, value: str, path: str, now: float
) -> tuple[Told, str] | None:
    payload, _, signature = value.partition(".")
    if not codec.signed(_purpose(admin), payload, signature):
        return None
    try:
        data = json.loads(unb64(payload))
        page, unacked, expires, told_id = data["p"], data["u"], data["e"], data["i"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(unacked, int) and isinstance(expires, int)) or unacked < 0:
        return None
    if not isinstance(told_id, str) or page != path or expires <= now:
        return None
    return Told(unacked), told_id


def render_told(
    env: Environment, request: Request, name: str, admin: Admin, ledger: Ledger, **values: Any
) -> HTMLResponse:
    """``render`` of a page an action goes back to, with ``done`` and ``unacked`` (the number of
    replicas that did not acknowledge) said once: the cookie that carried them is deleted, and
    its one-time id with it. Synchronous: call it from a thread (a ``def`` route)."""
    told = heard(request, admin, time.time(), ledger)
    response = render(
        env,
        request,
        name,
        admin=admin,
        done=told is not None,
        unacked=told.unacked if told is not None else 0,
        **values,
    )
    if told is not None:
        response.delete_cookie(COOKIE, path=PREFIX)
    return response
