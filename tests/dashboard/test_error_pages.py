"""Error pages keep the visitor's header: logged in, the navigation, the month picker on a page
that shows a month and the log-out button, so that the user can go on; not logged in, only the
language switch. A file below ``/dashboard/static`` that is not there is the dashboard's 404 page
too, never the model APIs' JSON."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest

from tests.dashboard.client import csrf_of, login
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway

LOGOUT = 'action="/dashboard/logout"'
MONTH_PICKER = '<select name="month">'
LEARNING_LINK = 'href="/dashboard/learning"'


def owner_key(dashboard: DashboardGateway) -> str:
    with dashboard.gateway.client(ADMIN_KEY, timeout=30) as client:
        answer = client.post("/admin/keys", json={"department": "legal", "role": "owner"})
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def selected_month(html: str) -> str | None:
    match = re.search(r'<option value="(\d{4}-\d{2})" selected>', html)
    return match.group(1) if match else None


@pytest.mark.parametrize(
    ("path", "status", "month"),
    [
        ("/dashboard/nope", 404, None),
        ("/dashboard/static/nope.css", 404, None),
        ("/dashboard/static/", 404, None),
        ("/dashboard/static", 404, None),
        ("/dashboard/models/nope", 404, "this month"),
        ("/dashboard/departments/nope?month=2026-05", 404, "2026-05"),
        ("/dashboard?month=2026-13", 400, "this month"),
        ("/dashboard/learning?month=9999-12", 400, "this month"),
        ("/dashboard/lang/fr", 404, None),
    ],
)
def test_an_error_page_has_the_logged_in_header(
    admin_in_language: httpx.Client, language: str, path: str, status: int, month: str | None
) -> None:
    answer = admin_in_language.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}">' in answer.text
    assert LOGOUT in answer.text and LEARNING_LINK in answer.text
    assert "it-admin" in answer.text  # who is logged in
    # the page's own month picker, on the pages that show a month (a month it cannot show is
    # the error: the picker offers this month instead)
    assert (MONTH_PICKER in answer.text) == (month is not None)
    if month is not None:
        this_month = re.search(r'<option value="(\d{4}-\d{2})"', answer.text)
        assert this_month is not None
        expected = this_month.group(1) if month == "this month" else month
        assert selected_month(answer.text) == expected
    # and the log-out button works from it
    logout = admin_in_language.post("/dashboard/logout", data={"csrf": csrf_of(answer.text)})
    assert logout.status_code == 303
    assert admin_in_language.get("/dashboard").status_code == 401


@pytest.mark.parametrize("path", ["/dashboard/nope", "/dashboard/static/nope.css"])
def test_an_error_page_without_a_session_has_no_logged_in_header(
    offline_dashboard: DashboardGateway, path: str
) -> None:
    with offline_dashboard.gateway.client(timeout=30) as client:
        client.cookies.set("stw_lang", "de", path="/dashboard")
        answer = client.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
        assert "Diese Seite gibt es im Dashboard nicht" in unescape(answer.text)
        assert LOGOUT not in answer.text and LEARNING_LINK not in answer.text
        # a session that ended is nobody: no header either, and nothing else happens
        client.cookies.set("stw_session", "forged", path="/dashboard")
        answer = client.get(path)
        assert answer.status_code == 404 and LOGOUT not in answer.text


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/dashboard/x%0Ay", r"'/dashboard/x\ny'"),
        ("/dashboard/x%0Dy%09z", r"'/dashboard/x\ry\tz'"),
        ("/dashboard/models/x%0Ay", r"'/dashboard/models/x\ny'"),
        ("/dashboard/static/a%0Ab.css", r"'/dashboard/static/a\nb.css'"),
        ("/dashboard/%3Cb%3Ex%0A%3C/b%3E", r"'/dashboard/<b>x\n</b>'"),
    ],
    ids=["line-break", "return-and-tab", "model", "static", "markup"],
)
def test_a_path_with_a_line_break_is_the_dashboards_404_page(
    offline_dashboard: DashboardGateway, path: str, shown: str
) -> None:
    """``/dashboard/x%0Ay`` matched no dashboard route (Starlette's ``path`` stops at a line
    break) and was the model APIs' JSON 404; a carriage return was a 400 about a parameter
    ``rest``, and the page named the path without it (``request.url`` drops both)."""
    answer = offline_dashboard.gateway.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no such page in the dashboard" in unescape(answer.text)
    assert f"no such dashboard page: {shown}" in unescape(answer.text)  # escaped, as asked
    assert "<b>" not in answer.text


def test_a_page_with_a_line_break_at_its_end_is_the_404_page(
    offline_dashboard: DashboardGateway,
) -> None:
    """walk16 W16-5: ``/dashboard/learning%0A`` showed the learning page to a logged-in admin."""
    with login(offline_dashboard.gateway, ADMIN_KEY) as (client, _):
        assert client.get("/dashboard/learning").status_code == 200
        answer = client.get("/dashboard/learning%0A")
        assert answer.status_code == 404
        assert "no such dashboard page: '/dashboard/learning\\n'" in unescape(answer.text)


def test_an_owners_error_page_has_the_owners_header(offline_dashboard: DashboardGateway) -> None:
    """An owner sees only the consent page: its 403 on the overview leads back there."""
    with login(offline_dashboard.gateway, owner_key(offline_dashboard)) as (client, answer):
        assert answer.status_code == 303
        answer = client.get("/dashboard")
        assert answer.status_code == 403
        assert LOGOUT in answer.text and 'href="/dashboard/consent"' in answer.text
        assert LEARNING_LINK not in answer.text and MONTH_PICKER not in answer.text
        assert "Back to the consent page" in answer.text


def test_the_static_files_are_served_as_before(offline_dashboard: DashboardGateway) -> None:
    for method in ("GET", "HEAD"):
        answer = offline_dashboard.gateway.request(method, "/dashboard/static/dashboard.css")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/css")
        assert "etag" in answer.headers
    icon = offline_dashboard.gateway.request("GET", "/dashboard/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    for outside in ("/dashboard/static/../web.py", "/dashboard/static/%2e%2e/web.py"):
        answer = offline_dashboard.gateway.request("GET", outside)
        assert answer.status_code == 404 and "def " not in answer.text
    posted = offline_dashboard.gateway.request("POST", "/dashboard/static/dashboard.css")
    assert posted.status_code == 404 and posted.headers["content-type"].startswith("text/html")


def refused_post(client: httpx.Client, page: str, action: str, fields: dict[str, str]) -> str:
    """The page answering ``fields`` posted from ``page`` to ``action``: 400, nothing changed."""
    token = csrf_of(client.get(page).text)
    answer = client.post(action, data={**fields, "csrf": token})
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    return answer.text


BACK = {
    "en": ("Back to the department's page", "Back to the model's page", "Back to the overview"),
    "de": ("Zurück zur Seite des Bereichs", "Zurück zur Seite des Modells", "Zurück zur Übersicht"),
}


def test_a_refused_form_leads_back_to_its_page_in_its_language(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    to_department, to_model, to_overview = BACK[language]
    budget = "/dashboard/departments/legal"
    html = refused_post(
        admin_in_language, budget, f"{budget}/budget", {"monthly_budget": "abc", "reason": "r"}
    )
    assert f'<html lang="{language}">' in html
    assert f'<a href="{budget}">{to_department}</a>' in unescape(html)
    assert f'<a href="/dashboard">{to_overview}</a>' in unescape(html)
    # a key's revocation is posted from its department's page
    key = offline_dashboard.stored_key_id
    html = refused_post(
        admin_in_language,
        "/dashboard/departments/research",
        f"/dashboard/keys/{key}/revoke",
        {"reason": " "},
    )
    assert f'<a href="/dashboard/departments/research">{to_department}</a>' in unescape(html)
    model = "/dashboard/models/tiny-small"
    html = refused_post(
        admin_in_language, model, f"{model}/lifecycle", {"state": "launched", "reason": "r"}
    )
    assert f'<a href="{model}">{to_model}</a>' in unescape(html)


def test_a_refused_forms_link_back_never_leaves_the_dashboard(
    admin_in_language: httpx.Client,
) -> None:
    """The link back is the route's page: a Referer, a form field or a subject that names another
    site changes nothing."""
    budget = "/dashboard/departments/legal"
    token = csrf_of(admin_in_language.get(budget).text)
    elsewhere = "https://evil.example/dashboard/departments/legal"
    answer = admin_in_language.post(
        f"{budget}/budget",
        data={"monthly_budget": "abc", "reason": "r", "csrf": token, "back": elsewhere},
        headers={"referer": elsewhere},
    )
    assert answer.status_code == 400
    assert "evil.example" not in answer.text and f'href="{budget}"' in answer.text
    for subject in ("%2F%2Fevil.example", "https:%2F%2Fevil.example", "..%2F..%2Fevil"):
        answer = admin_in_language.post(
            f"/dashboard/departments/{subject}/budget",
            data={"monthly_budget": "abc", "reason": "r", "csrf": token},
            headers={"referer": elsewhere},
        )
        assert answer.status_code == 404, subject  # no such department: no link back to it
        hrefs = re.findall(r'href="([^"]*)"', answer.text)
        assert hrefs and all(h.startswith("/dashboard") for h in hrefs), hrefs
        # (the language switch names the page itself, in /dashboard/lang/..?next=)
        assert not [h for h in hrefs if h.startswith("/dashboard/departments/")], hrefs
