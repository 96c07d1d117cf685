"""The router-learning page in a real browser, in English and German: reached from the header, its
meters drawn (the page's content security policy allows no inline style; the unfamiliar share in
the neutral colour, a budget in its limit's), the figures of a ledger that has learned, the gain of
the version in use per department, the adaptation runs promoted or not and why not, no card wider
than the page. A screenshot of each language is left in the test's folder (docs/img's
dashboard-learning-*.png). After rollbacks that restored an earlier promotion's correction, at
1280 pixels, the page shows that promotion's figures and that learning uses the graded requests
since the newest rollback (screenshots ``rolled-back-*.png``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.charts import NEUTRAL
from stellwerk.learning.online import adapt_stored
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.ledger import open_ledger
from stellwerk.routing.loader import load_learned
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.learning import learning_gateway
from tests.dashboard.test_browser_narrow import PHONE

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = [pytest.mark.slow]


@pytest.fixture
def learning_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    with learning_gateway(tmp_path) as dashboard:
        yield dashboard


def test_the_learning_page_reads_in_both_languages(
    learning_dashboard: DashboardGateway, page: Page, tmp_path: Path
) -> None:
    base = learning_dashboard.url
    page.goto(base)
    page.fill("input[name=key]", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(base)
    page.click("header a.nav:text('Router learning')")
    page.wait_for_url(base + "/learning")

    rows = page.locator("#l-departments tbody tr")
    research = rows.filter(has_text="research").inner_text()
    assert re.search(r"90\s+90\s+10\s+30\.0\s% \(3 / 10\)", research)
    # the meter is drawn at its width (a style attribute would have been dropped)
    meter = rows.filter(has_text="research").locator("svg.meter")
    box = meter.bounding_box()
    assert box is not None and box["width"] > 100
    # a share without a limit is neutral; the shadow budget, 80 % used, a warning
    assert meter.locator("rect:not(.track)").get_attribute("fill") == NEUTRAL
    budget = page.locator("#l-shadow svg.meter rect:not(.track)")
    assert budget.get_attribute("fill") == "#bf8700"
    # the gain of the version in use per department, in a column of its own
    assert re.search(r"\d\.\d{3} ± \d\.\d{3} \(90 judged\)", research)
    quiet = rows.filter(has_text="router-learning").locator("td.dept-gain").inner_text()
    assert quiet == "none judged"  # not "0 judged: too few (under 20)" (walk 10)
    assert "in use" in page.locator("#l-versions tr.in-use").inner_text()
    gain = " ".join(page.locator("#l-gain-in-use").inner_text().split())
    assert gain == "1.000 ± 0.000 Routing gain of the version in use"
    assert "Refused by the account's limits" in page.locator("#l-shadow").inner_text()
    # the adaptation runs, newest first: one that found nothing better, the promotion, one with
    # too few judged requests
    runs = [_cells(row) for row in page.locator("#l-runs tbody tr").all()]
    assert [r[2] for r in runs] == [
        "not promoted routes no better",
        "promoted as version 1",
        "not promoted too few judged (under 20)",
    ]
    assert [r[3:] for r in runs] == [
        ["120", "120", "120", "0.000 ± 0.000", "shared"],
        ["120", "120", "120", "1.000 ± 0.000", "shared"],
        ["12", "12", "12", "1.000 ± 0.000", "graded"],
    ]
    assert all(r[1] == "cli:test" for r in runs)
    assert page.locator("#l-runs tr.promoted").count() == 1
    assert page.locator("#l-window").count() == 0  # never rolled back: every record counts
    _fits(page)
    page.screenshot(path=str(tmp_path / "learning-en.png"), full_page=True)

    page.click("header .langs a:text('DE')")
    page.wait_for_url(base + "/learning")
    assert page.locator("h1").inner_text() == "Was der Router gelernt hat"
    # "Rück-meldungen" may break at its soft hyphen (in a narrow window)
    assert "Rück\u00admeldung" in page.locator("#l-departments thead").inner_text()
    assert re.search(
        r"30,0\s%.*\d,\d{3} ± \d,\d{3} \(90 beurteilt\)",
        rows.filter(has_text="research").inner_text(),
        re.S,
    )
    assert "Kosten der Schattenbewertung" in page.locator("#l-shadow h2").inner_text()
    heading = " ".join(page.locator("#l-runs h2").inner_text().split())
    assert heading == "Anpassungsläufe die letzten 10, aus allen Monaten"
    runs = [_cells(row) for row in page.locator("#l-runs tbody tr").all()]
    assert [r[2:] for r in runs] == [
        ["nicht übernommen routet nicht besser", "120", "120", "120", "0,000 ± 0,000", "shared"],
        ["übernommen als Version 1", "120", "120", "120", "1,000 ± 0,000", "shared"],
        [
            "nicht übernommen zu wenige beurteilt (unter 20)",
            "12",
            "12",
            "12",
            "1,000 ± 0,000",
            "graded",
        ],
    ]
    assert "Jeder Anpassungslauf" in page.locator("#l-runs p.hint").inner_text()
    _fits(page)
    page.screenshot(path=str(tmp_path / "learning-de.png"), full_page=True)


@pytest.fixture
def rolled_back_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    with learning_gateway(tmp_path, rollbacks=True) as dashboard:
        yield dashboard


def test_after_rollbacks_the_page_shows_the_version_whose_correction_is_in_use(
    rolled_back_dashboard: DashboardGateway, page: Page, tmp_path: Path
) -> None:
    """Version 2 (routes better by 0.025 ± 0.012, its squared error 3.9 % higher) restored by
    version 6, a rollback to a rollback: on top and per department its figures, at 1280 px."""
    page.set_viewport_size({"width": 1280, "height": 900})
    base = rolled_back_dashboard.url
    page.goto(base)
    page.fill("input[name=key]", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(base)
    page.goto(base + "/learning")
    expected = {
        "en": (
            "2 Version in use · restored by version 6",
            "0.025 ± 0.012 Routing gain of the version in use",
            "0.031 ± 0.014 (61 judged)",
            r"Learning uses the graded requests since the rollback of \d{4}-\d\d-\d\d \d\d:\d\d"
            r" \S+ \(3 so far\): what was learned from the earlier ones was rolled back"
            r" \(stellwerk router adapt --all-records includes them\)\.",
        ),
        "de": (
            "2 Version in Verwendung · wiederhergestellt durch Version 6",
            "0,025 ± 0,012 Routing-Gewinn der verwendeten Version",
            "0,031 ± 0,014 (61 beurteilt)",
            r"Gelernt wird aus den bewerteten Anfragen seit dem Zurücksetzen am"
            r" \d\d\.\d\d\.\d{4} \d\d:\d\d \S+ \(bisher 3\): Was aus den früheren gelernt"
            r" wurde, ist zurückgesetzt \(stellwerk router adapt --all-records bezieht sie ein\)\.",
        ),
    }
    for language, (in_use, gain, research, window) in expected.items():
        if language == "de":
            page.click("header .langs a:text('DE')")
            page.wait_for_url(base + "/learning")
        assert " ".join(page.locator("#l-in-use").inner_text().split()) == in_use
        assert " ".join(page.locator("#l-gain-in-use").inner_text().split()) == gain
        rows = page.locator("#l-departments tbody tr")
        cell = rows.filter(has_text="research").locator("td.dept-gain").inner_text()
        assert " ".join(cell.split()) == research
        assert _cells(page.locator("#l-versions tr.in-use"))[0].startswith("2 ")
        # after a rollback, adaptation learns from the graded requests since it, and says so
        line = page.locator("#l-summary #l-window")
        assert line.is_visible()
        assert re.fullmatch(window, " ".join(line.inner_text().split())), line.inner_text()
        _fits(page)
        page.screenshot(path=str(tmp_path / f"rolled-back-{language}.png"), full_page=True)


def _cells(row: Locator) -> list[str]:
    """A table row's cells as read, each on one line."""
    return [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]


