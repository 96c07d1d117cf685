"""The data classes on the department page, in a real browser (Debian's Chromium driven by
Playwright) at 1280 px, in English and German: the Keys table shows the class each key's
requests run under (the highest of its own, its use case's and its department's) and the key's
own class when it has one, so an auditor sees a use case raised since a key was made (walk 6o
HIGH-1: the table had no class at all); the Use cases table shows the class a use case's keys
run under at least (the higher of its own and its department's), and its own below where that is
lower (it showed the own class alone, one that never applies)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from stellwerk.dashboard.formats import Language
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.test_browser_layout import BUTTONS_IN_CARDS, PLACEHOLDERS, TABLES_IN_CARDS

if TYPE_CHECKING:
    from playwright.sync_api import Page

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
SAYS = {
    "en": {"header": "Classification", "internal": "internal", "confidential": "confidential",
           "own": "own: internal", "hint": "the highest of the key's own, its use case's",
           "cases_hint": "the higher of the use case's own and its department's",
           "public": "own: public"},
    "de": {"header": "Schutzklasse", "internal": "intern", "confidential": "vertraulich",
           "own": "eigene: intern", "hint": "die höchste aus seiner eigenen, der seines",
           "cases_hint": "die höhere aus seiner eigenen und der seines Bereichs",
           "public": "eigene: öffentlich"},
}  # fmt: skip


def admin(dashboard: DashboardGateway, method: str, path: str, body: dict[str, Any]) -> Any:
    answer = httpx.request(
        method, dashboard.gateway.url + path, json=body, headers=ADMIN, timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_keys_table_shows_each_keys_class_and_its_own(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language, tmp_path: Path
) -> None:
    dashboard = served_offline_dashboard
    says = SAYS[language]
    case = {"department": "research", "use_case": "paper-summaries"}
    follows = admin(dashboard, "POST", "/admin/keys", case)["key_id"]
    raised = admin(dashboard, "POST", "/admin/keys", case | {"classification": "internal"})
    # research and its use case are internal; the use case is raised after the keys were made
    admin(
        dashboard,
        "PUT",
        "/admin/use-cases/paper-summaries",
        {"classification": "confidential", "reason": "unpublished papers"},
    )

    log_in(page, dashboard)
    speak(page, dashboard, language)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(dashboard.url + "/departments/research")
    page.locator("#d-keys").screenshot(path=str(tmp_path / f"{language}-1280-keys.png"))
    page.screenshot(path=str(tmp_path / f"{language}-1280-research.png"), full_page=True)

    headers = page.locator("#d-keys thead th").all_inner_texts()
    column = headers.index(says["header"])

    def cell(key_id: str) -> str:
        row = page.locator("#d-keys tbody tr", has_text=key_id)
        return " ".join(row.locator("td").nth(column).inner_text().split())

    assert cell("research-1") == says["internal"]  # the config's key: its department's
    assert cell(dashboard.stored_key_id) == says["internal"]
    assert cell(follows) == says["confidential"]  # followed its use case at once
    assert cell(raised["key_id"]) == f"{says['confidential']} {says['own']}"
    assert says["hint"] in page.locator("#d-keys p.hint").inner_text()
    # the table still fits its card, a revoke field its placeholder and its button the card (in
    # German under the field: the use case's name is not broken at its hyphen)
    assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == []
    fields = page.evaluate(PLACEHOLDERS)
    assert fields and all(f["needs"] <= f["room"] for f in fields), fields
    assert [b for b in page.evaluate(BUTTONS_IN_CARDS) if b["over"] > 0.5] == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_use_cases_table_shows_the_class_that_applies_and_its_own_below(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language, tmp_path: Path
) -> None:
    """it is confidential: its use case classed internal runs confidential, its own class below;
    one classed public too; one classed confidential shows that alone. legal is internal: its
    confidential use case shows confidential alone (its own applies)."""
    dashboard = served_offline_dashboard
    says = SAYS[language]
    for name, level in (
        ("helpdesk", "internal"),
        ("intranet", "public"),
        ("audits", "confidential"),
    ):
        case = {"name": name, "department": "it", "classification": level, "reason": "new"}
        admin(dashboard, "POST", "/admin/use-cases", case)

    log_in(page, dashboard)
    speak(page, dashboard, language)
    page.set_viewport_size({"width": 1280, "height": 900})

    def cells(department: str) -> dict[str, str]:
        page.goto(f"{dashboard.url}/departments/{department}")
        headers = page.locator("#d-usecases thead th").all_inner_texts()
        column = headers.index(says["header"])
        return {
            row.locator("td").first.inner_text(): " ".join(
                row.locator("td").nth(column).inner_text().split()
            )
            for row in page.locator("#d-usecases tbody tr").all()
        }

    it = cells("it")
    page.locator("#d-usecases").screenshot(path=str(tmp_path / f"{language}-1280-usecases.png"))
    page.screenshot(path=str(tmp_path / f"{language}-1280-it.png"), full_page=True)
    assert it == {
        "helpdesk": f"{says['confidential']} {says['own']}",
        "intranet": f"{says['confidential']} {says['public']}",
        "audits": says["confidential"],
    }
    assert says["cases_hint"] in page.locator("#d-usecases p.hint").inner_text()
    assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == []
    assert cells("legal") == {"contract-review": says["confidential"]}
