"""A model's page counts the requests that named it and were refused before it was chosen, in a real
browser (Debian's Chromium driven by Playwright), in English and German, on SQLite and PostgreSQL
(walk 12, finding 5). research keeps asking tiny-medium, which is in review (twice by the OpenAI
API, once by the Ollama API's ``tiny-medium:latest``), legal asks tiny-large, which is not on its
allow-list, and research asks tiny-small after legal, its data owner, withdrew its consent (each
answered to its key as a model that does not exist, 404, since none is one the key may see; recorded
as what the key was told, ``model_not_found``: walk 20, F9). Their usage records name no model
(``model`` null, ``requested_model`` the name), so the model pages said "Refused 0". Now each
page has the tile "Refused when named" and the refusals by reason and department; the overview
and the department pages still count each refusal once, under "refused (no model chosen)".
Screenshots at 1280 px go to the test's temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.dashboard.formats import Language
from stellwerk.dashboard.i18n import labels
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import (
    ADMIN_KEY,
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.dashboard.traffic import chat, wait_for_usage
from tests.fixtures.gateway import KEYS, running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
REFUSED = {"en": "Refused", "de": "Abgewiesen"}  # the tile of the refused after it was chosen


@pytest.fixture
def refused(any_db_url: str) -> Iterator[DashboardGateway]:
    """The dashboard's gateway (its backend down: refusals need none) after six refused
    requests: five that named a model, one routed (``auto``) that names none."""
    raw = dashboard_raw(OFFLINE_BACKEND, any_db_url)
    key_id, key = seed(raw)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        dashboard = DashboardGateway(gw, key_id, key)
        for _ in range(2):
            assert chat(dashboard, KEYS["research"], "tiny-medium").status_code == 404
        ollama = gw.post(
            "/api/chat",
            json={"model": "tiny-medium:latest", "stream": False,
                  "messages": [{"role": "user", "content": "x"}]},
            headers={"authorization": f"Bearer {KEYS['research']}"},
        )  # fmt: skip
        assert ollama.status_code == 404, ollama.text
        assert chat(dashboard, KEYS["legal"], "tiny-large").status_code == 404
        made = gw.post("/admin/keys", json={"department": "legal", "role": "owner"}, headers=ADMIN)
        withdrawn = gw.post(
            "/admin/models/tiny-small/consent",
            json={"consent": False, "reason": "licence review"},
            headers={"authorization": f"Bearer {made.json()['key']}"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        assert chat(dashboard, KEYS["research"], "tiny-small").status_code == 404
        assert chat(dashboard, KEYS["legal"]).status_code == 403  # auto: no model it may use
        wait_for_usage(dashboard, 6)
        yield dashboard


def _figures(page: Page) -> dict[str, str]:
    """The page's first key figures: label -> figure (soft hyphens dropped)."""
    found = {}
    for tile in page.locator(".kpis").first.locator(":scope > div").all():
        figure, label = tile.locator(".k").inner_text(), tile.locator(".l").inner_text()
        found[label.replace("\xad", "")] = figure
    return found


@pytest.mark.llama
@pytest.mark.parametrize("language", ["en", "de"])
def test_a_model_page_counts_the_requests_that_named_it_and_were_refused(
    refused: DashboardGateway, page: Page, tmp_path: Path, language: Language
) -> None:
    t = labels(language)
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, refused, language)
    log_in(page, refused)

    expected = {"tiny-medium": ("3", "research: 3"), "tiny-large": ("1", "legal: 1"),
                "tiny-small": ("1", "research: 1")}  # fmt: skip
    for model, (count, departments) in expected.items():
        page.goto(f"{refused.url}/models/{model}")
        figures = _figures(page)
        assert figures[t["refused_named"]] == count
        assert figures[REFUSED[language]] == "0"  # none refused once chosen
        assert figures[t["requests"]] == "0"  # added to nothing
        card = page.locator("#m-refusals").inner_text()
        assert departments in card and t["refused_named_note"] in card
        page.screenshot(path=str(tmp_path / f"{model}-{language}.png"), full_page=True)
    card = page.locator("#m-refusals").inner_text()  # consent: as the key was told, said so
    assert t["refusal_hidden_model"] in card and "model_not_found" in card
    assert t["refusal_model_not_found"] not in card and t["refusal_policy_denied"] not in card

    page.goto(f"{refused.url}/models/tiny-embed")  # asked by nobody: no card, the tile says 0
    assert _figures(page)[t["refused_named"]] == "0"
    assert page.locator("#m-refusals").count() == 0

    # counted once in the totals: the overview's month, the departments, the no-model row
    page.goto(refused.url)
    total = page.locator("p.total").first.inner_text()
    assert t["n_refused"].format(n=6) in total, total
    page.goto(f"{refused.url}/departments/research")
    assert _figures(page)[REFUSED[language]] == "4"
    page.goto(f"{refused.url}/departments/legal")
    assert _figures(page)[REFUSED[language]] == "2"
