"""In a real browser (Debian's Chromium driven by Playwright) at 1280 px, in English and German:
what a month with awkward content looks like. A use case named with 128 characters and a purpose and
contact of long unbroken words (a URL) break inside their cells rather than widen the department
page's table (5,429 px inside a 1,235 px card) or run past the overview's risk-tier card, nor do
they widen the audit table; the refusals table's "no department (refused before the key was known)"
wraps instead of being cut at the card's edge; routing that made requests slower shows the latency
as a loss (its words and its colour), never in the saving's green. Screenshots go to the test's
temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.test_browser_layout import TABLES_IN_CARDS
from tests.dashboard.traffic import record, served, two_refusals

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

LONG_NAME = "Vertragspruefung-" + "x" * 111
LONG_WORD = "https://contracts.example/" + "vertragspruefungsverfahren" * 6
CARDS_WIDER = "cards => cards.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.id)"
LOSS = {"en": "slower (a loss)", "de": "langsamer (ein Verlust)"}
ANY_MODEL = {"en": "any permitted model", "de": "jedes zulässige Modell"}


def _month(dashboard: DashboardGateway) -> None:
    """A long use case (any permitted model), two refusals (one before the key was known), and
    routed requests slower than the reference models' own."""
    answer = dashboard.gateway.post(
        "/admin/use-cases",
        json={
            "name": LONG_NAME,
            "department": "legal",
            "purpose": f"first reading, see {LONG_WORD}",
            "oversight_contact": LONG_WORD,
            "reason": "walk3",
        },
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    two_refusals(dashboard)
    config = dashboard.gateway.config
    slow = [
        served(
            config,
            department="research",
            key_id="research-1",
            model="tiny-small",
            latency_ms=3000.0,
        )
        for _ in range(3)
    ]
    fast = [
        served(config, department=d, key_id=f"{d}-1", model=m, routed=False, latency_ms=50.0)
        for d in ("legal", "research")
        for m in ("tiny-medium", "tiny-large")
    ]
    record(dashboard, slow + fast)


@pytest.mark.parametrize("language", ["en", "de"])
def test_long_words_wrap_and_a_loss_reads_as_a_loss_at_1280_px(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    dashboard = served_offline_dashboard
    _month(dashboard)
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    for path in ("", "/departments/legal", "/learning", "/consent", "/models/tiny-small"):
        page.goto(dashboard.url + path)
        name = f"{language}-1280{path.replace('/', '-') or '-overview'}.png"
        page.screenshot(path=str(tmp_path / name), full_page=True)
        assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == [], path
        assert page.eval_on_selector_all("section.card", CARDS_WIDER) == [], path
        if path == "/departments/legal":
            assert ANY_MODEL[language] in page.inner_text("#d-usecases")
    page.goto(dashboard.url)
    latency = page.locator("#w-savings tbody tr").nth(2).locator("td").nth(2)
    assert LOSS[language] in latency.inner_text()
    colour = latency.evaluate("cell => getComputedStyle(cell).color")
    assert colour == "rgb(198, 40, 40)", colour  # --bad, not the saving's green (--ok)
    nobody = page.locator("#w-refusals td .muted").first
    box, card = nobody.bounding_box(), page.locator("#w-refusals").bounding_box()
    assert box is not None and card is not None
    assert box["x"] + box["width"] <= card["x"] + card["width"]  # wrapped, not cut off
    tiers = page.locator("#w-usecases .names").first.bounding_box()
    card = page.locator("#w-usecases").bounding_box()
    assert tiers is not None and card is not None
    assert tiers["x"] + tiers["width"] <= card["x"] + card["width"]
