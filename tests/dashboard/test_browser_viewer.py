"""A controller with a viewer key in a real browser (Debian's Chromium driven by Playwright) at
1280 px, in English and German: the login lands on the overview; another department's page
shows its figures, budget and keys with the note that the key may only read, and no budget form
and no revoke button; the tables still fit their cards; a model page has no lifecycle or consent
form. Screenshots go to the test's temporary
directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.formats import Language
from stellwerk.dashboard.i18n import labels
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.roles import made_key
from tests.dashboard.test_browser_layout import TABLES_IN_CARDS

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_viewer_sees_a_department_with_its_budget_and_keys_and_no_form(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language, tmp_path: Path
) -> None:
    dashboard, t = served_offline_dashboard, labels(language)
    key = made_key(dashboard.gateway, "viewer", "legal", "controlling")
    speak(page, dashboard, language)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, dashboard, key)  # a viewer's home is the overview, as an admin's
    assert page.locator("#read-only").inner_text() == t["read_only_note"]

    page.goto(dashboard.url + "/departments/research")
    page.screenshot(path=str(tmp_path / f"{language}-1280-viewer-research.png"), full_page=True)
    budget = page.locator("#d-budget")
    assert t["read_only_here"] in budget.inner_text()
    assert budget.locator("form, input, button").count() == 0
    keys = page.locator("#d-keys")
    assert dashboard.stored_key_id in keys.inner_text()  # another department's keys, by id
    assert keys.locator("form, input, button").count() == 0
    assert page.locator("main form").count() == 0
    assert [c for c in page.evaluate(TABLES_IN_CARDS) if c["over"] > 0.5] == []
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 1280, wide  # nothing to scroll sideways

    page.goto(dashboard.url + "/models/tiny-small")  # legal's data: a consent to withdraw
    page.screenshot(path=str(tmp_path / f"{language}-1280-viewer-model.png"), full_page=True)
    for card in ("#m-actions", "#m-consent"):
        assert t["read_only_here"] in page.locator(card).inner_text(), card
    assert page.locator("main form").count() == 0
