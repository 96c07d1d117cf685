"""The router-learning page's card "Cost of shadow grading" at 1280 px, in English and German: it
says which requests its share is of, that its rate is per gateway process with half kept for
unfamiliar prompts (walk10 finding 4), and fits its box. A screenshot of the card and of the
page is left in the test's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.learning import learning_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

SAYS = {
    "en": (
        "Grades unfamiliar prompts first, and 25 % of the routed requests with familiar prompts"
        " · at most 6 per minute per gateway process, half of them kept for unfamiliar prompts",
        "Each gateway process has its own rate: with several replicas, their rates add up.",
    ),
    "de": (
        "Bewertet ungewohnte Prompts zuerst und 25 % der gerouteten Anfragen mit gewohnten"
        " Prompts · höchstens 6 pro Minute je Gateway-Prozess, die Hälfte davon für ungewohnte"
        " Prompts reserviert",
        "Jeder Gateway-Prozess hat seine eigene Rate: bei mehreren Replikaten addieren sie sich.",
    ),
}


@pytest.fixture
def learning_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    with learning_gateway(tmp_path) as dashboard:
        yield dashboard


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_shadow_grading_card_says_what_is_graded_and_at_what_rate(
    learning_dashboard: DashboardGateway, page: Page, language: str, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, learning_dashboard)
    speak(page, learning_dashboard, language)
    page.goto(learning_dashboard.url + "/learning")
    card = page.locator("#l-shadow")
    text = " ".join(card.inner_text().split())
    pick, hint = SAYS[language]
    assert pick in text and hint in text
    assert card.evaluate("c => c.scrollWidth <= c.clientWidth")
    card.screenshot(path=str(tmp_path / f"{language}-1280-shadow-card.png"))
    page.screenshot(path=str(tmp_path / f"{language}-1280-learning.png"), full_page=True)
