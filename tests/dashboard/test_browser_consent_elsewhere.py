"""Consent asked to change on an id that serves another model's weights, in a real browser
(Debian's Chromium driven by Playwright) at 1280 px, in English and German: ``tiny-retired``
serves ``tiny-small``'s weights without a data owner, and legal, tiny-small's data owner, manages
their consent on tiny-small. A withdrawal posted on tiny-retired (a stale form, a typed request)
by the admin or by legal's owner key is a 400 page whose message says first where the consent is
managed, in the page's language; before, it said "Choose whether to withdraw or re-grant the
consent." (the admin) or that the key may manage only its department's models (the owner), with
the pointer folded in the English technical details. Screenshots go to the test's temporary
directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.i18n import labels
from tests.dashboard.browser import speak
from tests.dashboard.conftest import (
    ADMIN_KEY,
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.dashboard.test_browser_layout import ID, ON_LINES
from tests.dashboard.test_same_weights import OWNER_KEY
from tests.fixtures.gateway import running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

# what a stale form would post: a withdrawal on tiny-retired, with the page's CSRF token
POST_ON_RETIRED = """([action, fields]) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  const token = document.querySelector("input[name=csrf]").value;
  for (const [name, value] of Object.entries({...fields, csrf: token})) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    """The test dashboard with an owner key of legal, served for the browser."""
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    (legal,) = [d for d in raw["departments"] if d["name"] == "legal"]
    legal["keys"].append({"id": "legal-owner", "key_env": "STW_TEST_KEY_OWNER", "role": "owner"})
    key_id, key = seed(raw)
    with running_gateway(raw, {**DASHBOARD_ENV, "STW_TEST_KEY_OWNER": OWNER_KEY}) as gw:
        yield DashboardGateway(gw, key_id, key)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    ("key", "form_page"), [(ADMIN_KEY, "/models/tiny-retired"), (OWNER_KEY, "/consent")]
)
def test_the_error_page_says_first_where_the_consent_of_these_weights_is_managed(
    dashboard: DashboardGateway,
    page: Page,
    tmp_path: Path,
    language: str,
    key: str,
    form_page: str,
) -> None:
    t = labels("de" if language == "de" else "en")
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    page.goto(dashboard.url + "/login")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{dashboard.url}{'/consent' if key == OWNER_KEY else ''}")
    page.goto(dashboard.url + form_page)
    fields = {"consent": "withdraw", "reason": "data contract ended"}
    with page.expect_navigation():
        page.evaluate(POST_ON_RETIRED, [dashboard.url + "/models/tiny-retired/consent", fields])
    page.screenshot(path=str(tmp_path / f"held-elsewhere-{language}.png"), full_page=True)
    said = t["msg_consent_held_elsewhere"].format(
        subject="tiny-retired", holder="tiny-small", owner="legal"
    )
    card = page.locator("main section")
    assert card.locator("h1").inner_text() == f"400 · {t['err_400']}"
    assert card.locator("p").first.inner_text() == said  # the pointer, before anything else
    assert t["msg_400_consent"] not in card.inner_text()
    assert card.locator("details").get_attribute("open") is None  # the English, folded
    assert card.locator("p", has_text=t["nothing_changed"]).count() == 1
    ids = page.evaluate(ON_LINES, {"pattern": ID, "within": ".alert"})
    assert {i["text"]: i["lines"] for i in ids} == {"tiny-retired": 1, "tiny-small": 1}
