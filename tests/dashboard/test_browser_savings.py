"""The overview's "Savings from routing" card in a real browser (Debian's Chromium driven by
Playwright) at 1280 px, in English and German, over a month whose routed requests keep their
reference (tiny-medium, at its energy then), some from before the ledger kept one (compared with
today's, and the card says how many), and a key that may use no model today: every line of the
card is shown inside it, the comparison table fits, and the card names the records' reference.
Screenshots go to the test's temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.test_browser_layout import TABLES_IN_CARDS
from tests.dashboard.traffic import recorded_traffic

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

REFERENCES = "legal → tiny-small; research → tiny-large, tiny-medium"  # a department once
LINES = {
    "en": (REFERENCES, "2 of them were recorded before the ledger kept their",
           "1 routed request recorded without a reference"),
    "de": (REFERENCES, "2 davon wurden erfasst, bevor das Ledger ihre Referenz",
           "1 ohne Referenz erfasste geroutete Anfrage"),
}  # fmt: skip
ENERGY = {"en": "32.80 Wh", "de": "32,80 Wh"}
OUTSIDE = """card => {
  const edge = card.getBoundingClientRect();
  return [...card.querySelectorAll('p, table')]
    .filter(e => e.getBoundingClientRect().right > edge.right + 1)
    .map(e => e.textContent.slice(0, 40));
}"""


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_savings_card_says_which_reference_it_compares_with_at_1280_px(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    dashboard = served_offline_dashboard
    recorded_traffic(dashboard)
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url)
    card = page.locator("#w-savings")
    card.screenshot(path=str(tmp_path / f"{language}-1280-savings.png"))
    text = " ".join(card.inner_text().split())
    for line in LINES[language]:
        assert line in text
    energy = card.locator("tbody tr").nth(1).locator("td").nth(1).inner_text()
    assert " ".join(energy.split()) == ENERGY[language]
    assert card.evaluate(OUTSIDE) == []
    assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == []
