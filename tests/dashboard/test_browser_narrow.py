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

from stellwerk.dashboard.formats import Language
from stellwerk.dashboard.i18n import labels
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import (
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.dashboard.learning import learning_gateway
from tests.dashboard.test_browser_layout import ADMIN, ID, ON_LINES, make_keys
from tests.dashboard.traffic import chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS, running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, ViewportSize

pytestmark = [pytest.mark.slow]

NARROW: ViewportSize = {"width": 800, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

CUT = """() => [...document.querySelectorAll("main .card")]
  .filter((card) => card.scrollWidth > card.clientWidth)
  .map((card) => ({card: card.id, over: card.scrollWidth - card.clientWidth}))"""
"""The cards whose content is wider than their box: the card cuts it and scrolls it sideways."""

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
"""How far the page scrolls sideways, in pixels (0: it does not)."""

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


def fits(page: Page, window: ViewportSize) -> None:
    """At 800 px no card cuts its table; on a phone a table may scroll inside its card (its
    form and what it acts on are checked in view), but the page never scrolls sideways."""
    if window == NARROW:
        assert page.evaluate(CUT) == []
    assert page.evaluate(SIDEWAYS) == 0


@pytest.mark.parametrize("window", [NARROW, PHONE], ids=["800", "390"])
@pytest.mark.parametrize("language", ["en", "de"])
def test_narrow_the_consent_pages_withdraw_button_is_seen_and_clicked(
    served_offline_dashboard: DashboardGateway,
    page: Page,
    tmp_path: Path,
    language: Language,
    window: ViewportSize,
) -> None:
    """tiny-small's data owner is legal: its row has the withdraw form, whose button was cut
    ("Withdr" / "consen") or, in German, out of the card altogether at 800 px. On a phone the
    button was in view and the consent state it changes (the fourth column) was not (walk 15,
    LOW-8): the state is now seen beside the model, above its button."""
    dashboard = served_offline_dashboard
    page.set_viewport_size(window)
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/consent")
    shot(page, tmp_path, f"consent-{language}-{window['width']}")
    row = page.locator("#c-tiny-small")
    button = row.locator("form button")
    assert " ".join(button.inner_text().split()) == labels(language)["withdraw_consent"]
    assert reachable(button) == []
    assert reachable(row.locator("input[name=reason]")) == []
    state = row.locator("td.consent-state")
    assert " ".join(state.inner_text().split()) == labels(language)["consent_yes"]
    assert reachable(state) == []
    fits(page, window)
    row.locator("input[name=reason]").fill("licence review")
    button.click()  # the confirmation page: nothing changes until it is confirmed
    page.wait_for_url("**/models/tiny-small/consent")
    assert page.locator(".question").count() == 1


@pytest.mark.parametrize("window", [NARROW, PHONE], ids=["800", "390"])
@pytest.mark.parametrize("language", ["en", "de"])
def test_narrow_a_departments_revoke_buttons_are_seen_and_clicked(
    served_offline_dashboard: DashboardGateway,
    page: Page,
    tmp_path: Path,
    language: Language,
    window: ViewportSize,
) -> None:
    """legal's keys made through the admin API (an owner's, a metrics key, a user's of its use
    case): each row's revoke form was cut at the card's edge ("Begrü" + "Sperr") at 800 px, and
    on a phone its button was past the card's edge ("Re" seen, walk 15)."""
    dashboard = served_offline_dashboard
    made = make_keys(
        dashboard,
        {"department": "legal", "role": "owner"},
        {"department": "legal", "role": "metrics"},
        {"department": "legal", "use_case": "contract-review"},
    )
    page.set_viewport_size(window)
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/departments/legal")
    shot(page, tmp_path, f"departments-legal-{language}-{window['width']}")
    buttons = page.locator("#d-keys form button")
    assert buttons.count() == len(made)
    assert reachable(buttons) == []
    assert reachable(page.locator("#d-keys input[name=reason]")) == []
    fits(page, window)
    row = page.locator("#d-keys tr", has_text=made[0])
    row.locator("input[name=reason]").fill("left the team")
    row.locator("form button").click()
    page.wait_for_url(f"**/keys/{made[0]}/revoke")
    assert page.locator(".question").count() == 1


PAGES = [
    "",
    "/consent",
    "/departments/legal",
    "/departments/research",
    "/departments/it",
    "/models/tiny-small",
    "/models/tiny-medium",
    "/models/tiny-large",
    "/learning",
]
"""Every page of the dashboard (tiny-large: high risk, facts missing; tiny-medium: refusals that
named it; tiny-small: legal's consent)."""


def month_in_use(dashboard: DashboardGateway) -> None:
    """A month's traffic (of a key made through the admin API too: ``key-...`` in the usage by
    key), budgets in use and keys to revoke (one with a use case)."""
    *_, made = make_keys(
        dashboard,
        {"department": "legal", "role": "owner"},
        {"department": "legal", "use_case": "contract-review"},
        {"department": "research"},
    )
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department=d, key_id=k, model=m)
            for d, k in (("legal", "legal-1"), ("research", "research-1"), ("research", made))
            for m in ("tiny-small", "tiny-medium", "tiny-large")
        ],
    )
    for _ in range(2):  # tiny-medium is in review: its page has the refusals that named it
        assert chat(dashboard, KEYS["research"], "tiny-medium").status_code == 404  # in review
    wait_for_usage(dashboard, 11)
    for department, budget in (("legal", "25"), ("research", "1500.5")):
        limits = {"monthly_budget": budget, "requests_per_minute": 60, "reason": "walk12"}
        answer = dashboard.gateway.put(
            f"/admin/limits/department/{department}", json=limits, headers=ADMIN, timeout=30
        )
        assert answer.status_code == 200, answer.text


