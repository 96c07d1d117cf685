"""The router-learning page in a real browser, in English and German: reached from the header, its
meters drawn (the page's content security policy allows no inline style), the figures of a ledger
that has learned, the gain of the version in use per department. A screenshot of each language is
left in the test's folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.learning import learning_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

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
    assert re.search(r"90\s+90\s+10\s+30\.0 % \(3 / 10\)", research)
    # the meter is drawn at its width (a style attribute would have been dropped)
    meter = rows.filter(has_text="research").locator("svg.meter")
    box = meter.bounding_box()
    assert box is not None and box["width"] > 100
    # the gain of the version in use per department, in a column of its own
    assert re.search(r"\d\.\d{3} ± \d\.\d{3} \(90 judged\)", research)
    quiet = rows.filter(has_text="router-learning").locator("td.dept-gain").inner_text()
    assert quiet == "0 judged: too few (under 20)"
    assert "in use" in page.locator("#l-versions tr.in-use").inner_text()
    assert "Refused by the account's limits" in page.locator("#l-shadow").inner_text()
    page.screenshot(path=str(tmp_path / "learning-en.png"), full_page=True)

    page.click("header .langs a:text('DE')")
    page.wait_for_url(base + "/learning")
    assert page.locator("h1").inner_text() == "Was der Router gelernt hat"
    assert "Rückmeldung" in page.locator("#l-departments thead").inner_text()
    assert re.search(
        r"30,0 %.*\d,\d{3} ± \d,\d{3} \(90 beurteilt\)",
        rows.filter(has_text="research").inner_text(),
        re.S,
    )
    assert "Kosten der Schattenbewertung" in page.locator("#l-shadow h2").inner_text()
    page.screenshot(path=str(tmp_path / "learning-de.png"), full_page=True)
