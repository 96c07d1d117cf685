"""What the browser tests (``test_browser_*.py``, Playwright driving Chromium) share: logging in
as the admin, and the language a page is asked in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway

if TYPE_CHECKING:
    from playwright.sync_api import Page


def log_in(page: Page, dashboard: DashboardGateway) -> None:
    """Log in as the admin on the login page and land on the overview."""
    page.goto(dashboard.url + "/login")
    page.fill("input[name=key]", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(dashboard.url)


def speak(page: Page, dashboard: DashboardGateway, language: str) -> None:
    """Ask every page in ``language`` (the language switch's cookie)."""
    root = dashboard.url.removesuffix("/dashboard") + "/"
    page.context.add_cookies([{"name": "stw_lang", "value": language, "url": root}])
