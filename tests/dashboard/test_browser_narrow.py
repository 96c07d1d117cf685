"""At 800 pixels (a tablet, a split screen), in English and German (walk 12): the action of a
table's row, withdrawing a consent or revoking a key, was cut at its card's edge (the card scrolled
the table sideways, with no hint but a faint shadow): on the consent page the English button read
"Withdr" / "consen" and the German one was not seen at all, a department's revoke form read
"Begrü" + "Sperr"; the overview's budgets lost their last column ("Durch Limits abgewiesen", its
numbers hidden), the router-learning page its gains. Below 1280 px a row's form goes under its
row, across the table; below 1024 px gutters, cells and meters are narrower and a moment's date
may go above its time. Every card of every page now holds its table at 800 px; the buttons are
inside their card and the window, and a click reaches them (the point at their middle is theirs).
Screenshots go to the test's temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from stellwerk.dashboard.i18n import labels
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.learning import learning_gateway
from tests.dashboard.test_browser_layout import ADMIN, make_keys
from tests.dashboard.traffic import chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = [pytest.mark.slow]

NARROW = {"width": 800, "height": 900}

CUT = """() => [...document.querySelectorAll("main .card")]
  .filter((card) => card.scrollWidth > card.clientWidth)
  .map((card) => ({card: card.id, over: card.scrollWidth - card.clientWidth}))"""
"""The cards whose content is wider than their box: the card cuts it and scrolls it sideways."""

REACHABLE = """(element) => {
  const first = element.getBoundingClientRect();
  window.scrollTo(0, window.scrollY + first.top - 200);  // down to it, never sideways
  const box = element.getBoundingClientRect();
  const card = element.closest(".card");
  const style = getComputedStyle(card);
  const edge = card.getBoundingClientRect();
  const left = edge.left + parseFloat(style.borderLeftWidth);
  const right = edge.right - parseFloat(style.borderRightWidth);
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {text: element.textContent || element.placeholder,
          in_card: box.left >= left - 0.5 && box.right <= right + 0.5,
          in_window: box.left >= 0 && box.right <= document.documentElement.clientWidth + 0.5,
          hit: hit !== null && element.contains(hit),
          card_scrolled: card.scrollLeft};
}"""
"""Whether a form's button or field is inside its card and the window, and a click at its middle
reaches it, after scrolling the page down to it (never sideways)."""


def reachable(locator: Locator) -> list[dict[str, Any]]:
    """Every element of ``locator`` that is not wholly inside its card and the window or that a
    click at its middle would not reach."""
    found = [element.evaluate(REACHABLE) for element in locator.all()]
    assert found
    return [f for f in found if not (f["in_card"] and f["in_window"] and f["hit"])]


def shot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_800_px_the_consent_pages_withdraw_button_is_seen_and_clicked(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """tiny-small's data owner is legal: its row has the withdraw form, whose button was cut
    ("Withdr" / "consen") or, in German, out of the card altogether."""
    dashboard = served_offline_dashboard
    page.set_viewport_size(NARROW)
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/consent")
    shot(page, tmp_path, f"consent-{language}-800")
    row = page.locator("#c-tiny-small")
    button = row.locator("form button")
    assert " ".join(button.inner_text().split()) == labels(language)["withdraw_consent"]
    assert reachable(button) == []
    assert reachable(row.locator("input[name=reason]")) == []
    assert page.evaluate(CUT) == []
    row.locator("input[name=reason]").fill("licence review")
    button.click()  # the confirmation page: nothing changes until it is confirmed
    page.wait_for_url("**/models/tiny-small/consent")
    assert page.locator(".question").count() == 1


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_800_px_a_departments_revoke_buttons_are_seen_and_clicked(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """legal's keys made through the admin API (an owner's, a metrics key, a user's of its use
    case): each row's revoke form was cut at the card's edge ("Begrü" + "Sperr")."""
    dashboard = served_offline_dashboard
    made = make_keys(
        dashboard,
        {"department": "legal", "role": "owner"},
        {"department": "legal", "role": "metrics"},
        {"department": "legal", "use_case": "contract-review"},
    )
    page.set_viewport_size(NARROW)
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/departments/legal")
    shot(page, tmp_path, f"departments-legal-{language}-800")
    buttons = page.locator("#d-keys form button")
    assert buttons.count() == len(made)
    assert reachable(buttons) == []
    assert reachable(page.locator("#d-keys input[name=reason]")) == []
    assert page.evaluate(CUT) == []
    row = page.locator("#d-keys tr", has_text=made[0])
    row.locator("input[name=reason]").fill("left the team")
    row.locator("form button").click()
    page.wait_for_url(f"**/keys/{made[0]}/revoke")
    assert page.locator(".question").count() == 1


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_800_px_no_card_cuts_a_column(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """Every page of the dashboard, with a month's traffic, budgets in use and keys to revoke:
    no card is wider than its box; the overview's budgets show their last column (refused by
    limits) inside the card, with a budget's meter in the row."""
    dashboard = served_offline_dashboard
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department=d, key_id=k, model=m)
            for d, k in (("legal", "legal-1"), ("research", "research-1"))
            for m in ("tiny-small", "tiny-medium", "tiny-large")
        ],
    )
    for _ in range(2):  # tiny-medium is in review: its page has the refusals that named it
        assert chat(dashboard, KEYS["research"], "tiny-medium").status_code == 403
    wait_for_usage(dashboard, 8)
    make_keys(dashboard, {"department": "legal", "role": "owner"}, {"department": "research"})
    for department, budget in (("legal", "25"), ("research", "1500.5")):
        limits = {"monthly_budget": budget, "requests_per_minute": 60, "reason": "walk12"}
        answer = dashboard.gateway.put(
            f"/admin/limits/department/{department}", json=limits, headers=ADMIN, timeout=30
        )
        assert answer.status_code == 200, answer.text
    page.set_viewport_size(NARROW)
    speak(page, dashboard, language)
    log_in(page, dashboard)
    pages = [
        "",
        "/consent",
        "/departments/legal",
        "/departments/research",
        "/departments/it",
        "/models/tiny-small",
        "/models/tiny-medium",
        "/models/tiny-large",
    ]
    cut = {}
    for path in pages:
        page.goto(dashboard.url + path)
        shot(page, tmp_path, f"{language}-800{path.replace('/', '-') or '-overview'}")
        if found := page.evaluate(CUT):
            cut[path] = found
    assert cut == {}
    page.goto(dashboard.url + "/models/tiny-medium")
    assert page.locator("#m-refusals").count() == 1
    page.goto(dashboard.url)
    assert reachable(page.locator("#w-budgets tbody td:last-child")) == []


@pytest.fixture
def learning_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    with learning_gateway(tmp_path, rollbacks=True) as dashboard:
        yield dashboard


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_800_px_the_learning_pages_tables_fit_their_cards(
    learning_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """A ledger that has learned and rolled back: the departments' gains, the router versions
    (with their routing gains) and the adaptation runs (their gains and forms were cut at the
    card's edge in German)."""
    page.set_viewport_size(NARROW)
    speak(page, learning_dashboard, language)
    log_in(page, learning_dashboard)
    page.goto(learning_dashboard.url + "/learning")
    shot(page, tmp_path, f"learning-{language}-800")
    assert page.evaluate(CUT) == []
    assert page.locator("#l-departments td.dept-gain").count() > 0
    assert page.locator("#l-runs tbody tr").count() > 0
