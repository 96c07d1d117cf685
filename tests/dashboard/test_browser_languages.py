"""In a real browser (Debian's Chromium driven by Playwright), in German and in English: no error
on the first visit, a failed login, error pages (also for a path the dashboard does not have),
the lifecycle confirmation and the budget form say everything in the page's language, and a
budget is read as the page's language writes amounts. Screenshots of each step go to the test's
temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.traffic import two_refusals

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

SAYS = {
    "en": {
        "login": "Log in",
        "wrong_key": "This key is unknown or revoked.",
        "nope": "There is no such page in the dashboard.",
        "month": "2026-13 is not a month of the form YYYY-MM.",
        "lifecycle": "Move model tiny-small from approved to deprecated?",
        "typed": "1,500",
        "budget": "Set the monthly budget of legal to €1,500.00?",
        "shown": "€1,500.00",
        "ambiguous": "1.500 is ambiguous",
        "nobody": "no department (refused before the key was known)",
        "bad_key": "no, unknown or revoked API key",
        "twice": "a JSON key named twice in the body",
    },
    "de": {
        "login": "Anmelden",
        "wrong_key": "Dieser Schlüssel ist unbekannt oder gesperrt.",
        "nope": "Diese Seite gibt es im Dashboard nicht.",
        "month": "2026-13 ist kein Monat der Form JJJJ-MM.",
        "lifecycle": "Modell tiny-small von freigegeben auf abgekündigt ändern?",
        "typed": "1.500",
        "budget": "Monatsbudget von legal auf 1.500,00 € setzen?",
        "shown": "1.500,00 €",
        "ambiguous": "1,500 ist mehrdeutig",
        "nobody": "kein Bereich (abgewiesen, bevor der Schlüssel bekannt war)",
        "bad_key": "kein, unbekannter oder gesperrter API-Schlüssel",
        "twice": "JSON-Schlüssel im Body doppelt angegeben",
    },
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_everything_a_user_sees_is_in_the_page_language(
    served_offline_dashboard: DashboardGateway, page: Page, language: str, tmp_path: Path
) -> None:
    says, base = SAYS[language], served_offline_dashboard.url
    page.context.add_cookies(
        [{"name": "stw_lang", "value": language, "url": base.removesuffix("/dashboard") + "/"}]
    )

    def shot(name: str) -> str:
        page.screenshot(path=str(tmp_path / f"{language}-{name}.png"), full_page=True)
        return page.inner_text("main")

    # two refusals: one before the key was known (no department), one of research's key
    two_refusals(served_offline_dashboard)

    page.goto(base)  # the first visit: the login form, and no error yet
    main = shot("login")
    assert page.locator("[role=alert]").count() == 0 and says["login"] in main
    page.fill("input[name=key]", "sk-stw-not-a-key-we-know")
    page.click("button[type=submit]")
    assert says["wrong_key"] in shot("login-wrong-key")
    page.fill("input[name=key]", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(base)

    refusals = page.locator("#w-refusals")
    refusals.screenshot(path=str(tmp_path / f"{language}-refusals.png"))
    shown = refusals.inner_text()
    assert says["nobody"] in shown and says["bad_key"] in shown and says["twice"] in shown
    usage = page.locator("#w-usage")
    usage.screenshot(path=str(tmp_path / f"{language}-usage-by-department.png"))
    assert says["nobody"] in usage.inner_text()  # the unauthenticated refusal's row

    answer = page.goto(base + "/nope")
    assert answer is not None and answer.status == 404
    assert says["nope"] in shot("404") and "{" not in page.inner_text("main")
    page.goto(base + "?month=2026-13")
    assert says["month"] in shot("400")

    page.goto(base + "/models/tiny-small")
    page.select_option("#m-actions select[name=state]", "deprecated")
    page.fill("#m-actions input[name=reason]", "superseded")
    page.click("#m-actions button[type=submit]")
    assert says["lifecycle"] in shot("lifecycle-confirm")

    page.goto(base + "/departments/legal")
    page.fill("#d-budget input[name=monthly_budget]", says["typed"])
    page.fill("#d-budget input[name=reason]", "pilot budget")
    shot("budget-form")
    page.click("#d-budget button[type=submit]")
    assert says["budget"] in shot("budget-confirm")
    page.click("button.danger")
    assert says["shown"] in page.inner_text("#d-budget")
    shot("budget-set")
    ambiguous = SAYS["de" if language == "en" else "en"]["typed"]  # the other language's 1500
    page.fill("#d-budget input[name=monthly_budget]", ambiguous)
    page.fill("#d-budget input[name=reason]", "pilot budget")
    page.click("#d-budget button[type=submit]")
    assert says["ambiguous"] in shot("budget-ambiguous")
