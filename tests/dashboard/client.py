"""A logged-in HTTP client for the dashboard, posting forms the way the browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.fixtures.gateway import Gateway

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


@contextmanager
def login(gateway: Gateway | str, key: str) -> Iterator[tuple[httpx.Client, httpx.Response]]:
    """A client that has posted ``key`` to the login form, and the answer; closed afterwards.
    ``gateway``: a test gateway, or the URL of one running elsewhere (``stellwerk demo``)."""
    made = (
        gateway.client(timeout=30)
        if isinstance(gateway, Gateway)
        else httpx.Client(base_url=gateway, timeout=30)
    )
    with made as client:
        form = client.get("/dashboard/login")
        answer = client.post("/dashboard/login", data={"csrf": csrf_of(form.text), "key": key})
        yield client, answer


def post_form(
    client: httpx.Client, page: str, action: str, fields: dict[str, str]
) -> httpx.Response:
    """Open ``page``, post ``fields`` with its CSRF token to ``action`` (the confirmation page),
    then confirm; returns the final answer (a redirect when it worked)."""
    token = csrf_of(client.get(page).text)
    asked = client.post(action, data={**fields, "csrf": token})
    if asked.status_code != 200:
        return asked
    return client.post(action, data={**fields, "csrf": token, "confirm": "yes"})
