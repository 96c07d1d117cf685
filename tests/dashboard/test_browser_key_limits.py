"""A key's own limits on its department's page in Chromium at 1280 pixels, English and German
(walk 15, MEDIUM-1): the keys' limits beside the department's budget, inside the budget card, and
the refusals of a key's own budget apart from the department's. Screenshots of the page go to
the test's temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.test_browser_narrow import CUT
from tests.dashboard.test_key_limits import SHOWN, spend_a_keys_budget

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_keys_own_budget_is_seen_beside_its_departments(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    dashboard = served_offline_dashboard
    key_id = spend_a_keys_budget(dashboard)
    shown = {name: text.replace("{key}", key_id) for name, text in SHOWN[language].items()}
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/departments/legal")
    page.screenshot(path=str(tmp_path / f"departments-legal-{language}-1280.png"), full_page=True)
    page.locator("#d-budget").screenshot(path=str(tmp_path / f"budget-card-{language}.png"))
    assert re.search(shown["key_limits"], page.locator("#d-budget").inner_text())
    assert re.search(shown["key_refusals"], page.locator("#d-refusals").inner_text())
    assert page.evaluate(CUT) == []
    key = page.locator("#d-budget table code", has_text=key_id)
    assert len(key.evaluate("(e) => [...e.getClientRects()]")) == 1  # the id on one line
