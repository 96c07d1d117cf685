"""What the browser tests (``test_browser_*.py``, Playwright driving Chromium) share: logging in
(as the admin, or with another key), and the language a page is asked in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway

if TYPE_CHECKING:
    from playwright.sync_api import Page


def log_in(page: Page, dashboard: DashboardGateway, key: str = ADMIN_KEY, lands: str = "") -> None:
    """Log in with ``key`` (the admin's) on the login page and land on the page ``lands`` (a
    path below the dashboard; the overview)."""
    page.goto(dashboard.url + "/login")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(dashboard.url + lands)


def speak(page: Page, dashboard: DashboardGateway, language: str) -> None:
    """Ask every page in ``language`` (the language switch's cookie)."""
    root = dashboard.url.removesuffix("/dashboard") + "/"
    page.context.add_cookies([{"name": "stw_lang", "value": language, "url": root}])
