"""Who made or revoked a key, on a head key's department page (small31): the keys table named
the admin key that made each key, ``it-admin``, a key of another department, and the operator's
login of a key the CLI made (``cli:test``); a head key reads no other department's key ids
anywhere else. It now reads "an admin" for them, and the id of a key of its own department; an
admin key still reads every id. Both languages."""

from __future__ import annotations

import re

import httpx

from stellwerk.dashboard.i18n import labels
from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.test_head import HOME, make_head
from tests.dashboard.test_languages import plain
from tests.fixtures.gateway import bearer


def keys_card(client: httpx.Client, page: str, language: str) -> str:
    client.cookies.set("stw_lang", language, path="/dashboard")
    answer = client.get(page)
    assert answer.status_code == 200, answer.text
    match = re.search(r'<section class="card wide" id="d-keys">.*?</section>', answer.text, re.S)
    assert match is not None
    return " ".join(plain(match.group(0)).split())


def revoke(dashboard: DashboardGateway, key_id: str) -> None:
    answer = dashboard.gateway.post(
        f"/admin/keys/{key_id}/revoke", json={"reason": "left"}, headers=bearer(ADMIN_KEY)
    )
    assert answer.status_code == 200, answer.text


def test_a_head_reads_no_key_id_of_another_department_as_who_made_or_revoked_a_key(
    offline_dashboard: DashboardGateway, admin: httpx.Client, language: str
) -> None:
    an_admin = labels("de" if language == "de" else "en")["an_admin"]
    revoke(offline_dashboard, offline_dashboard.stored_key_id)  # made by cli:test
    with login(offline_dashboard.gateway, make_head(offline_dashboard.gateway)) as (head, _):
        seen = keys_card(head, HOME, language)
    admins = keys_card(admin, HOME, language)
    for actor in ("it-admin", "cli:test"):
        assert actor in admins
        assert actor not in seen, seen
    # the head key itself (made by it-admin) and the stored key (made by the CLI, revoked by
    # it-admin): an admin each time
    assert seen.count(an_admin) == 3, seen
    assert an_admin not in admins


def test_a_head_reads_who_made_a_key_when_that_is_a_key_of_its_department(
    offline_dashboard: DashboardGateway, language: str
) -> None:
    with login(offline_dashboard.gateway, make_head(offline_dashboard.gateway, "it")) as (head, _):
        seen = keys_card(head, "/dashboard/departments/it", language)
    assert "it-admin" in seen  # its own department's admin key made the head key
    assert labels("de" if language == "de" else "en")["an_admin"] not in seen
