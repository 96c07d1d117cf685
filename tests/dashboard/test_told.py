""" "Done" and "N replicas did not confirm the change" after an action are said by the server, once,
on the page the action went back to (``dashboard/told.py``): before, they came from the address
(``?done=1&unacked=N``), so a link could show them for a change never made, with any count."""

from __future__ import annotations

import httpx
import pytest

from tests.dashboard.client import login, post_form
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway

DONE = "recorded in the audit log"
UNACKED = 'id="not-acknowledged"'


def revoke_from(page: str, gateway: DashboardGateway, admin: httpx.Client) -> str:
    """Revoke the stored key by the form on ``page``; the "Done" cookie its answer set (the
    answer leads back to ``page``, with nothing about it in the address)."""
    revoked = post_form(
        admin, page, f"/dashboard/keys/{gateway.stored_key_id}/revoke", {"reason": "stolen"}
    )
    assert revoked.status_code == 303, revoked.text
    assert revoked.headers["location"] == page
    told = revoked.cookies.get("stw_told")
    assert told is not None
    return told


@pytest.mark.parametrize(
    "page",
    ["/dashboard/departments/research", "/dashboard/models/tiny-small", "/dashboard/consent"],
)
def test_a_link_cannot_make_a_page_say_a_change_was_made(admin: httpx.Client, page: str) -> None:
    crafted = admin.get(page, params={"done": "1", "unacked": "99999"})
    assert crafted.status_code == 200, crafted.text
    assert DONE not in crafted.text and UNACKED not in crafted.text
    assert "99,999" not in crafted.text and "99999 " not in crafted.text


def test_done_is_said_once_on_the_page_of_the_form_and_only_to_who_acted(
    offline_dashboard: DashboardGateway, admin: httpx.Client
) -> None:
    page = "/dashboard/departments/research"
    told = revoke_from(page, offline_dashboard, admin)

    elsewhere = admin.get("/dashboard/models/tiny-small")  # not the page it leads to
    assert DONE not in elsewhere.text
    with login(offline_dashboard.gateway, ADMIN_KEY) as (other, _):  # another session
        other.cookies.set("stw_told", told, path="/dashboard")
        assert DONE not in other.get(page).text

    shown = admin.get(page)
    assert DONE in shown.text and UNACKED not in shown.text  # every replica acknowledged
    assert DONE not in admin.get(page).text  # a reload: said once


def test_done_sent_again_by_the_same_session_says_nothing(
    offline_dashboard: DashboardGateway, admin: httpx.Client
) -> None:
    """The page deleted the cookie, but a copy of it sent again within its two minutes said
    "Done" again (walk 25, 6): its one-time id is now spent when the page says it."""
    page = "/dashboard/departments/research"
    told = revoke_from(page, offline_dashboard, admin)
    assert DONE in admin.get(page).text

    admin.cookies.set("stw_told", told, path="/dashboard")  # the same value, sent again
    replayed = admin.get(page)
    assert replayed.status_code == 200, replayed.text
    assert DONE not in replayed.text
