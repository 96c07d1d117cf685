"""Ollama's load and unload (``/api/generate`` without a prompt, ``/api/chat`` without messages)
are answered with no model and no backend, and recorded with no model: they are neither refused
nor failed. The department's table by model counted them in its row "refused (no model chosen)"
(walk 19, D1), which then said that answered requests were refused. Now they have a row of their
own, on the dashboard (in a real browser, English and German), in ``GET /admin/usage`` and so in
``stellwerk report usage`` (which reads the same report), and every view still adds up to the same
totals; on SQLite and PostgreSQL. The gateway's backend is down: a load needs none.

A load of a route (``auto``) asked the router nothing: the overview's savings did not count it
among the routed requests, the router-learning page did (one more, walk 19, D2). Both count by
one rule now."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

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
from tests.dashboard.traffic import chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS, running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}


@pytest.fixture
def loaded(any_db_url: str) -> Iterator[DashboardGateway]:
    """research: one request refused before a model was chosen (tiny-medium is in review, so
    answered as a model that does not exist), a
    load of the route ``auto`` and an unload of tiny-small, as the ollama library sends them."""
    raw = dashboard_raw(OFFLINE_BACKEND, any_db_url)
    key_id, key = seed(raw)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        dashboard = DashboardGateway(gw, key_id, key)
        assert chat(dashboard, KEYS["research"], "tiny-medium").status_code == 404
        load = gw.post("/api/generate", json={"model": "auto"}, headers=RESEARCH)
        assert load.json()["done_reason"] == "load", load.text
        unload = gw.post(
            "/api/generate", json={"model": "tiny-small", "keep_alive": 0}, headers=RESEARCH
        )
        assert unload.json()["done_reason"] == "unload", unload.text
        wait_for_usage(dashboard, 3)
        yield dashboard


def _row(page: Page, label: str) -> list[str]:
    """The cells of the table row that ``label`` names: requests, tokens, cost, energy, refused,
    failed."""
    row = page.locator("tr", has=page.locator("td:first-child", has_text=label))
    assert row.count() == 1, label
    return row.locator("td").all_inner_texts()[1:]


@pytest.mark.llama
@pytest.mark.parametrize("language", ["en", "de"])
def test_loads_and_unloads_have_their_own_row_and_are_not_refused(
    loaded: DashboardGateway, page: Page, language: str
) -> None:
    t = labels(language)  # type: ignore[arg-type]
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, loaded, language)
    log_in(page, loaded)
    page.goto(f"{loaded.url}/departments/research")
    refused = _row(page, t["no_model"])
    assert (refused[0], refused[4], refused[5]) == ("1", "1", "0")
    idle = _row(page, t["idle_model"])
    assert (idle[0], idle[4], idle[5]) == ("2", "0", "0")

    month = f"{datetime.now(UTC):%Y-%m}"
    report = loaded.gateway.get(f"/admin/usage?month={month}&by=model", headers=ADMIN).json()
    rows = {r["group"]: (r["requests"], r["refused"], r["failed"]) for r in report["rows"]}
    assert rows == {"(no model)": (1, 1, 0), "(load/unload)": (2, 0, 0)}
    assert (report["total"]["requests"], report["total"]["refused"]) == (3, 1)
    page.goto(loaded.url)  # the overview's month: the same three, one refused
    total = page.locator("p.total").first.inner_text()
    assert t["n_requests"].format(n=3) in total and t["n_refused"].format(n=1) in total, total


def _routed_on_learning_page(page: Page, department: str, column: int) -> str:
    row = page.locator("#l-departments tr", has=page.locator("td:first-child", has_text=department))
    return row.locator("td").nth(column).inner_text()


@pytest.mark.llama
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_savings_and_the_router_learning_page_count_the_same_routed_requests(
    loaded: DashboardGateway, page: Page, language: str
) -> None:
    """Besides the fixture's load of ``auto``: one routed request of research served (compared
    with tiny-large) and one of legal refused before a model was chosen (its budget is 0). Two
    routed requests, on both pages."""
    t = labels(language)  # type: ignore[arg-type]
    config = loaded.gateway.config
    record(loaded, [served(config, department="research", key_id="research-1",
                           model="tiny-small", reference="tiny-large")])  # fmt: skip
    cap = {"monthly_budget": "0", "reason": "no spending"}
    put = loaded.gateway.put("/admin/limits/department/legal", json=cap, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert chat(loaded, KEYS["legal"]).status_code == 429
    wait_for_usage(loaded, 5)
    speak(page, loaded, language)
    log_in(page, loaded)
    savings = page.locator("#w-savings").inner_text()
    assert t["savings_compared"].format(n=2, compared=1) in savings, savings
    assert t["savings_refused_one"].format(n=1) in savings, savings
    page.goto(f"{loaded.url}/learning")
    headers = page.locator("#l-departments thead th").all_inner_texts()
    column = headers.index(t["routed_requests"])
    routed = {d: _routed_on_learning_page(page, d, column) for d in ("research", "legal")}
    assert routed == {"research": "1", "legal": "1"}
