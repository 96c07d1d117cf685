"""A request no allowed model can serve is recorded with what it needed, and the dashboard says
so in the page's language (a real gateway refusing it, Chromium driven by Playwright, English
and German). walk27 F20: a request that asked to think was listed as "no model can do it
(tools, vision)", which sent a department head looking for tool or image requests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.traffic import record, refused_before_the_key, wait_for_usage
from tests.fixtures.gateway import KEYS

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

SAYS = {
    "en": (
        "no allowed model can do what it needed: chat, thinking",
        "no allowed model can do what it needed (a capability, such as tools, vision or thinking)",
    ),
    "de": (
        "kein zulässiges Modell kann, was sie brauchte: Chat, Denken",
        "kein zulässiges Modell kann, was sie brauchte (eine Fähigkeit, etwa Werkzeuge, Bilder"
        " oder Denken)",
    ),
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_refusal_for_thinking_names_thinking(
    served_offline_dashboard: DashboardGateway, page: Page, language: str, tmp_path: Path
) -> None:
    dashboard = served_offline_dashboard
    # no model of the test config thinks: the router finds none for research (the Ollama API)
    asked = dashboard.gateway.post(
        "/api/chat",
        json={"model": "auto", "think": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"authorization": f"Bearer {KEYS['research']}"},
        timeout=30,
    )
    assert asked.status_code == 400, asked.text
    assert "(needs: chat, thinking)" in asked.json()["error"]
    # a record written before the gateway kept what was needed: said without it
    earlier = replace(refused_before_the_key(), department="research", key_id="research-1")
    record(dashboard, [replace(earlier, status=400, error_kind="no_capable_model")])
    wait_for_usage(dashboard, 2)
    ledger = dashboard.gateway.ledger()
    try:
        kinds = sorted(str(r.error_kind) for r in ledger.recent_usage(limit=10))
    finally:
        ledger.close()
    assert kinds == ["no_capable_model", "no_capable_model:chat,thinking"]
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/departments/research")
    page.screenshot(path=tmp_path / f"research-{language}.png", full_page=True)
    refusals = page.locator("#d-refusals").inner_text()
    needs, before = SAYS[language]
    assert needs in refusals and before in refusals, refusals
    assert "(tools, vision)" not in refusals and "(Werkzeuge, Bilder)" not in refusals
