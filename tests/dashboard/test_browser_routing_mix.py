"""What an operator reads off the dashboard after a month with shadow grading on, in a real browser
(Debian's Chromium driven by Playwright) at 1280 pixels, in English and German: the routing mix
shows the router's choices only (not shadow grading's reference and judge calls, not requests
that named their model, which it counts apart), while the usage figures keep charging shadow
grading to its account; consent is not "granted" for a model without a data owner; a budget with
money spent is never "0.0 %" used; and the lifecycle history's header is a header (the budget
form of a department without a budget: ``test_browser_budget_form.py``). Screenshots go to the
test's folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import httpx
import pytest

from stellwerk.config.schema import StellwerkConfig
from stellwerk.dashboard.formats import DASH
from stellwerk.ledger.record import UsageRecord
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import (
    ADMIN_KEY,
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.dashboard.learning import ACCOUNT, with_learning
from tests.dashboard.traffic import record, served
from tests.fixtures.gateway import running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page


class Says(TypedDict):
    """What the pages say, in one language."""

    left_out: str
    sizes: str
    no_owner: str
    granted: str
    history: list[str]
    used: str


SAYS: dict[str, Says] = {
    "en": {
        "left_out": "Not counted, as the router did not choose their model: 2 requests that"
        " named a model · 5 shadow-grading calls",
        "sizes": "by size class: small 75 % medium 25 %",
        "no_owner": f"{DASH} (no data owner)",
        "granted": "granted",
        "history": ["Time", "Who", "State", "Reason"],
        "used": "Budget used: < 0.1 %",
    },
    "de": {
        "left_out": "Nicht gezählt, da der Router ihr Modell nicht gewählt hat: 2 Anfragen mit"
        " benanntem Modell · 5 Aufrufe der Schattenbewertung",
        "sizes": "nach Größenklasse: klein 75 % mittel 25 %",
        "no_owner": f"{DASH} (kein Datenverantwortlicher)",
        "granted": "erteilt",
        "history": ["Zeit", "Wer", "Status", "Begründung"],
        "used": "Budget verbraucht: < 0,1 %",
    },
}


def month_of_traffic(config: StellwerkConfig) -> list[UsageRecord]:
    """As in the walk-through: the router chose tiny-small three times and tiny-medium once;
    research named tiny-medium twice; shadow grading asked tiny-large five times (reference and
    judge), charged to its account. The router never chose tiny-large."""

    def routed(model: str) -> UsageRecord:
        return served(config, department="research", key_id="research-1", model=model)

    shadow = served(config, department=ACCOUNT, key_id="shadow", model="tiny-large", routed=False)
    named = served(
        config, department="research", key_id="research-1", model="tiny-medium", routed=False
    )
    return [
        *(routed("tiny-small") for _ in range(3)),
        routed("tiny-medium"),
        named,
        replace(named, request_id="named-2"),
        *(replace(shadow, request_id=f"shadow-{i}", endpoint="shadow") for i in range(5)),
    ]


@pytest.fixture
def shadowed_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    """The dashboard (backend down) with shadow grading on, charged to its own account."""
    raw = with_learning(dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}"))
    key_id, key = seed(raw)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key)


def admin_call(dashboard: DashboardGateway, method: str, path: str, body: object) -> None:
    answer = httpx.request(
        method,
        f"{dashboard.gateway.url}/admin{path}",
        json=body,
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def text(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text().replace("\u00a0", " ")


def test_the_routing_mix_shows_the_routers_choices_and_the_figures_read_right(
    shadowed_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    dashboard = shadowed_dashboard
    record(dashboard, month_of_traffic(dashboard.gateway.config))
    admin_call(
        dashboard, "PUT", "/limits/department/research", {"monthly_budget": 10, "reason": "r"}
    )
    admin_call(
        dashboard,
        "POST",
        "/models/tiny-medium/lifecycle",
        {"state": "approved", "reason": "evaluation passed"},
    )
    says = SAYS[language]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, dashboard)
    speak(page, dashboard, language)

    def shot(name: str, selector: str) -> None:
        page.locator(selector).screenshot(path=str(tmp_path / f"{language}-1280-{name}.png"))

    page.goto(dashboard.url)
    shot("mix", "#w-mix")
    mix = text(page, "#w-mix")
    # the router never chose tiny-large: it is no band of the mix, and "large" no size class
    assert "tiny-large" not in mix and "tiny-small" in mix and "tiny-medium" in mix
    assert re.sub(r"\s+", " ", text(page, "#w-mix p.sizes")).strip() == says["sizes"]
    assert re.sub(r"\s+", " ", text(page, "#w-mix-left-out")).strip() == says["left_out"]
    assert page.locator("#w-mix-left-out a").get_attribute("href", timeout=1000) is not None
    # the usage figures still count shadow grading, charged to its account: 5 requests
    usage = text(page, "#w-usage")
    assert re.search(rf"{ACCOUNT}\s+5\s", usage), usage
    assert re.search(r"research\s+6\s", usage), usage
    # research spent €0.0024 of €10 (0.024 %): not "0.0 %"
    shot("budgets", "#w-budgets")
    row = page.locator("#w-budgets tr", has_text="research").inner_text().replace("\u00a0", " ")
    assert "< 0.1 %" in row if language == "en" else "< 0,1 %" in row, row
    assert "0.0 %" not in row and "0,0 %" not in row

    # the model the router never chose: all its requests are shadow grading's, none routed
    page.goto(dashboard.url + "/models/tiny-large")
    shot("model-facts", "#m-facts")
    assert text(page, "#m-consent-state") == says["no_owner"]
    assert re.search(r"\n5\n", text(page, "#m-usage"))  # its requests (usage)
    assert re.search(r"\n0 %\n", text(page, "#m-usage"))  # its share of the routed requests
    page.goto(dashboard.url + "/models/tiny-small")
    assert text(page, "#m-consent-state") == says["granted"]  # legal is its data owner
    page.goto(dashboard.url + "/models/tiny-medium")
    shot("history", "#m-history")
    headers = page.locator("#m-history th").all_inner_texts()
    assert headers == says["history"]
    assert "evaluation passed" in text(page, "#m-history")

    page.goto(dashboard.url + "/departments/research")
    shot("research-budget", "#d-budget")
    assert text(page, "#d-budget").count(says["used"]) == 1
    assert not page.locator("#d-budget input[name=unlimited]").is_checked()
    budget = page.locator("#d-budget input[name=monthly_budget]").input_value()
    assert budget == ("10.00" if language == "en" else "10,00")
