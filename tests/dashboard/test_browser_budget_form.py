"""The budget form read by what the user changed, in a real browser (Debian's Chromium driven by
Playwright) at 1280 px, in English and German (``dashboard.budget_form``): with no budget in
force the box "unlimited" is ticked, and an amount typed with it still ticked is the new budget
(it was refused); with a budget in force, ticking the box and leaving the amount as it was removes
the budget; ticking it and changing the amount too is refused and changes nothing. Screenshots of
each step go to the test's folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.formats import Language
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

SAYS = {
    "en": {
        "first": "2.5", "set_first": "Set the monthly budget of legal to €2.50?",
        "first_shown": "2.50", "second_shown": "4.00",
        "second": "4", "changed": "6", "set_second": "Set the monthly budget of legal to €4.00?",
        "remove": "Remove the monthly budget of legal (unlimited)?",
        "both": "Monthly budget: choose either an amount or unlimited, not both.",
        "nothing": "Nothing was changed.", "done": "Done; recorded in the audit log.",
    },
    "de": {
        "first": "2,5", "set_first": "Monatsbudget von legal auf 2,50 € setzen?",
        "first_shown": "2,50", "second_shown": "4,00",
        "second": "4", "changed": "6", "set_second": "Monatsbudget von legal auf 4,00 € setzen?",
        "remove": "Monatsbudget von legal aufheben (unbegrenzt)?",
        "both": "Monatsbudget: bitte entweder einen Betrag oder unbegrenzt wählen, nicht beides.",
        "nothing": "Es wurde nichts geändert.", "done": "Erledigt und im Audit-Protokoll vermerkt.",
    },
}  # fmt: skip
FORM = "#d-budget"
BOX = f"{FORM} input[name=unlimited]"
AMOUNT = f"{FORM} input[name=monthly_budget]"


def shown(page: Page, selector: str) -> str:
    """The text of ``selector`` on one line, no-break spaces as spaces."""
    return " ".join(page.locator(selector).inner_text().replace("\u00a0", " ").split())


def submit(page: Page, reason: str) -> None:
    page.fill(f"{FORM} input[name=reason]", reason)
    page.click(f"{FORM} button[type=submit]")


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_budget_form_is_read_by_what_the_user_changed(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language, tmp_path: Path
) -> None:
    dashboard = served_offline_dashboard
    says = SAYS[language]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, dashboard)
    speak(page, dashboard, language)

    def shot(name: str) -> None:
        page.screenshot(path=str(tmp_path / f"{language}-1280-{name}.png"), full_page=True)

    department = f"{dashboard.url}/departments/legal"
    page.goto(department)
    assert page.locator(BOX).is_checked() and page.locator(AMOUNT).input_value() == ""

    # no budget in force, the box ticked by the page: the amount typed is the new budget
    page.fill(AMOUNT, says["first"])
    assert page.locator(BOX).is_checked()
    shot("typed-while-unlimited")
    submit(page, "first budget")
    shot("confirm-first")
    assert shown(page, "main p.question") == says["set_first"]
    page.click("button.danger")
    assert shown(page, "main p.notice") == says["done"]
    assert not page.locator(BOX).is_checked()
    assert page.locator(AMOUNT).input_value() == says["first_shown"]  # as the page writes it

    # a budget in force: the box ticked, the amount left as it was, is unlimited
    page.check(BOX)
    submit(page, "no budget after all")
    shot("confirm-unlimited")
    assert shown(page, "main p.question") == says["remove"]
    page.click("button.danger")
    assert page.locator(BOX).is_checked() and page.locator(AMOUNT).input_value() == ""

    # a budget in force, the box ticked and the amount changed too: which one? refused
    page.fill(AMOUNT, says["second"])
    submit(page, "second budget")
    assert shown(page, "main p.question") == says["set_second"]
    page.click("button.danger")
    page.check(BOX)
    page.fill(AMOUNT, says["changed"])
    submit(page, "both at once")
    shot("refused-both")
    assert says["both"] in shown(page, "main") and says["nothing"] in shown(page, "main")
    page.goto(department)
    assert not page.locator(BOX).is_checked()
    assert page.locator(AMOUNT).input_value() == says["second_shown"]  # unchanged
