"""What the tests of the keys that only read (``head``, ``viewer``) share: such a key made by the
admin, clients asking their pages in a language, and an action such a key posts anyway refused
with nothing changed."""

from __future__ import annotations

from html import unescape

import httpx

from stellwerk.dashboard.i18n import Labels, labels
from stellwerk.ledger.ledger import Ledger
from tests.dashboard.client import csrf_of
from tests.dashboard.conftest import ADMIN_KEY
from tests.fixtures.gateway import Gateway, bearer


def made_key(gateway: Gateway, role: str, department: str, reason: str) -> str:
    """A key of ``role`` in ``department``, made by the admin through the admin API (stored in
    the ledger)."""
    answer = gateway.post(
        "/admin/keys",
        json={"department": department, "role": role, "reason": reason},
        headers=bearer(ADMIN_KEY),
    )
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def speaking(language: str, *clients: httpx.Client) -> Labels:
    """``clients`` asking every page in ``language`` (the language switch's cookie), and the
    labels their pages are written in."""
    for client in clients:
        client.cookies.set("stw_lang", language, path="/dashboard")
    return labels("de" if language == "de" else "en")


def refused_unchanged(
    client: httpx.Client,
    admin: httpx.Client,
    ledger: Ledger,
    action: str,
    fields: dict[str, str],
    *,
    form_page: str,
    pages: tuple[str, ...],
    says: str,
) -> str:
    """``client``'s post of ``action`` with a valid CSRF token of its own session (from
    ``form_page``), as the question and as the confirmed action, is a 403 page that says
    ``says`` and that nothing was changed; nothing is audited and ``pages`` read the same to the
    admin. Returns the token."""
    before = len(ledger.list_audit(limit=10_000))
    seen = {p: admin.get(p).text for p in pages}
    token = csrf_of(client.get(form_page).text)
    for confirm in ({}, {"confirm": "yes"}):  # neither the question nor the action
        refused = client.post(action, data={**fields, **confirm, "csrf": token})
        assert refused.status_code == 403, refused.text
        said = unescape(refused.text)
        assert says in said and "Nothing was changed" in said
    assert len(ledger.list_audit(limit=10_000)) == before
    assert {p: admin.get(p).text for p in seen} == seen
    return token
