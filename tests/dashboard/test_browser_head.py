"""A department head with a head key in a real browser (Debian's Chromium driven by Playwright),
in English and German, at 1280 px and on a phone (390 px): the login lands on its department's
page, which shows its usage, budget, its keys' own limits and spend, refusals, keys and use
cases with the note that the key may only read, no form and no link to another page; at 1280 px
no card cuts its table, and the page never scrolls sideways. Asking for another department's
page shows the 403 page with its way back. Screenshots go to the test's temporary directory
(``--basetemp`` to keep them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from stellwerk.dashboard.formats import Language
from stellwerk.dashboard.i18n import labels
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.roles import made_key
from tests.dashboard.test_browser_narrow import CUT, PHONE, SIDEWAYS
from tests.dashboard.traffic import chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}


def _admin_api(dashboard: DashboardGateway, method: str, path: str, body: object) -> httpx.Response:
    answer = httpx.request(
        method, dashboard.gateway.url + path, json=body, headers=ADMIN, timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    return answer


def _research_with_figures(dashboard: DashboardGateway) -> str:
    """Research's usage, a refusal, a budget and a key with limits of its own; legal's usage
    beside. Returns a head key of research."""
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department="research", key_id="research-1", model="tiny-small"),
            served(
                config, department="research", key_id=dashboard.stored_key_id, model="tiny-large"
            ),
            served(config, department="legal", key_id="legal-1", model="tiny-small", prompt=90_000),
        ],
    )
    assert chat(dashboard, KEYS["research"], "tiny-medium").status_code == 404  # in review
    wait_for_usage(dashboard, 4)
    limits = {"monthly_budget": 2, "requests_per_minute": 60, "reason": "pilot"}
    _admin_api(dashboard, "PUT", "/admin/limits/department/research", limits)
    key_limits = {"monthly_budget": 0.5, "tokens_per_minute": 20000, "reason": "intern"}
    _admin_api(dashboard, "PUT", f"/admin/limits/key/{dashboard.stored_key_id}", key_limits)
    return made_key(dashboard.gateway, "head", "research", "r")


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_head_sees_its_department_and_no_other_page(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language, tmp_path: Path
) -> None:
    dashboard, t = served_offline_dashboard, labels(language)
    key = _research_with_figures(dashboard)
    home = dashboard.url + "/departments/research"
    speak(page, dashboard, language)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, dashboard, key, "/departments/research")  # a head's home is its department's
    note = t["head_note"].format(department="research")
    for width in (1280, PHONE["width"]):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(home)
        page.screenshot(path=str(tmp_path / f"{language}-{width}-head.png"), full_page=True)
        assert page.locator("#read-only").inner_text() == note
        assert page.locator("main form").count() == 0
        assert (
            page.locator("a[href*='/models/'], a[href$='/consent'], a[href$='/learning']").count()
            == 0
        )
        assert dashboard.stored_key_id in page.locator("#d-budget .key-limits").inner_text()
        assert "legal" not in page.locator("body").inner_text()
        if width == 1280:  # on a phone a table may scroll inside its card; the page never does
            assert page.evaluate(CUT) == []
        assert page.evaluate(SIDEWAYS) == 0, width

    page.goto(dashboard.url + "/departments/legal")
    page.screenshot(
        path=str(tmp_path / f"{language}-{PHONE['width']}-head-refused.png"), full_page=True
    )
    assert t["msg_head_only"] in page.locator("main").inner_text()
    page.click("main a[href='/dashboard/departments/research']")
    page.wait_for_url(home)


def test_its_own_page_spelled_otherwise_leads_to_it_not_to_another_departments_refusal(
    served_offline_dashboard: DashboardGateway, page: Page
) -> None:
    """A bookmark of its page with a slash at the end opens the page (it was the 403 "sees only
    the page of its own department"); its department in another case says that names are
    case-sensitive and links to its page (walk 17, 9)."""
    dashboard, t = served_offline_dashboard, labels("en")
    key = made_key(dashboard.gateway, "head", "research", "r")
    home = dashboard.url + "/departments/research"
    speak(page, dashboard, "en")
    log_in(page, dashboard, key, "/departments/research")
    page.goto(home + "/?month=2026-11")
    assert page.url == home + "?month=2026-11"
    assert page.locator("#read-only").inner_text() == t["head_note"].format(department="research")
    page.goto(dashboard.url + "/departments/RESEARCH")
    said = page.locator("main").inner_text()
    assert t["msg_head_other_case"] in said and t["msg_head_only"] not in said
    page.click("main a[href='/dashboard/departments/research']")
    page.wait_for_url(home)
