"""In a real browser (Debian's Chromium driven by Playwright), in German and in English: no error
on the first visit, a failed login, error pages (also for a path the dashboard does not have),
the lifecycle confirmation and the budget form say everything in the page's language, and a
budget is read as the page's language writes amounts. Screenshots of each step go to the test's
temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.formats import Formatter, Language
from tests.dashboard.browser import log_in, speak
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
        "month": "\u201c2026-13\u201d is not a month of the form YYYY-MM",
        "lifecycle": "Move model tiny-small from approved to deprecated?",
        "typed": "1,500",
        "budget": "Set the monthly budget of legal to €1,500.00?",
        "shown": "€1,500.00",
        "ambiguous": "1.500 is ambiguous",
        "nobody": "no department (refused before the key was known: recorded by earlier versions",
        "bad_key": "no, unknown or revoked API key",
        "twice": "a JSON key named twice in the body",
    },
    "de": {
        "login": "Anmelden",
        "wrong_key": "Dieser Schlüssel ist unbekannt oder gesperrt.",
        "nope": "Diese Seite gibt es im Dashboard nicht.",
        "month": "\u201e2026-13\u201c ist kein Monat der Form JJJJ-MM",
        "lifecycle": "Modell tiny-small von freigegeben auf abgekündigt ändern?",
        "typed": "1.500",
        "budget": "Monatsbudget von legal auf 1.500,00\u00a0€ setzen?",
        "shown": "1.500,00\u00a0€",
        "ambiguous": "1,500 ist mehrdeutig",
        "nobody": "kein Bereich (abgewiesen, bevor der Schlüssel bekannt war: nur von früheren",
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
    page.uncheck("#d-budget input[name=unlimited]")  # no budget in force: ticked
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


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_header_is_one_line_and_its_months_are_in_the_page_language(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language, tmp_path: Path
) -> None:
    """The browser's locale is British English (``en-GB``): the month picker still names the
    months in the page's language, and choosing one shows that month. The header (brand, month,
    languages, links, who is logged in) stays on one line at 1280 and 1400 pixels."""
    base = served_offline_dashboard.url
    page.context.add_cookies(
        [{"name": "stw_lang", "value": language, "url": base.removesuffix("/dashboard") + "/"}]
    )
    page.goto(base)
    page.fill("input[name=key]", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(base)

    fmt = Formatter(language)
    now = datetime.now(UTC)
    this = now.strftime("%Y-%m")
    before = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    picker = page.locator("header select[name=month]")
    assert picker.locator("option:checked").inner_text() == fmt.month(this)
    picker.select_option(before)
    page.click("header form.month button[type=submit]")
    page.wait_for_url(f"{base}?month={before}")
    assert picker.locator("option:checked").inner_text() == fmt.month(before)
    assert fmt.month(before).split()[0] in page.locator("header").inner_text()

    for width in (1280, 1400):
        page.set_viewport_size({"width": width, "height": 900})
        for path in ("", "/learning", "/departments/legal", "/models/tiny-small"):
            page.goto(base + path)
            name = f"{language}-{width}-header{path.replace('/', '-')}.png"
            page.locator("header.top").screenshot(path=str(tmp_path / name))
            brand = page.locator("header .brand").bounding_box()
            nav = page.locator("header nav").bounding_box()
            row = page.locator("header .langs").bounding_box()
            assert brand is not None and nav is not None and row is not None
            # the links beside the brand, not below it, and all of them in one row
            assert nav["y"] < brand["y"] + brand["height"], (width, path)
            assert nav["height"] < 1.5 * row["height"], (width, path)


@pytest.mark.parametrize("language", ["en", "de"])
def test_an_error_page_keeps_the_logged_in_header(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language, tmp_path: Path
) -> None:
    """At 1280 pixels, a 404 (also of a static file), a 400 of a month and an unknown model keep
    the header of the logged-in admin on one line: the month picker where the page shows a
    month, the links, who is logged in, and a log-out button that logs out."""
    dashboard = served_offline_dashboard
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.set_viewport_size({"width": 1280, "height": 900})
    logout = {"en": "Log out", "de": "Abmelden"}[language]
    for path, status, month in (
        ("/nope", 404, False),
        ("/static/nope.css", 404, False),
        ("?month=2026-13", 400, True),
        ("/models/nope", 404, True),
    ):
        answer = page.goto(dashboard.url + path)
        assert answer is not None and answer.status == status, path
        name = f"{language}-1280-error{path.replace('/', '-').replace('?', '-')}.png"
        page.screenshot(path=str(tmp_path / name), full_page=True)
        header = page.locator("header.top")
        assert header.get_by_role("button", name=logout).is_visible(), path
        assert header.locator("a.nav").count() == 2, path  # router learning, consent
        assert (header.locator("select[name=month]").count() == 1) == month, path
        brand = page.locator("header .brand").bounding_box()
        nav = page.locator("header nav").bounding_box()
        row = page.locator("header .langs").bounding_box()
        assert brand is not None and nav is not None and row is not None
        assert nav["y"] < brand["y"] + brand["height"], path
        assert nav["height"] < 1.5 * row["height"], path
    page.locator("header.top").get_by_role("button", name=logout).click()
    page.wait_for_url(dashboard.url + "/login")