def walk(
    page: Page, dashboard: DashboardGateway, tmp_path: Path, name: str, check: str
) -> dict[str, Any]:
    """Each of ``PAGES``, its screenshot in ``tmp_path`` and what ``check`` finds on it (where it
    finds anything)."""
    found: dict[str, Any] = {}
    for path in PAGES:
        page.goto(dashboard.url + path)
        shot(page, tmp_path, f"{name}{path.replace('/', '-') or '-overview'}")
        if result := page.evaluate(check):
            found[path] = result
    return found


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_800_px_no_card_cuts_a_column(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: Language
) -> None:
    """Every page of the dashboard, with a month's traffic, budgets in use and keys to revoke:
    no card is wider than its box; the overview's budgets show their last column (refused by
    limits) inside the card, with a budget's meter in the row."""
    dashboard = served_offline_dashboard
    month_in_use(dashboard)
    page.set_viewport_size(NARROW)
    speak(page, dashboard, language)
    log_in(page, dashboard)
    assert walk(page, dashboard, tmp_path, f"{language}-800", CUT) == {}
    page.goto(dashboard.url + "/models/tiny-medium")
    assert page.locator("#m-refusals").count() == 1
    page.goto(dashboard.url)
    assert reachable(page.locator("#w-budgets tbody td:last-child")) == []


@pytest.fixture
def phone_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    """``served_offline_dashboard`` whose high-risk tiny-large lacks four of the facts its tier
    requires (as walk 15's hr-z did): its page's badge names them all."""
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    for fact in ("model_card_url", "owner"):
        del raw["models"][2][fact]
    key_id, key = seed(raw)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key)


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_390_px_no_page_scrolls_sideways(
    phone_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: Language
) -> None:
    """A phone held upright (walk 15, LOW-3 and LOW-8): a high-risk model's page with its
    missing facts scrolled sideways (482 px in English, 564 in German: "fehlt: Verantwortliche,
    Modellkarte, ..." on one line). A table may scroll inside its card; the page never does."""
    dashboard = phone_dashboard
    month_in_use(dashboard)
    page.set_viewport_size(PHONE)
    speak(page, dashboard, language)
    log_in(page, dashboard)
    assert page.evaluate("() => document.documentElement.clientWidth") == PHONE["width"]
    assert walk(page, dashboard, tmp_path, f"{language}-390", SIDEWAYS) == {}
    page.goto(dashboard.url + "/departments/research")  # a key's id broke at its hyphen
    ids = page.evaluate(ON_LINES, {"pattern": ID, "within": "#d-usage"})
    assert any(i["text"].startswith("key-") for i in ids)
    assert [i for i in ids if i["lines"] != 1] == []


@pytest.fixture
def learning_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    with learning_gateway(tmp_path, rollbacks=True) as dashboard:
        yield dashboard


@pytest.mark.parametrize("language", ["en", "de"])
def test_at_800_px_the_learning_pages_tables_fit_their_cards(
    learning_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: Language
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
