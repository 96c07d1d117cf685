"""The overview's latest audit events on a phone held upright (390 px), in English and German
(walk 19, D4): the table was wider than its card, its Details column scrolled out of view to the
right and wrapped into a narrow column that set each row's height, so that the columns in view
(time, who, action, target) sat at the top of rows three or four screens tall of white. Below
600 px each event is now a block of its own: time and who on a line, the action and its target
under them, its details across the card's width below, each part labelled as the table's header
names it. At 1280 px the table is a table. Screenshots go to the test's temporary directory
(``--basetemp`` to keep them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.i18n import labels
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.test_browser_narrow import PHONE, month_in_use

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

pytestmark = [pytest.mark.slow]

WIDE: ViewportSize = {"width": 1280, "height": 900}

ROWS = """() => {
  const card = document.querySelector("#w-audit");
  const edge = card.getBoundingClientRect();
  return {
    sideways: card.scrollWidth - card.clientWidth,
    rows: [...card.querySelectorAll("tbody tr")].map((row) => {
      const details = row.querySelector("td.details").getBoundingClientRect();
      return {height: row.getBoundingClientRect().height,
              details_inside: details.left >= edge.left && details.right <= edge.right + 0.5,
              details_width: details.width};
    }),
  };
}"""
"""How far the audit card scrolls sideways, and each event's height and whether its details are
inside the card (not scrolled out of view)."""

LABELS = """(cells) => cells.map((cell) => getComputedStyle(cell, "::before").content)"""
"""The label each cell shows before its content ("none": none)."""


@pytest.mark.parametrize("language", ["en", "de"])
def test_on_a_phone_each_audit_event_is_readable_without_blank_screens(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    dashboard = served_offline_dashboard
    month_in_use(dashboard)  # keys made, budgets and rate limits set: audit events
    t = labels(language)  # type: ignore[arg-type]
    speak(page, dashboard, language)
    page.set_viewport_size(PHONE)
    log_in(page, dashboard)
    audit = page.locator("#w-audit")
    audit.scroll_into_view_if_needed()
    audit.screenshot(path=str(tmp_path / f"{language}-390-audit.png"))
    found = page.evaluate(ROWS)
    assert len(found["rows"]) >= 5
    assert found["sideways"] <= 0, found
    for row in found["rows"]:
        assert row["details_inside"], row
        assert row["details_width"] > PHONE["width"] / 2, row  # across the card, not a sliver
        assert row["height"] < PHONE["height"] / 2, row  # no screens of blank space
    shown = [
        label.strip('"')
        for label in audit.locator("tbody tr").first.locator("td").evaluate_all(LABELS)
    ]
    assert shown == [t["time"], t["actor"], t["action"], t["target"], t["details"]]

    page.set_viewport_size(WIDE)  # a table, its header above its columns
    audit.screenshot(path=str(tmp_path / f"{language}-1280-audit.png"))
    header = audit.locator("thead")
    assert header.is_visible() and t["details"] in header.inner_text()
    assert set(audit.locator("tbody tr").first.locator("td").evaluate_all(LABELS)) == {"none"}
