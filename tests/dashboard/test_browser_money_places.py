"""The money of a page's usage tables, in a real browser (Chromium driven by Playwright), in
English and German: the rows and their total are written with one number of decimals, the
fewest that show each amount exactly (``Formatter.places``), so the rows add up to the total
as shown. walk27 F14: two significant digits each made €0.00014 + €0.00011 beside a total of
€0.00024, and dropped trailing zeros (``0,0008 €`` beside ``0,000044 €``)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.formats import NBSP
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.traffic import record, served, wait_for_usage

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

# (department, key, model, cost in micro-units): research 100 + 36 = 136, legal 80 + 28 = 108
SPENT = [
    ("research", "research-1", "tiny-small", 100),
    ("research", "research-2", "tiny-large", 36),
    ("legal", "legal-1", "tiny-small", 80),
    ("legal", "legal-1", "tiny-large", 28),
]


def amount(text: str, language: str) -> Decimal:
    """The amount a cell writes (``€0.000136``, ``0,000136 €``)."""
    plain = text.replace("€", "").replace(NBSP, "").strip()
    if language == "de":
        plain = plain.replace(".", "").replace(",", ".")
    return Decimal(plain.replace(",", ""))


def costs(page: Page, table: str) -> dict[str, str]:
    """The cost column of a usage table (its fourth column), by the row's first cell."""
    rows = page.locator(f"{table} tbody tr").all()
    return {r.locator("td").nth(0).inner_text(): r.locator("td").nth(3).inner_text() for r in rows}


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_rows_add_up_to_the_total_as_shown(
    served_offline_dashboard: DashboardGateway, page: Page, language: str, tmp_path: Path
) -> None:
    dashboard = served_offline_dashboard
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            replace(served(config, department=d, key_id=k, model=m), cost_micro=cost)
            for d, k, m, cost in SPENT
        ],
    )
    wait_for_usage(dashboard, len(SPENT))
    euro = (lambda x: f"{x.replace('.', ',')}{NBSP}€") if language == "de" else "€{}".format
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.screenshot(path=tmp_path / f"overview-{language}.png", full_page=True)
    shown = costs(page, "#w-usage table.num")
    assert shown == {"research": euro("0.000136"), "legal": euro("0.000108")}
    total = page.locator("#w-usage p.total").inner_text()
    assert f" · {euro('0.000244')} · " in total, total
    assert sum(amount(v, language) for v in shown.values()) == Decimal("0.000244")

    page.goto(f"{dashboard.url}/departments/legal")
    page.screenshot(path=tmp_path / f"legal-{language}.png", full_page=True)
    by_model = costs(page, "#d-usage .split table.num")
    assert by_model == {"tiny-small": euro("0.000080"), "tiny-large": euro("0.000028")}
    kpi = page.locator("#d-usage .kpis div").nth(2).locator(".k").inner_text()
    assert kpi == euro("0.000108")
    assert sum(amount(v, language) for v in by_model.values()) == amount(kpi, language)
    page.goto(f"{dashboard.url}/departments/research")
    by_key = costs(page, "#d-usage > table.num")
    assert by_key == {"research-1": euro("0.000100"), "research-2": euro("0.000036")}
