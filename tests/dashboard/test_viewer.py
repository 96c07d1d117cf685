"""A viewer key on the dashboard (the real app, in process): a controller logs in, lands on the
overview and sees every page an admin sees, with no form that changes something (the logout
aside) and a note that the key may only read, in both languages; an action it posts anyway,
with a valid CSRF token of its own session, is a 403 page and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest

from stellwerk.ledger.ledger import Ledger
from tests.dashboard.client import csrf_of, login, post_form
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.roles import made_key, refused_unchanged, speaking

PAGES = [
    "/dashboard",
    "/dashboard/departments/research",
    "/dashboard/departments/legal",
    "/dashboard/models/tiny-small",
    "/dashboard/models/tiny-medium",
    "/dashboard/learning",
    "/dashboard/consent",
]
_POSTED = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture
def viewer(offline_dashboard: DashboardGateway) -> Iterator[httpx.Client]:
    """An HTTP client logged in to ``offline_dashboard`` with a viewer key of legal."""
    key = made_key(offline_dashboard.gateway, "viewer", "legal", "controlling")
    with login(offline_dashboard.gateway, key) as (client, to):
        assert to.status_code == 303 and to.headers["location"] == "/dashboard", to.text
        yield client


def test_a_viewer_sees_every_page_an_admin_sees_and_no_form_that_changes_something(
    offline_dashboard: DashboardGateway, viewer: httpx.Client, admin: httpx.Client, language: str
) -> None:
    t = speaking(language, viewer, admin)
    for path in PAGES:
        seen, admins = viewer.get(path), admin.get(path)
        assert seen.status_code == 200 and admins.status_code == 200, path
        assert _POSTED.findall(seen.text) == ["/dashboard/logout"], path
        assert t["read_only_note"] in unescape(seen.text), path
        assert t["read_only_note"] not in unescape(admins.text), path
        for heading in re.findall(r"<h[12][^>]*>([^<]+)", admins.text):
            assert heading in seen.text, (path, heading)  # the same cards
    research = viewer.get("/dashboard/departments/research").text
    assert offline_dashboard.stored_key_id in research  # its keys (ids), another department's
    assert t["read_only_here"] in unescape(research)  # where the budget form would be
    assert "/budget" in admin.get("/dashboard/departments/research").text
    assert "/learning" in viewer.get("/dashboard").text  # the navigation of an admin
    # a forged post is refused in the page's language
    token = csrf_of(viewer.get("/dashboard").text)
    refused = viewer.post("/dashboard/departments/research/budget", data={"csrf": token})
    assert refused.status_code == 403 and t["msg_read_only"] in unescape(refused.text)
    assert t["nothing_changed"] in unescape(refused.text)


@pytest.mark.parametrize(
    ("action", "page", "fields"),
    [
        (
            "/dashboard/departments/research/budget",
            "/dashboard/departments/research",
            {"monthly_budget": "5", "reason": "x"},
        ),
        (
            "/dashboard/models/tiny-small/lifecycle",
            "/dashboard/models/tiny-small",
            {"state": "deprecated", "reason": "x"},
        ),
        (
            "/dashboard/models/tiny-small/consent",
            "/dashboard/consent",
            {"consent": "withdraw", "reason": "x"},
        ),
        ("/dashboard/keys/{stored}/revoke", "/dashboard/departments/research", {"reason": "x"}),
    ],
)
def test_a_viewers_forged_action_is_refused_and_changes_nothing(
    offline_dashboard: DashboardGateway,
    viewer: httpx.Client,
    admin: httpx.Client,
    offline_ledger: Ledger,
    action: str,
    page: str,
    fields: dict[str, str],
) -> None:
    action = action.format(stored=offline_dashboard.stored_key_id)
    before = len(offline_ledger.list_audit(limit=10_000))
    token = refused_unchanged(
        viewer,
        admin,
        offline_ledger,
        action,
        fields,
        form_page=page,
        pages=(page, "/dashboard/consent"),
        says="may see every page but change nothing",
    )
    assert viewer.post("/dashboard/logout", data={"csrf": token}).status_code == 303
    # the admin's post of the same form goes through: the refusal was the role's
    assert post_form(admin, page, action, fields).status_code == 303
    assert len(offline_ledger.list_audit(limit=10_000)) == before + 1
