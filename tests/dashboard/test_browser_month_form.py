"""``?month=`` is read as ``GET /admin/usage?month=`` and ``stellwerk report usage --month`` read
it (one parser, ``ledger.window.Window.month``): ``YYYY-MM`` in the digits 0 to 9, nothing around
it. Blanks and other scripts' digits (fullwidth, Arabic-Indic: ``\\d`` and ``int()`` take them)
showed December with its month written as typed, fullwidth "2026-12" in the cards' titles (walk 19,
D3); now they are a 400 page in the page's language, in a real browser (Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

SAYS = {
    "en": "\u201c{month}\u201d is not a month of the form YYYY-MM, such as 2026-12 (the digits 0"
    " to 9, no spaces).",
    "de": "\u201e{month}\u201c ist kein Monat der Form JJJJ-MM, etwa 2026-12 (die Ziffern 0 bis 9,"
    " ohne Leerzeichen).",
}
MONTHS = [
    " 2026-12",
    "2026-12 ",
    "\uff12\uff10\uff12\uff16-\uff11\uff12",
    "\u0662\u0660\u0662\u0666-12",
]


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_month_in_other_digits_or_with_blanks_is_a_400_in_the_page_language(
    served_offline_dashboard: DashboardGateway, page: Page, language: str, tmp_path: Path
) -> None:
    base = served_offline_dashboard.url
    speak(page, served_offline_dashboard, language)
    log_in(page, served_offline_dashboard)
    for n, month in enumerate(MONTHS):
        for path in ("", "/learning", "/departments/research"):
            answer = page.goto(f"{base}{path}?month={quote(month)}")
            assert answer is not None and answer.status == 400, (path, month)
            main = page.inner_text("main")
            assert SAYS[language].format(month=month) in main, main
        page.screenshot(path=str(tmp_path / f"{language}-{n}.png"), full_page=True)
    answer = page.goto(f"{base}?month=2026-12")  # the month itself, written as it is
    assert answer is not None and answer.status == 200