def _fits(page: Page) -> None:
    """No card of the page is wider than its box (no table scrolls sideways)."""
    wide = page.eval_on_selector_all(
        "section.card", "cards => cards.filter(c => c.scrollWidth > c.clientWidth).map(c => c.id)"
    )
    assert wide == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_560_px_a_card_that_scrolls_shows_it_and_an_actor_stays_whole(
    learning_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """At 800 pixels the page's wider tables scrolled inside their cards, and nothing showed that
    they do: a column was cut mid-word ("Routing gai"). A card that scrolls now has a shadow at
    the edge it scrolls to, drawn by its background (covers that move with its content hide
    the shadows where there is nothing more); an actor (``cli:test``) no longer breaks inside
    its name (walk 10: "cli:r" / "oot"). Since walk 12 every table fits its card at 800 px
    (test_browser_narrow.py); at 560 px (a phone held upright) some still scroll."""
    base = learning_dashboard.url
    page.set_viewport_size({"width": 560, "height": 900})
    speak(page, learning_dashboard, language)
    log_in(page, learning_dashboard)
    page.goto(base + "/learning")
    page.screenshot(path=str(tmp_path / f"learning-{language}-560.png"), full_page=True)
    cards = page.eval_on_selector_all(
        "section.card",
        """cards => cards.map(c => ({id: c.id, scrolls: c.scrollWidth > c.clientWidth,
            layers: getComputedStyle(c).backgroundImage.split("gradient(").length - 1,
            attachment: getComputedStyle(c).backgroundAttachment}))""",
    )
    scrolling = [c for c in cards if c["scrolls"]]
    assert scrolling, cards  # at 560 px some tables are wider than their cards
    for card in scrolling:
        assert card["layers"] == 4, card
        assert card["attachment"].startswith("local, local, scroll, scroll"), card
    actors = page.locator("#l-runs td.actor").all()
    assert actors
    for actor in actors:
        _whole(actor)


def _whole(actor: Locator) -> None:
    """An actor on one line, or a long one's kind and name each on one (a break only between
    them)."""
    parts = actor.locator("span.nowrap").all()
    assert len(parts) in (1, 2), actor.inner_html()
    for part in parts:
        rects = part.evaluate("(span) => span.getClientRects().length")
        assert rects == 1, actor.inner_text()


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_390_px_a_schedulers_name_does_not_break_inside_its_words(
    learning_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """walk24 9: the Who cell broke ``schedule:vm-30073-4e2924`` as ``sched|ule:vm|-3007|3-``;
    it breaks after the colon only, and the page still fits its cards' scrolling."""
    ledger = open_ledger(learning_dashboard.gateway.database_url)
    try:
        adapt_stored(load_learned(), GradedStore(ledger), actor="schedule:vm-30073-4e2924")
    finally:
        ledger.close()
    page.set_viewport_size(PHONE)
    speak(page, learning_dashboard, language)
    log_in(page, learning_dashboard)
    page.goto(learning_dashboard.url + "/learning")
    runs = page.locator("#l-runs")
    runs.scroll_into_view_if_needed()
    runs.screenshot(path=str(tmp_path / f"learning-{language}-390-runs.png"))
    newest = page.locator("#l-runs tbody tr").first.locator("td.actor")
    assert " ".join(newest.inner_text().split()) in (
        "schedule:vm-30073-4e2924",
        "schedule: vm-30073-4e2924",
    )
    _whole(newest)
