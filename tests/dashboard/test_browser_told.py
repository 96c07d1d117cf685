"""After an action, in a real browser (Debian's Chromium driven by Playwright), in English and
German: the page of its form says "Done" once, by the server (``dashboard/told.py``); its
address says nothing of it, and a reload no longer says it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

DONE = {"en": "Done; recorded in the audit log.", "de": "Erledigt und im Audit-Protokoll vermerkt."}


@pytest.mark.parametrize("language", ["en", "de"])
def test_done_is_said_once_after_a_change_in_each_language(
    served_offline_dashboard: DashboardGateway, page: Page, language: str, tmp_path: Path
) -> None:
    dashboard = served_offline_dashboard
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/models/tiny-small")
    consent = page.locator("#m-consent")
    consent.locator("input[name=reason]").fill("data protection review")
    consent.locator("button[type=submit]").click()
    page.click("button.danger")
    page.wait_for_url(dashboard.url + "/models/tiny-small")  # nothing about it in the address
    assert page.locator(".notice").inner_text() == DONE[language]
    assert page.locator("#not-acknowledged").count() == 0  # no replica left out
    page.screenshot(path=str(tmp_path / f"{language}-done.png"), full_page=False)
    page.reload()
    assert page.locator(".notice").count() == 0
    assert page.locator("#m-consent-state").inner_text() in ("withdrawn", "widerrufen")
