"""In a real browser (Debian's Chromium driven by Playwright) at 1280 px, in English and German:
what a month with awkward content looks like. A use case named with 128 characters and a purpose and
contact of long unbroken words (a URL) break inside their cells rather than widen the department
page's table (5,429 px inside a 1,235 px card) or run past the overview's risk-tier card, nor do
they widen the audit table; the refusals table's "no department (refused before the key was known)"
wraps instead of being cut at the card's edge; routing that made requests slower shows the latency
as a loss (its words and its colour), never in the saving's green. Only the long words break: in
the use cases' table, with or without the long use case, no shorter word ("permitted", a model id
such as "tiny-small", an address such as "legal@example.org") is split over two lines (the table's
layout squeezed the models' column to a few letters once every cell could break anywhere).
Screenshots go to the test's temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.breaks import LONG
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
BROKEN_WORDS = """(table, long) => {
  const walker = document.createTreeWalker(table.tBodies[0], NodeFilter.SHOW_TEXT);
  const broken = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.data.matchAll(/\\S+/g)) {
      if (word[0].length >= long) continue;  // a long word may break
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const boxes = [...range.getClientRects()].filter((box) => box.width > 0);
      if (new Set(boxes.map((box) => Math.round(box.top))).size > 1) broken.push(word[0]);
    }
  }
  return broken;
}"""
"""The words shorter than ``breaks.LONG`` of a table's body that are split over two lines."""


def _use_case(dashboard: DashboardGateway, **fields: object) -> None:
    answer = dashboard.gateway.post(
        "/admin/use-cases",
        json={"department": "legal", "reason": "walk3", **fields},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text


def _ordinary_use_case(dashboard: DashboardGateway) -> None:
    """A use case as most are: two models, a sentence of purpose, an address to ask."""
    _use_case(
        dashboard,
        name="supplier-contract-summaries",
        purpose="short summaries of supplier contracts for the weekly review",
        allowed_models=["tiny-small", "tiny-medium"],
        oversight_contact="legal-oversight@example.org",
    )


def _month(dashboard: DashboardGateway) -> None:
    """A long use case (any permitted model), two refusals (one before the key was known), and
    routed requests slower than their reference model would have been (measured on 16 requests
    of its own, from 50 to 400 answer tokens)."""
    _use_case(
        dashboard,
        name=LONG_NAME,
        purpose=f"first reading, see {LONG_WORD}",
        oversight_contact=LONG_WORD,
    )
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
    fast = [  # the reference's own requests: 50 ms and 0.1 ms an answer token
        served(
            config,
            department=d,
            key_id=f"{d}-1",
            model=m,
            routed=False,
            completion=answer,
            latency_ms=50.0 + answer / 10,
        )
        for d in ("legal", "research")
        for m in ("tiny-medium", "tiny-large")
        for answer in range(50, 450, 50)
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
            assert page.eval_on_selector("#d-usecases table", BROKEN_WORDS, LONG) == []
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


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("long", [False, True], ids=["ordinary", "with-long-use-case"])
def test_short_words_and_model_ids_never_break_in_the_use_cases_at_1280_px(
    served_offline_dashboard: DashboardGateway,
    page: Page,
    tmp_path: Path,
    language: str,
    long: bool,
) -> None:
    dashboard = served_offline_dashboard
    _ordinary_use_case(dashboard)
    if long:
        _use_case(
            dashboard, name=LONG_NAME, purpose=f"see {LONG_WORD}", oversight_contact=LONG_WORD
        )
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/departments/legal")
    table = page.locator("#d-usecases")
    table.screenshot(path=str(tmp_path / f"{language}-1280-usecases-{long}.png"))
    assert page.eval_on_selector("#d-usecases table", BROKEN_WORDS, LONG) == []
    assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == []
    models = table.locator("tr", has_text="supplier-contract-summaries").locator("td.models")
    assert models.inner_text() == "tiny-small, tiny-medium"
    boxes = models.locator("a").evaluate_all("links => links.map(a => a.getClientRects().length)")
    assert boxes == [1, 1]  # each model id's link is one box: never wrapped
