"""In a real browser, in English and in German: the overview's audit events say what a changed
config changed in governance terms (walk 15, LOW-16: the entry showed only the previous hash),
and what the first load was. The gateway starts on one config, then on a changed one, as an
operator restarts it. Screenshots of the audit card go to the test's temporary directory
(``--basetemp`` to keep them)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import (
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.fixtures.gateway import in_process, running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

SAYS = {
    "en": [
        "first config loaded (no earlier load to compare with)",
        "Model tiny-large: hosting on premises → EU cloud",
        "Model tiny-medium: lifecycle in review → approved (config only: the catalog keeps its"
        " own state)",
        "Department research: monthly budget unlimited → €500.00",
        "Key legal-1: removed",
        "Key research-2: added (department=research, role=admin, key variable=STW_TEST_KEY_TWO,"
        " key SHA-256=60cebf64720e…)",
        "Data class confidential: hosting on premises → on premises, EU cloud",
    ],
    "de": [
        "erste geladene Konfiguration (keine frühere zum Vergleich)",
        "Modell tiny-large: Betriebsort eigenes Rechenzentrum → EU-Cloud",
        "Modell tiny-medium: Lebenszyklus in Prüfung → freigegeben (nur in der Konfiguration:"
        " der Katalog behält seinen Stand)",
        "Bereich research: Monatsbudget unbegrenzt → 500,00 €",  # the no-break space read as one
        "Schlüssel legal-1: entfernt",
        "Schlüssel research-2: hinzugefügt (Bereich=research, Rolle=Admin,"
        " Schlüsselvariable=STW_TEST_KEY_TWO, Schlüssel-SHA-256=60cebf64720e…)",
        "Schutzklasse vertraulich: Betriebsort eigenes Rechenzentrum → eigenes Rechenzentrum,"
        " EU-Cloud",
    ],
}


def changed(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` as an operator changes it before a restart."""
    new = copy.deepcopy(raw)
    new["models"][1]["lifecycle"] = "approved"  # tiny-medium, in review before
    new["models"][2]["hosting"] = "eu_cloud"  # tiny-large
    research, legal = new["departments"][0], new["departments"][1]
    research["limits"] = {"monthly_budget": 500}
    research["keys"].append({"id": "research-2", "key_env": "STW_TEST_KEY_TWO", "role": "admin"})
    legal["keys"] = []
    new["governance"] = {"classification_hosting": {"confidential": ["on_prem", "eu_cloud"]}}
    return new


@pytest.fixture
def restarted(tmp_path: Path) -> Any:
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    key_id, key = seed(raw)
    with in_process(raw, DASHBOARD_ENV):
        pass
    environ = {**DASHBOARD_ENV, "STW_TEST_KEY_TWO": "sk-stw-test-research-two-7d1e0c9b"}
    with running_gateway(changed(raw), environ) as gw:
        yield DashboardGateway(gw, key_id, key)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_audit_events_say_what_the_config_changed(
    restarted: DashboardGateway, page: Page, language: str, tmp_path: Path
) -> None:
    speak(page, restarted, language)
    log_in(page, restarted)
    card = page.locator("#w-audit")
    card.screenshot(path=str(tmp_path / f"cfgaudit-{language}.png"))
    loads = card.locator("td.details.lines")  # the config loads, newest first, a line a change
    assert loads.count() == 2
    second, first = (
        [" ".join(line.split()) for line in loads.nth(n).inner_text().splitlines()] for n in (0, 1)
    )
    previous = {"en": "previous config: ", "de": "vorherige Konfiguration: "}[language]
    assert second[0].startswith(previous)
    assert second[1:] == SAYS[language][1:]
    assert first == SAYS[language][:1]
