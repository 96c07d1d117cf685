"""A consent withdrawal that outlived the model's data owner, in a real browser (Debian's Chromium
driven by Playwright), in English and German: legal withdrew its consent to tiny-small, then the
config dropped the data owner. Every request to the model is refused, yet the model page said
"compliant", "Consent - (no data owner)", "no consent to manage", and the consent page listed
nothing. Now the model page says the consent is withdrawn, left from when it had a data owner, and
that requests are refused; the consent page lists it with the admin's way to lift it (confirmed,
audited with the admin key as the actor, as the admin API's grant); an owner key of legal neither
sees it nor may lift it. Once lifted, the model is served and has no consent to manage.
Screenshots at 1280 px go to the test's temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.i18n import Labels, labels
from tests.dashboard.browser import log_in, speak
from tests.dashboard.client import csrf_of, login
from tests.dashboard.conftest import (
    ADMIN_KEY,
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.dashboard.test_browser_layout import ID, ON_LINES
from tests.dashboard.traffic import chat
from tests.fixtures.gateway import KEYS, in_process, running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def left(tmp_path: Path) -> Iterator[tuple[DashboardGateway, str]]:
    """legal's owner key withdrew its consent to tiny-small; the gateway then started with a
    config that names no data owner for it (the same ledger). The gateway and the owner key."""
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    key_id, key = seed(raw)
    with in_process(raw, DASHBOARD_ENV) as gw:
        made = gw.post("/admin/keys", json={"department": "legal", "role": "owner"}, headers=ADMIN)
        owner = made.json()["key"]
        withdrawn = gw.post(
            "/admin/models/tiny-small/consent",
            json={"consent": False, "reason": "licence review"},
            headers={"authorization": f"Bearer {owner}"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
    del raw["models"][0]["data_owner"]
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key), owner


def text(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text()


def shows_the_leftover(page: Page, dashboard: DashboardGateway, t: Labels, shots: Path) -> None:
    """The model page and the consent page tell the truth about tiny-small (screenshots in
    ``shots``)."""
    page.goto(dashboard.url + "/models/tiny-small")
    page.screenshot(path=str(shots / "model.png"), full_page=True)
    assert text(page, "#m-refused") == t["refused_consent"]
    assert text(page, "#m-consent-state") == t["consent_left"]
    card = text(page, "#m-consent")
    assert t["consent_left_note"] in card and t["no_data_owner"] not in card
    assert page.locator("#m-consent button").inner_text() == t["lift_withdrawal"]
    page.goto(dashboard.url + "/consent")
    page.screenshot(path=str(shots / "consent.png"), full_page=True)
    row = page.locator("#c-tiny-small")
    assert t["consent_left"] in row.inner_text() and t["no_data_owner_now"] in row.inner_text()
    assert row.locator("button").inner_text() == t["lift_withdrawal"]
    assert text(page, "#c-left-note") == t["consent_left_note"]
    assert page.locator("#c-models tbody tr").count() == 1  # the data owner's models: none


def owner_may_not_lift(dashboard: DashboardGateway, owner: str) -> None:
    """legal's owner key: the model is not legal's any more; the consent page lists nothing,
    a lift posted anyway is refused and changes nothing."""
    with login(dashboard.gateway.url, owner) as (client, answer):
        assert answer.headers["location"] == "/dashboard/consent"
        page = client.get("/dashboard/consent").text
        assert "tiny-small" not in page
        forbidden = client.post(
            "/dashboard/models/tiny-small/consent",
            data={"consent": "grant", "reason": "mine", "csrf": csrf_of(page)},
        )
        assert forbidden.status_code == 403 and "Nothing was changed" in forbidden.text
    assert chat(dashboard, KEYS["legal"]).status_code == 403


@pytest.mark.parametrize(("language", "where"), [("en", "model"), ("de", "consent")])
def test_a_withdrawal_left_without_data_owner_is_shown_and_lifted_by_an_admin(
    left: tuple[DashboardGateway, str], page: Page, tmp_path: Path, language: str, where: str
) -> None:
    dashboard, owner = left
    t = labels("de" if language == "de" else "en")
    refused = chat(dashboard, KEYS["legal"])  # legal may use tiny-small only
    # withdrawn: no longer one legal sees (the operators' log and the pages say why)
    assert refused.status_code == 403 and "other model" in refused.text
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    shows_the_leftover(page, dashboard, t, tmp_path)
    owner_may_not_lift(dashboard, owner)

    if where == "model":
        page.goto(dashboard.url + "/models/tiny-small")
        form = page.locator("#m-consent")
    else:
        form = page.locator("#c-tiny-small")
    form.locator("input[name=reason]").fill("the owner left the catalog")
    form.locator("button").click()
    assert t["confirm_consent_lift"].format(model="tiny-small") in text(page, "main")
    page.screenshot(path=str(tmp_path / "confirm.png"), full_page=True)
    ids = page.evaluate(ON_LINES, {"pattern": ID, "within": ".question"})
    assert [(i["text"], i["lines"]) for i in ids] == [("tiny-small", 1)]  # "tiny-" / "small"
    page.click("button.danger")
    assert text(page, ".notice")  # done, recorded in the audit log
    page.screenshot(path=str(tmp_path / "lifted.png"), full_page=True)
    assert chat(dashboard, KEYS["legal"]).status_code >= 500  # admitted (backend down)

    page.goto(dashboard.url + "/consent")
    assert page.locator("#c-tiny-small").count() == 0
    assert t["no_consent_models"] in text(page, "#c-models")
    page.goto(dashboard.url + "/models/tiny-small")
    assert page.locator("#m-refused").count() == 0
    assert text(page, "#m-consent-state") == t["consent_none"]
    assert t["no_data_owner"] in text(page, "#m-consent")
    history = text(page, "#m-history")
    assert "the owner left the catalog" in history and "it-admin" in history
    ledger = dashboard.gateway.ledger()
    try:
        entries = ledger.list_audit(action="model.consent")
    finally:
        ledger.close()
    lifted = entries[0]  # newest first
    assert (lifted.actor, lifted.target, lifted.details["to"]) == (
        "it-admin",
        "tiny-small",
        "lifted",
    )
    assert lifted.details["reason"] == "the owner left the catalog"
    assert re.match(r"key-", entries[1].actor)  # the withdrawal, by legal's owner key
